/**
 * Two instances of one entity (gd) on one database and one Redis, as behind a load balancer: a key
 * rotation made through one instance's admin API reaches the other at once (announced on the
 * entity's channel), without a restart. The other instance publishes the next key during the lead
 * time, and after an immediate rotation signs its entity configuration with the new key and no
 * longer publishes the key that one replaced.
 */
import test from 'ava';
import { decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { freePort, startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { redisServerInstalled, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.ts';
import { startHost, type Host } from '../../cli/entity-host.ts';
import { callAdmin } from '../../infra/admin-client.ts';
import { createLogger } from '../../infra/log.ts';
import { RELOAD_INTERVAL_MS } from '../../infra/entity-key-ring.ts';
import { until } from '../helpers/until.ts';

/** Well below the periodic reload: an instance that saw it sooner was told. */
const ANNOUNCED_BOUND_MS = Math.min(15_000, RELOAD_INTERVAL_MS / 2);

let redis: PrivateRedis;
let fed: TestFederation;
let second: Host;
let secondUrl: string;

test.before(async () => {
  if (!redisServerInstalled) return;
  // A Redis of the test's own: both hosts share it, as instances of one deployment do.
  redis = await startPrivateRedis();
  fed = await startTestFederation(['gd', 'registries'], { redisUrl: redis.url });
  const port = await freePort();
  second = await startHost(
    {
      ...fed.config,
      topology: fed.topology,
      demo: true,
      port,
      log: createLogger({}, (process.env.TEST_LOG_LEVEL as 'error') ?? 'error'),
    },
    ['gd'],
  );
  secondUrl = `http://127.0.0.1:${port}`;
});
test.after.always(async () => {
  await second?.close();
  await fed?.close();
  await redis?.kill();
});

async function entityConfiguration(base: string) {
  const jwt = await (await fetch(`${base}/.well-known/openid-federation`)).text();
  return { kid: decodeProtectedHeader(jwt).kid!, published: (decodeJwt(jwt).jwks as { keys: JWK[] }).keys.map((k) => k.kid!).sort() };
}

const rotate = (body: Record<string, number>) =>
  callAdmin(fed.topology.get('gd'), fed.config.dataDir, 'POST', '/admin/keys/rotate', body) as Promise<{ next: string }>;

(redisServerInstalled ? test.serial : test.skip)(
  `a rotation through one instance reaches the other at once${redisServerInstalled ? '' : ' (skipped: redis-server is not installed)'}`,
  async (t) => {
    const before = await entityConfiguration(secondUrl);
    t.deepEqual(before, await entityConfiguration(fed.url('gd')), 'both instances start with the same keys');

    const { next } = await rotate({ lead_seconds: 3600, grace_seconds: 3600 });
    await until(
      async () => (await entityConfiguration(secondUrl)).published.includes(next),
      'the other instance to publish the next key',
      ANNOUNCED_BOUND_MS,
    );
    t.is((await entityConfiguration(secondUrl)).kid, before.kid, 'the old key still signs during the lead time');

    const { next: now } = await rotate({ lead_seconds: 0, grace_seconds: 0 });
    await until(
      async () => (await entityConfiguration(secondUrl)).kid === now,
      'the other instance to sign with the new key',
      ANNOUNCED_BOUND_MS,
    );
    const after = await entityConfiguration(secondUrl);
    t.false(after.published.includes(next), 'the key it replaced at once is no longer published');
    t.deepEqual(after, await entityConfiguration(fed.url('gd')), 'both instances agree again');
  },
);
