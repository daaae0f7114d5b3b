/** The cluster form of REDIS_URL: nodes, credentials and TLS read from one URL, mistakes named. */
import test from 'ava';
import { parseClusterUrl } from '../../infra/redis-client.ts';
import { ConfigurationError } from '../../infra/errors.ts';

test('a single-server URL is not a cluster URL', (t) => {
  t.is(parseClusterUrl('redis://127.0.0.1:6379'), null);
  t.is(parseClusterUrl('rediss://user:pw@redis.example:6380/2'), null);
});

test('a cluster URL names its nodes, with the default port where none is given', (t) => {
  t.deepEqual(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002/'), {
    nodes: [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 6379 },
      { host: '::1', port: 7002 },
    ],
    tls: false,
  });
});

test('credentials are percent-decoded; rediss+cluster asks for TLS', (t) => {
  t.deepEqual(parseClusterUrl('rediss+cluster://gov%2Did:p%40ss@redis-1.example:7000,redis-2.example:7000'), {
    nodes: [
      { host: 'redis-1.example', port: 7000 },
      { host: 'redis-2.example', port: 7000 },
    ],
    username: 'gov-id',
    password: 'p@ss',
    tls: true,
  });
  t.like(parseClusterUrl('redis+cluster://:secret@10.0.0.1:7000'), { password: 'secret' });
});

test('a malformed cluster URL is a configuration error naming REDIS_URL', (t) => {
  for (const url of ['redis+cluster://', 'redis+cluster://10.0.0.1:7000/0', 'redis+cluster://10.0.0.1:99999', 'redis+cluster://a:b:c']) {
    const err = t.throws(() => parseClusterUrl(url), { instanceOf: ConfigurationError }, url);
    t.is(err?.path, 'REDIS_URL', url);
  }
});
