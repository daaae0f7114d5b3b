/**
 * Short-lived shared state: protocol artifacts, one-time codes, counters, rate limits, pub/sub.
 * Redis (ioredis) when a URL is given, a single server or a Redis Cluster (infra/redis-client.ts),
 * an in-process store otherwise. Every key of an entity is prefixed with `{entity}:` — the braces
 * are a Redis Cluster hash tag, so all keys of one entity live on one slot and multi-key commands
 * (DEL of several keys, MULTI) stay legal.
 */
import { ReplyError, type ChainableCommander } from 'ioredis';
import { EventEmitter } from 'node:events';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import { StoreUnavailable } from './errors.ts';
import type { Logger } from './log.ts';
import { redisClient, subscriberOf, type RedisClient } from './redis-client.ts';

export interface RateLimitOptions {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
  blockSeconds?: number;
}

/**
 * The rate limiter operations callers use. A refusal rejects with a RateLimiterRes; a store that
 * cannot be reached rejects with StoreUnavailable.
 */
export interface RateLimiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  penalty(key: string, points?: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
  delete(key: string): Promise<boolean>;
}

/** One write of a batch (`writeAll`): a value, or a member added to a set (as `addToSet`). */
export type KeyValueWrite = { set: string; value: string; ttlSeconds?: number } | { addToSet: string; member: string; ttlSeconds: number };

/**
 * Every operation of the Redis store rejects with StoreUnavailable when Redis cannot be reached,
 * at once rather than after retries (see openKeyValueStore). Each operation is one round trip.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  /** Values of several keys (null where missing). */
  getMany(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Several writes, applied together (a MULTI on Redis). */
  writeAll(writes: KeyValueWrite[]): Promise<void>;
  /** Sets only when the key does not exist; true when it was set. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /**
   * setIfAbsent and a read of another key in one atomic step: whether `key` was set, and what
   * `read` held at that moment (a one-time claim on a value).
   */
  setIfAbsentAndGet(key: string, value: string, ttlSeconds: number, read: string): Promise<{ set: boolean; value: string | null }>;
  /** Reads and deletes in one atomic step (one-time values). */
  take(key: string): Promise<string | null>;
  del(...keys: string[]): Promise<void>;
  /** Increments a counter, starting its TTL on first use. */
  incr(key: string, ttlSeconds: number): Promise<number>;
  /** Adds to a set whose TTL is extended to at least `ttlSeconds`. */
  addToSet(key: string, member: string, ttlSeconds: number): Promise<void>;
  members(key: string): Promise<string[]>;
  ttl(key: string): Promise<number>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  rateLimiter(opts: RateLimitOptions): RateLimiter;
  /** A view of this store whose keys are confined to one entity. */
  scoped(entity: string): KeyValueStore;
  close(): Promise<void>;
}

interface Entry {
  value: string | Set<string>;
  expiresAt: number;
}

/** The in-process store: one per process, shared by every entity hosted there. */
class MemoryBackend {
  readonly entries = new Map<string, Entry>();
  readonly bus = new EventEmitter();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.bus.setMaxListeners(0);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    }, 30_000);
    this.sweeper.unref();
  }

  live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }
}

const expiry = (ttlSeconds?: number) => (ttlSeconds ? Date.now() + ttlSeconds * 1000 : Number.POSITIVE_INFINITY);

class MemoryStore implements KeyValueStore {
  constructor(
    private readonly backend: MemoryBackend,
    private readonly prefix = '',
  ) {}

  private k(key: string) {
    return this.prefix + key;
  }

  // The operations call these, never each other: each is one operation of the store.
  private read(key: string) {
    const e = this.backend.live(this.k(key));
    return typeof e?.value === 'string' ? e.value : null;
  }

  private write(key: string, value: string, ttlSeconds?: number) {
    this.backend.entries.set(this.k(key), { value, expiresAt: expiry(ttlSeconds) });
  }

  private add(key: string, member: string, ttlSeconds: number) {
    const e = this.backend.live(this.k(key));
    const set = e?.value instanceof Set ? e.value : new Set<string>();
    set.add(member);
    this.backend.entries.set(this.k(key), { value: set, expiresAt: Math.max(e?.expiresAt ?? 0, expiry(ttlSeconds)) });
  }

  async get(key: string) {
    return this.read(key);
  }

  async getMany(keys: string[]) {
    return keys.map((key) => this.read(key));
  }

  async set(key: string, value: string, ttlSeconds?: number) {
    this.write(key, value, ttlSeconds);
  }

