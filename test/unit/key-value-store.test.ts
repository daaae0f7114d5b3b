/**
 * infra/key-value-store.ts on the in-process store (always) and on Redis (when REDIS_URL is set).
 * Every test opens its own store on a random namespace; the Redis keys are removed afterwards.
 * Nothing here waits for time to pass: TTLs are checked through ttl(), message delivery through
 * a later message on another channel (Redis delivers in publish order).
 */
import test from 'ava';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { openKeyValueStore, type KeyValueStore } from '../../infra/key-value-store.ts';
import { StoreUnavailable } from '../../infra/errors.ts';
import { forEngines, redisKeys, storeEngines, uniqueName } from '../helpers/unit-engines.ts';
import { redisServerInstalled, startPrivateRedis } from '../helpers/private-redis.ts';
import { until } from '../helpers/until.ts';

const { engines, cleanup } = storeEngines();
test.after.always(cleanup);

/** Resolves with the first message of `channel` (subscription made before it returns). */
async function nextMessage(store: KeyValueStore, channel: string): Promise<{ message: Promise<string>; unsubscribe: () => Promise<void> }> {
  let resolve!: (m: string) => void;
  const message = new Promise<string>((r) => (resolve = r));
  const unsubscribe = await store.subscribe(channel, (m) => resolve(m));
  return { message, unsubscribe };
}

forEngines(engines, 'set and get, with and without a TTL; get of a missing key is null', async (t, engine) => {
  const { store } = await engine.open();
  t.is(await store.get('missing'), null);
  await store.set('a', 'value 甲', 60);
  t.is(await store.get('a'), 'value 甲');
  const ttl = await store.ttl('a');
  t.true(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
  await store.set('a', 'other');
  t.is(await store.get('a'), 'other');
  t.is(await store.ttl('a'), -1, 'set without TTL makes the key persistent');
  await store.set('b', 'x', 3600);
  const long = await store.ttl('b');
  t.true(long > 60 && long <= 3600, `ttl ${long}`);
});

forEngines(engines, 'ttl is -2 for a missing or deleted key', async (t, engine) => {
  const { store } = await engine.open();
  t.is(await store.ttl('never'), -2);
  await store.set('k', 'v', 60);
  await store.del('k');
  t.is(await store.ttl('k'), -2);
});

forEngines(engines, 'setIfAbsent sets only once and keeps the first value', async (t, engine) => {
  const { store } = await engine.open();
  t.true(await store.setIfAbsent('jti', 'first', 60));
  t.false(await store.setIfAbsent('jti', 'second', 60));
  t.is(await store.get('jti'), 'first');
  const ttl = await store.ttl('jti');
  t.true(ttl > 0 && ttl <= 60);
  await store.del('jti');
  t.true(await store.setIfAbsent('jti', 'third', 60), 'free again after del');
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => store.setIfAbsent('race', String(i), 60)));
  t.is(results.filter(Boolean).length, 1, 'of concurrent callers exactly one wins');
});

forEngines(engines, 'take returns the value once and removes it', async (t, engine) => {
  const { store } = await engine.open();
  await store.set('code', 'c0de', 60);
  t.is(await store.take('code'), 'c0de');
  t.is(await store.take('code'), null);
  t.is(await store.get('code'), null);
  t.is(await store.ttl('code'), -2);
  t.is(await store.take('never-set'), null);
});

forEngines(engines, 'of concurrent takes of one key only one gets the value', async (t, engine) => {
  const { store } = await engine.open();
  await store.set('code', 'c0de', 60);
  const results = await Promise.all([store.take('code'), store.take('code'), store.take('code')]);
  t.deepEqual(
    results.filter((r) => r !== null),
    ['c0de'],
  );
});

