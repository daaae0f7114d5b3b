import test from 'ava';
import { configFromEnv, DEFAULT_DATABASE_POOL_SIZE, DEFAULT_REPLICA_MAX_LAG_SECONDS } from '../../infra/config.ts';
import { ConfigurationError } from '../../infra/errors.ts';

test('defaults: the pool size and the replica lag bound', (t) => {
  const config = configFromEnv({});
  t.is(config.databasePoolSize, DEFAULT_DATABASE_POOL_SIZE);
  t.is(config.replicaMaxLagSeconds, DEFAULT_REPLICA_MAX_LAG_SECONDS);
  t.deepEqual(config.databaseReplicaUrls, []);
});

test('GOV_ID_DATABASE_POOL_SIZE takes a whole number of connections from 1 to 100', (t) => {
  t.is(configFromEnv({ GOV_ID_DATABASE_POOL_SIZE: '12' }).databasePoolSize, 12);
  for (const raw of ['0', '2.5', 'many', '101', '-3']) {
    const err = t.throws(() => configFromEnv({ GOV_ID_DATABASE_POOL_SIZE: raw }), { instanceOf: ConfigurationError })!;
    t.regex(err.message, /GOV_ID_DATABASE_POOL_SIZE/, raw);
  }
});

test('replica settings are checked, and a refused URL keeps its password out of the message', (t) => {
  t.deepEqual(configFromEnv({ DATABASE_REPLICA_URLS: ' postgres://a:5432/x , postgresql://b/x ' }).databaseReplicaUrls, [
    'postgres://a:5432/x',
    'postgresql://b/x',
  ]);
  const url = t.throws(() => configFromEnv({ DATABASE_REPLICA_URLS: 'mysql://user:s3cret@db/x' }), { instanceOf: ConfigurationError })!;
  t.false(url.message.includes('s3cret'), url.message);
  t.throws(() => configFromEnv({ GOV_ID_REPLICA_MAX_LAG_SECONDS: '0' }), {
    instanceOf: ConfigurationError,
    message: /GOV_ID_REPLICA_MAX_LAG_SECONDS/,
  });
});