  async writeAll(writes: KeyValueWrite[]) {
    for (const w of writes) {
      if ('set' in w) this.write(w.set, w.value, w.ttlSeconds);
      else this.add(w.addToSet, w.member, w.ttlSeconds);
    }
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number) {
    if (this.backend.live(this.k(key))) return false;
    this.write(key, value, ttlSeconds);
    return true;
  }

  async setIfAbsentAndGet(key: string, value: string, ttlSeconds: number, read: string) {
    const set = !this.backend.live(this.k(key));
    if (set) this.write(key, value, ttlSeconds);
    return { set, value: this.read(read) };
  }

  async take(key: string) {
    // Read and delete with no await between them: concurrent takes cannot both see the value.
    const e = this.backend.live(this.k(key));
    this.backend.entries.delete(this.k(key));
    return typeof e?.value === 'string' ? e.value : null;
  }

  async del(...keys: string[]) {
    for (const key of keys) this.backend.entries.delete(this.k(key));
  }

  async incr(key: string, ttlSeconds: number) {
    const e = this.backend.live(this.k(key));
    const next = (typeof e?.value === 'string' ? Number(e.value) : 0) + 1;
    this.backend.entries.set(this.k(key), { value: String(next), expiresAt: e?.expiresAt ?? expiry(ttlSeconds) });
    return next;
  }

  async addToSet(key: string, member: string, ttlSeconds: number) {
    this.add(key, member, ttlSeconds);
  }

  async members(key: string) {
    const e = this.backend.live(this.k(key));
    return e?.value instanceof Set ? [...e.value] : [];
  }

  async ttl(key: string) {
    const e = this.backend.live(this.k(key));
    if (!e) return -2;
    return e.expiresAt === Number.POSITIVE_INFINITY ? -1 : Math.ceil((e.expiresAt - Date.now()) / 1000);
  }

  async publish(channel: string, message: string) {
    this.backend.bus.emit(this.k(channel), message);
  }

  async subscribe(channel: string, handler: (message: string) => void) {
    const name = this.k(channel);
    this.backend.bus.on(name, handler);
    return async () => void this.backend.bus.off(name, handler);
  }

  rateLimiter(opts: RateLimitOptions): RateLimiter {
    return new RateLimiterMemory({
      keyPrefix: this.k(opts.keyPrefix),
      points: opts.points,
      duration: opts.durationSeconds,
      blockDuration: opts.blockSeconds ?? 0,
    });
  }

  scoped(entity: string): KeyValueStore {
    return new MemoryStore(this.backend, `${this.prefix}{${entity}}:`);
  }

  async close() {}
}

/** Handlers per channel on a subscriber connection: UNSUBSCRIBE only when the last one leaves. */
const channelHandlers = new WeakMap<RedisClient, Map<string, number>>();

/** Replies of a cluster (or a server) that cannot serve now: a failover, slots not covered, loading. */
const NOT_NOW = /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN)\b/;

/**
 * Redis not reached (closed, reconnecting, timed out, a cluster not serving the slot now) is an
 * outage; another reply Redis gave, or a rate limiter's refusal, is passed on.
 */
function outage(err: unknown): never {
  throw err instanceof Error && (!(err instanceof ReplyError) || NOT_NOW.test(err.message)) ? new StoreUnavailable(err) : err;
}

/** Runs a MULTI; its results in order, or the first command's error. */
async function execAll(multi: ChainableCommander): Promise<unknown[]> {
  const replies = (await multi.exec().catch(outage)) ?? [];
  for (const [err] of replies) if (err) outage(err);
  return replies.map(([, value]) => value);
}

