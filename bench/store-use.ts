/**
 * Counts an entity's storage operations: SQL statements (inside transactions too), transactions,
 * and key-value operations, each one an awaited round trip on PostgreSQL and Redis, with the time
 * spent waiting for them. Rate limiters are made when the entity starts, before a benchmark can
 * wrap anything: their calls (login-throttle.ts: two reads before a password is checked, one
 * delete after a success) are not counted. A benchmark wraps the database and
 * key-value store objects the entity's components hold; what it counts goes to the tally `sink`
 * returns at that moment (none: not counted).
 */
import type { Database, Transaction } from '../infra/database.ts';
import type { KeyValueStore } from '../infra/key-value-store.ts';

export interface StoreUse {
  /** Statements, inside transactions too (BEGIN and COMMIT not counted). */
  sql: number;
  tx: number;
  /** Time in the database: statements outside transactions plus whole transactions (queueing included). */
  dbMs: number;
  kv: number;
  kvMs: number;
}

export const noStoreUse = (): StoreUse => ({ sql: 0, tx: 0, dbMs: 0, kv: 0, kvMs: 0 });

/** Round trips to the database: each statement, and BEGIN and COMMIT of each transaction. */
export const databaseRoundTrips = (u: StoreUse) => u.sql + 2 * u.tx;

export type StoreUseSink = () => Map<string, StoreUse> | null;

const KV_OPERATIONS = [
  'get',
  'getMany',
  'set',
  'writeAll',
  'setIfAbsent',
  'setIfAbsentAndGet',
  'take',
  'del',
  'incr',
  'addToSet',
  'members',
  'ttl',
  'publish',
] as const;

/** Wraps the entity's database and key-value store objects (the ones its components hold). */
export function instrumentStores(id: string, db: Database, kv: KeyValueStore, sink: StoreUseSink): void {
  async function counted<T>(kind: 'sql' | 'tx' | 'inner' | 'kv', fn: () => Promise<T>): Promise<T> {
    const tally = sink();
    if (!tally) return fn();
    if (!tally.has(id)) tally.set(id, noStoreUse());
    const u = tally.get(id)!;
    u[kind === 'kv' ? 'kv' : kind === 'tx' ? 'tx' : 'sql']++;
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const dt = performance.now() - t0;
      if (kind === 'kv') u.kvMs += dt;
      else if (kind !== 'inner') u.dbMs += dt;
    }
  }
  const query = db.query.bind(db);
  const transaction = db.transaction.bind(db);
  db.query = ((sql: string, params?: unknown[]) => counted('sql', () => query(sql, params))) as Database['query'];
  db.transaction = (<T>(fn: (tx: Transaction) => Promise<T>) =>
    counted('tx', () =>
      transaction((tx) =>
        fn({
          exec: (sql) => tx.exec(sql),
          query: ((sql: string, params?: unknown[]) => counted('inner', () => tx.query(sql, params))) as Transaction['query'],
          database: tx.database,
          afterCommit: (done) => tx.afterCommit(done),
        }),
      ),
    )) as Database['transaction'];
  for (const m of KV_OPERATIONS) {
    const f = (kv[m] as (...args: unknown[]) => Promise<unknown>).bind(kv);
    (kv as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => counted('kv', () => f(...args));
  }
}

/** Adds `b`'s counts to `a`'s. */
export function addStoreUse(a: StoreUse, b: StoreUse): StoreUse {
  return { sql: a.sql + b.sql, tx: a.tx + b.tx, dbMs: a.dbMs + b.dbMs, kv: a.kv + b.kv, kvMs: a.kvMs + b.kvMs };
}