forEngines(engines, 'del removes several keys and ignores missing ones', async (t, engine) => {
  const { store } = await engine.open();
  await store.set('x', '1');
  await store.set('y', '2', 60);
  await store.set('z', '3');
  await store.del('x', 'y', 'missing');
  await store.del();
  t.is(await store.get('x'), null);
  t.is(await store.get('y'), null);
  t.is(await store.get('z'), '3');
});

forEngines(engines, 'incr counts from 1 and starts its TTL on first use only', async (t, engine) => {
  const { store } = await engine.open();
  t.is(await store.incr('n', 60), 1);
  t.is(await store.incr('n', 3600), 2);
  t.is(await store.incr('n', 3600), 3);
  t.is(await store.get('n'), '3');
  const ttl = await store.ttl('n');
  t.true(ttl > 0 && ttl <= 60, `the first TTL stays: ${ttl}`);
  t.is(await store.incr('other', 3600), 1, 'counters are separate');
  const counts = await Promise.all(Array.from({ length: 10 }, () => store.incr('race', 60)));
  t.deepEqual(
    [...counts].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

forEngines(engines, 'addToSet and members; the TTL is extended, never shortened', async (t, engine) => {
  const { store } = await engine.open();
  t.deepEqual(await store.members('set'), []);
  await store.addToSet('set', 'a', 60);
  await store.addToSet('set', 'b', 60);
  await store.addToSet('set', 'a', 60);
  t.deepEqual((await store.members('set')).sort(), ['a', 'b']);
  const first = await store.ttl('set');
  t.true(first > 0 && first <= 60, `ttl ${first}`);
  await store.addToSet('set', 'c', 3600);
  const extended = await store.ttl('set');
  t.true(extended > 60 && extended <= 3600, `extended ttl ${extended}`);
  await store.addToSet('set', 'd', 10);
  const kept = await store.ttl('set');
  t.true(kept > 60, `not shortened: ${kept}`);
  t.deepEqual((await store.members('set')).sort(), ['a', 'b', 'c', 'd']);
  await store.del('set');
  t.deepEqual(await store.members('set'), []);
});

forEngines(engines, 'getMany reads several keys at once, null where missing', async (t, engine) => {
  const { store } = await engine.open();
  await store.set('m1', 'one', 60);
  await store.set('m3', 'three');
  t.deepEqual(await store.getMany(['m1', 'm2', 'm3']), ['one', null, 'three']);
  t.deepEqual(await store.getMany([]), []);
});

forEngines(engines, 'writeAll applies sets and set additions together, with their TTLs', async (t, engine) => {
  const { store } = await engine.open();
  await store.addToSet('w-set', 'a', 3600);
  await store.writeAll([
    { set: 'w1', value: 'one', ttlSeconds: 60 },
    { set: 'w2', value: 'two' },
    { addToSet: 'w-set', member: 'b', ttlSeconds: 10 },
  ]);
  t.deepEqual(await store.getMany(['w1', 'w2']), ['one', 'two']);
  const ttl = await store.ttl('w1');
  t.true(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
  t.is(await store.ttl('w2'), -1);
  t.deepEqual((await store.members('w-set')).sort(), ['a', 'b']);
  t.true((await store.ttl('w-set')) > 60, 'a set TTL is never shortened');
});

forEngines(engines, 'setIfAbsentAndGet claims a key once and reads another in the same step', async (t, engine) => {
  const { store } = await engine.open();
  await store.set('claimed-value', 'payload', 60);
  t.deepEqual(await store.setIfAbsentAndGet('claim', '1', 60, 'claimed-value'), { set: true, value: 'payload' });
  t.deepEqual(await store.setIfAbsentAndGet('claim', '2', 60, 'claimed-value'), { set: false, value: 'payload' });
  t.is(await store.get('claim'), '1', 'the first value is kept');
  const ttl = await store.ttl('claim');
  t.true(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
  t.deepEqual(await store.setIfAbsentAndGet('other-claim', '1', 60, 'missing'), { set: true, value: null });
  const results = await Promise.all(Array.from({ length: 5 }, () => store.setIfAbsentAndGet('race-claim', '1', 60, 'claimed-value')));
  t.is(results.filter((r) => r.set).length, 1, 'one winner among concurrent claims');
});

forEngines(engines, 'scoped() views of two entities do not see each other; keys carry {entity} hash tags', async (t, engine) => {
  const { store, namespace } = await engine.open();
  const gd = store.scoped('gd');
  const gz = store.scoped('gz');
  await gd.set('k', 'gd-value');
  await gz.set('k', 'gz-value');
  t.is(await gd.get('k'), 'gd-value');
  t.is(await gz.get('k'), 'gz-value');
  t.is(await store.get('k'), null, 'the root does not see scoped keys under their bare name');
  t.is(await store.get('{gd}:k'), 'gd-value');
  await gd.del('k');
  t.is(await gd.get('k'), null);
  t.is(await gz.get('k'), 'gz-value');
  t.is(await gd.take('k'), null);
  t.is(await gd.incr('c', 60), 1);
  t.is(await gz.incr('c', 60), 1);
  await gd.addToSet('s', 'm', 60);
  t.deepEqual(await gz.members('s'), []);
  t.true(await gz.setIfAbsent('once', '1', 60));
  t.true(await gd.setIfAbsent('once', '1', 60));
  t.is(await gz.ttl('only-gd'), -2);
  if (engine.name === 'redis') {
    t.deepEqual(await redisKeys(`${namespace}:{gz}:*`), [`${namespace}:{gz}:c`, `${namespace}:{gz}:k`, `${namespace}:{gz}:once`]);
  }
});

forEngines(engines, 'two stores on different namespaces do not see each other', async (t, engine) => {
  const a = (await engine.open()).store;
  const b = (await engine.open()).store;
  await a.set('k', 'a');
  t.is(await b.get('k'), null);
  t.is(await a.get('k'), 'a');
});

forEngines(engines, 'publish reaches a subscriber; after unsubscribe it does not', async (t, engine) => {
  const { store } = await engine.open();
  const received: string[] = [];
  const unsubscribe = await store.subscribe('logout', (m) => received.push(m));
  const first = await nextMessage(store, 'sentinel-1');
  await store.publish('logout', 'sid-1 广东');
  await store.publish('sentinel-1', 'x');
  await first.message;
  t.deepEqual(received, ['sid-1 广东']);

  await unsubscribe();
  const second = await nextMessage(store, 'sentinel-2');
  await store.publish('logout', 'sid-2');
  await store.publish('sentinel-2', 'x');
  await second.message;
  t.deepEqual(received, ['sid-1 广东'], 'nothing after unsubscribe');
  await first.unsubscribe();
  await second.unsubscribe();
});

forEngines(engines, 'channels are confined to their entity', async (t, engine) => {
  const { store } = await engine.open();
  const gd = store.scoped('gd');
  const gz = store.scoped('gz');
  const received: string[] = [];
  const unsubscribe = await gz.subscribe('logout', (m) => received.push(`gz:${m}`));
  const gdNext = await nextMessage(gd, 'logout');
  await gd.publish('logout', 'for gd');
  t.is(await gdNext.message, 'for gd');
  const gzNext = await nextMessage(gz, 'sentinel');
  await gz.publish('sentinel', 'x');
  await gzNext.message;
  t.deepEqual(received, [], "gz did not get gd's message");
  await unsubscribe();
  await gdNext.unsubscribe();
  await gzNext.unsubscribe();
});

forEngines(engines, 'unsubscribing one of two handlers of a channel keeps the other', async (t, engine) => {
  const { store } = await engine.open();
  const received: string[] = [];
  const unsubscribeA = await store.subscribe('ch', (m) => received.push(`A:${m}`));
  const unsubscribeB = await store.subscribe('ch', (m) => received.push(`B:${m}`));
  await unsubscribeA();
  const sentinel = await nextMessage(store, 'sentinel');
  await store.publish('ch', 'm');
  await store.publish('sentinel', 'x');
  await sentinel.message;
  t.deepEqual(received, ['B:m']);
  await unsubscribeB();
  await sentinel.unsubscribe();
});

forEngines(engines, 'rateLimiter consume blocks after N points, per key', async (t, engine) => {
  const { store } = await engine.open();
  const limiter = store.rateLimiter({ keyPrefix: 'otp:min', points: 3, durationSeconds: 60 });
  for (let i = 1; i <= 3; i++) {
    const res = await limiter.consume('13800138000');
    t.is(res.remainingPoints, 3 - i);
    t.is(res.consumedPoints, i);
  }
  const refused = await limiter.consume('13800138000').then(
    () => 'accepted',
    (r: unknown) => r,
  );
  t.true(refused instanceof RateLimiterRes, 'the 4th point is refused');
  t.is((refused as RateLimiterRes).remainingPoints, 0);
  const ms = (refused as RateLimiterRes).msBeforeNext;
  t.true(ms > 0 && ms <= 60_000, `msBeforeNext ${ms}`);
  t.is((await limiter.consume('13900139000')).remainingPoints, 2, 'another key has its own points');
});

forEngines(
  engines,
  'rateLimiter with blockSeconds blocks for the block duration; limiters of two entities are separate',
  async (t, engine) => {
    const { store } = await engine.open();
    const opts = { keyPrefix: 'fail:acct', points: 2, durationSeconds: 60, blockSeconds: 900 };
    const gd = store.scoped('gd').rateLimiter(opts);
    const gz = store.scoped('gz').rateLimiter(opts);
    await gd.consume('sub-1');
    await gd.consume('sub-1');
    const refused = (await gd.consume('sub-1').then(
      () => null,
      (r: RateLimiterRes) => r,
    ))!;
    t.true(refused instanceof RateLimiterRes);
    t.true(refused.msBeforeNext > 60_000 && refused.msBeforeNext <= 900_000, `blocked for ${refused.msBeforeNext} ms`);
    const state = await gd.get('sub-1');
    t.true(state !== null && state.consumedPoints >= 3);
    t.is((await gz.consume('sub-1')).remainingPoints, 1, 'gz counts its own failures');
    t.is(await gz.get('never'), null);
  },
);

(redisServerInstalled ? test : test.skip)(
  `[redis] while Redis is out every operation fails at once with StoreUnavailable; the store works again when it is back${redisServerInstalled ? '' : ' (skipped: redis-server is not installed)'}`,
  async (t) => {
    const redis = await startPrivateRedis();
    const store = await openKeyValueStore({ url: redis.url, namespace: uniqueName('gov-id-unit') });
    try {
      await store.set('k', 'v', 60);
      const limiter = store.rateLimiter({ keyPrefix: 'otp:min', points: 1, durationSeconds: 60 });
      await redis.kill();
      const operations = [
        () => store.get('k'),
        () => store.set('k', 'w', 60),
        () => store.take('k'),
        () => store.incr('n', 60),
        () => store.addToSet('s', 'm', 60),
        () => store.getMany(['k', 'l']),
        () => store.writeAll([{ set: 'k', value: 'w' }]),
        () => store.setIfAbsentAndGet('c', '1', 60, 'k'),
        () => limiter.consume('p'),
        () => limiter.get('p'),
      ];
      for (const operation of operations) await t.throwsAsync(operation(), { instanceOf: StoreUnavailable });
      // Back empty, as after losing its memory; the client reconnects by itself.
      await redis.start();
      await until(async () => (await store.get('k').catch(() => 'unreachable')) === null, 'the store after Redis is back', 60_000);
      t.is((await limiter.consume('p')).remainingPoints, 0);
    } finally {
      await store.close();
      await redis.kill();
    }
  },
);