class RedisStore implements KeyValueStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: () => RedisClient,
    private readonly prefix = '',
  ) {}

  private k(key: string) {
    return this.prefix + key;
  }

  get(key: string) {
    return this.redis.get(this.k(key)).catch(outage);
  }

  getMany(keys: string[]) {
    return keys.length ? this.redis.mget(keys.map((key) => this.k(key))).catch(outage) : Promise.resolve([]);
  }

  async set(key: string, value: string, ttlSeconds?: number) {
    if (ttlSeconds) await this.redis.set(this.k(key), value, 'EX', ttlSeconds).catch(outage);
    else await this.redis.set(this.k(key), value).catch(outage);
  }

  async writeAll(writes: KeyValueWrite[]) {
    const multi = this.redis.multi();
    for (const w of writes) {
      if ('set' in w) {
        if (w.ttlSeconds) multi.set(this.k(w.set), w.value, 'EX', w.ttlSeconds);
        else multi.set(this.k(w.set), w.value);
      } else this.addingToSet(multi, w.addToSet, w.member, w.ttlSeconds);
    }
    await execAll(multi);
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number) {
    return (await this.redis.set(this.k(key), value, 'EX', ttlSeconds, 'NX').catch(outage)) === 'OK';
  }

  async setIfAbsentAndGet(key: string, value: string, ttlSeconds: number, read: string) {
    const [set, got] = await execAll(this.redis.multi().set(this.k(key), value, 'EX', ttlSeconds, 'NX').get(this.k(read)));
    return { set: set === 'OK', value: got as string | null };
  }

  take(key: string) {
    return this.redis.getdel(this.k(key)).catch(outage);
  }

  async del(...keys: string[]) {
    if (keys.length) await this.redis.del(...keys.map((key) => this.k(key))).catch(outage);
  }

  async incr(key: string, ttlSeconds: number) {
    const [[, count]] = (await this.redis.multi().incr(this.k(key)).expire(this.k(key), ttlSeconds, 'NX').exec().catch(outage)) as [
      [Error | null, number],
    ];
    return count;
  }

  async addToSet(key: string, member: string, ttlSeconds: number) {
    await execAll(this.addingToSet(this.redis.multi(), key, member, ttlSeconds));
  }

  /** SADD, with the set's TTL extended to at least `ttlSeconds`. */
  private addingToSet(multi: ChainableCommander, key: string, member: string, ttlSeconds: number) {
    return multi.sadd(this.k(key), member).expire(this.k(key), ttlSeconds, 'GT').expire(this.k(key), ttlSeconds, 'NX');
  }

  members(key: string) {
    return this.redis.smembers(this.k(key)).catch(outage);
  }

  ttl(key: string) {
    return this.redis.ttl(this.k(key)).catch(outage);
  }

  async publish(channel: string, message: string) {
    await this.redis.publish(this.k(channel), message).catch(outage);
  }

  async subscribe(channel: string, handler: (message: string) => void) {
    const name = this.k(channel);
    const sub = this.subscriber();
    const counts = channelHandlers.get(sub) ?? new Map<string, number>();
    channelHandlers.set(sub, counts);
    const listener = (ch: string, message: string) => ch === name && handler(message);
    sub.on('message', listener);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    await sub.subscribe(name).catch(outage);
    return async () => {
      sub.off('message', listener);
      const left = (counts.get(name) ?? 1) - 1;
      if (left > 0) {
        counts.set(name, left);
        return;
      }
      counts.delete(name);
      await sub.unsubscribe(name).catch(outage);
    };
  }

  rateLimiter(opts: RateLimitOptions): RateLimiter {
    const limiter = new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix: this.k(opts.keyPrefix),
      points: opts.points,
      duration: opts.durationSeconds,
      blockDuration: opts.blockSeconds ?? 0,
    });
    return {
      consume: (key, points) => limiter.consume(key, points).catch(outage),
      penalty: (key, points) => limiter.penalty(key, points).catch(outage),
      get: (key) => limiter.get(key).catch(outage),
      delete: (key) => limiter.delete(key).catch(outage),
    };
  }

  scoped(entity: string): KeyValueStore {
    return new RedisStore(this.redis, this.subscriber, `${this.prefix}{${entity}}:`);
  }

  async close() {
    // Connections are owned by the root store.
  }
}

class RootRedisStore extends RedisStore {
  private sub?: RedisClient;
  private closing = false;
  constructor(
    private readonly client: RedisClient,
    prefix: string,
    log?: Logger,
  ) {
    super(client, () => (this.sub ??= subscriberOf(client)), prefix);
    // An outage is logged when it starts and when it ends, not once per refused request.
    let reachable = true;
    client.on('close', () => {
      if (!reachable || this.closing) return;
      reachable = false;
      log?.error('key-value store unreachable: requests that need it are answered 503 until it is back');
    });
    client.on('ready', () => {
      if (reachable) return;
      reachable = true;
      log?.info('key-value store reachable again');
    });
  }

  override async close() {
    this.closing = true;
    this.sub?.disconnect();
    await this.client.quit().catch(() => undefined);
    // Stops reconnecting as well, should Redis be out at this moment (then QUIT failed).
    this.client.disconnect();
  }
}

/**
 * `namespace` separates deployments (or test runs) that share one Redis; it becomes part of every
 * key so that nothing an earlier run left behind is ever read.
 */
export async function openKeyValueStore(opts: { url?: string; namespace: string; log?: Logger }): Promise<KeyValueStore> {
  if (opts.url) {
    // An outage is answered at once (StoreUnavailable, 503) instead of holding requests: no queue
    // while disconnected, commands in flight fail at the disconnect (infra/redis-client.ts).
    const client = redisClient(opts.url);
    client.on('error', () => undefined);
    await client.connect();
    return new RootRedisStore(client, `${opts.namespace}:`, opts.log);
  }
  return new MemoryStore(new MemoryBackend(), `${opts.namespace}:`);
}
