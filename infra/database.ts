/**
 * One database interface over two engines: PostgreSQL through `pg` when a URL is given, and the
 * embedded PGlite (PostgreSQL compiled to WebAssembly, persisted in a folder) otherwise. The same
 * SQL runs on both. Each entity sees only its own schema.
 */
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
// The service catalog's typo-tolerant search (migrations/services/003) needs pg_trgm on both engines.
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { mkdirSync } from 'node:fs';
import { DatabaseUnavailable } from './errors.ts';
import { EmbeddedStatements } from './embedded-statements.ts';
import { DEFAULT_DATABASE_POOL_SIZE } from './config.ts';
import type { Logger } from './log.ts';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface Transaction extends Queryable {
  /** Runs several statements at once (migrations). */
  exec(sql: string): Promise<void>;
  /** The database this transaction is on. */
  readonly database: Database;
  /** Runs `fn` once the transaction has committed (never after a rollback): what others may now see. */
  afterCommit(fn: () => void): void;
}

export interface Database extends Queryable {
  readonly schema: string;
  readonly engine: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction; a throw rolls everything back. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Runs several statements at once (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Holds a session advisory lock on `key` (a bigint) on a connection of its own until released,
   * or until the process dies and the server drops that connection: how other processes see that
   * this one is alive. The embedded engine serves one process per data folder and takes none.
   */
  holdSessionLock(key: string): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * The constraint a unique violation (SQLSTATE 23505) broke, or null for any other error. Both
 * engines report `code` and `constraint` (pg's DatabaseError, PGlite's error). Unnamed UNIQUE
 * constraints are named `<table>_<column>_key`; a unique index reports the index's name.
 */
export function uniqueViolation(err: unknown): string | null {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && typeof e.constraint === 'string' ? e.constraint : null;
}

export function schemaName(raw: string): string {
  const name = raw.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unusable schema name: ${raw}`);
  return name;
}

/**
 * Whether a PostgreSQL error says the server could not be reached, rather than answering: a socket
 * error, a connection exception (SQLSTATE class 08), a server shutting down or starting (57P0x),
 * too many connections, a dropped or timed-out connection.
 */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string') return /^E[A-Z]+$/.test(e.code) || /^(08...|57P0.|53300)$/.test(e.code);
  return /^(Connection terminated|timeout exceeded when trying to connect)/.test(String(e?.message ?? ''));
}

class PostgresDatabase implements Database {
  readonly engine = 'postgres' as const;
  /** An outage is logged when it starts and when it ends, not once per refused request. */
  private reachable = true;
  constructor(
    readonly schema: string,
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly log?: Logger,
  ) {}

  /** Rethrows a connection failure as DatabaseUnavailable (answered 503), anything else as it is. */
  private readonly unreachable = (err: unknown): never => {
    if (!isConnectionFailure(err)) throw err;
    if (this.reachable) {
      this.reachable = false;
      this.log?.error('database unreachable: requests that need it are answered 503 until it is back', { err });
    }
    throw new DatabaseUnavailable(err);
  };

  private reached<T>(result: T): T {
    if (!this.reachable) {
      this.reachable = true;
      this.log?.info('database reachable again');
    }
    return result;
  }

  /**
   * Not `pool.query`: pg-pool drops the connection after any error, so every statement refused by a
   * constraint (a unique key checked on purpose: the audit chain's head, register-once) would cost
   * the next query a new connection (a backend started, ~20 ms). Only a connection that failed goes.
   */
  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const client = await this.pool.connect().catch(this.unreachable);
    let broken: Error | undefined;
    // A connection lost while checked out is reported here rather than crashing the process.
    const lost = (err: Error) => (broken = err);
    client.once('error', lost);
    try {
      const r = await client.query(sql, params as unknown[]).catch((err: unknown) => {
        if (isConnectionFailure(err)) broken = err as Error;
        return this.unreachable(err);
      });
      return this.reached({ rows: r.rows as R[], rowCount: r.rowCount ?? 0 });
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const unreachable = this.unreachable;
    const client = this.reached(await this.pool.connect().catch(unreachable));
    let broken: unknown;
    try {
      await client.query('BEGIN').catch(unreachable);
      const committed: (() => void)[] = [];
      const tx: Transaction = {
        async query<R>(sql: string, params?: unknown[]) {
          const r = await client.query(sql, params as unknown[]).catch(unreachable);
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
        async exec(sql: string) {
          await client.query(sql).catch(unreachable);
        },
        database: this,
        afterCommit: (fn) => void committed.push(fn),
      };
      const result = await fn(tx);
      await client.query('COMMIT').catch(unreachable);
      for (const done of committed) done();
      return result;
    } catch (err) {
      if (err instanceof DatabaseUnavailable) broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // A connection that failed goes, rather than back to the pool.
      client.release(broken as Error | undefined);
    }
  }

  async exec(sql: string): Promise<void> {
    this.reached(await this.pool.query(sql).catch(this.unreachable));
  }

  async holdSessionLock(key: string): Promise<() => Promise<void>> {
    let released = false;
    let holder: pg.Client | null = null;
    const take = async () => {
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 10_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      if (released) return void (await client.end().catch(() => undefined));
      holder = client;
      // The lock dies with its connection (a database restart): taken again once the database answers.
      client.once('end', () => void (released || retake()));
    };
    const retake = async () => {
      for (let wait = 100; !released; wait = Math.min(wait * 2, 2_000)) {
        try {
          return await take();
        } catch {
          await new Promise((resolve) => setTimeout(resolve, wait).unref());
        }
      }
    };
    await take();
    return async () => {
      released = true;
      await (holder as pg.Client | null)?.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * PGlite is a single connection. All entities of a process share one instance per data folder;
 * a queue serializes access and switches `search_path` to the caller's schema, so a transaction
 * of one entity can never interleave with a statement of another.
 */
class EmbeddedEngine {
  private tail: Promise<unknown> = Promise.resolve();
  private currentSchema = '';
  private users = 0;
  readonly statements: EmbeddedStatements;
  constructor(
    readonly db: PGlite,
    private readonly onIdle: () => void,
  ) {
    this.statements = new EmbeddedStatements(db);
  }

  acquire() {
    this.users++;
  }

  async release() {
    if (--this.users === 0) {
      this.onIdle();
      await this.run('', async () => this.db.close());
    }
  }

  run<T>(schema: string, fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      if (schema && schema !== this.currentSchema) {
        await this.statements.control(`SET search_path TO "${schema}"`);
        this.currentSchema = schema;
      }
      return fn();
    });
    this.tail = next.catch(() => undefined);
    return next;
  }
}

const engines = new Map<string, Promise<EmbeddedEngine>>();

class EmbeddedDatabase implements Database {
  readonly engine = 'pglite' as const;
  constructor(
    readonly schema: string,
    private readonly engineRef: EmbeddedEngine,
  ) {}

  private raw<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.engineRef.statements.run<R>(this.schema, sql, params);
  }

  query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.engineRef.run(this.schema, () => this.raw<R>(sql, params));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.engineRef.run(this.schema, async () => {
      await this.engineRef.statements.control('BEGIN');
      const committed: (() => void)[] = [];
      try {
        const result = await fn({
          query: (sql, params) => this.raw(sql, params),
          exec: async (sql) => void (await this.engineRef.db.exec(sql)),
          database: this,
          afterCommit: (done) => void committed.push(done),
        });
        await this.engineRef.statements.control('COMMIT');
        for (const done of committed) done();
        return result;
      } catch (err) {
        await this.engineRef.statements.control('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async exec(sql: string): Promise<void> {
    await this.engineRef.run(this.schema, () => this.engineRef.db.exec(sql));
  }

  async holdSessionLock(): Promise<() => Promise<void>> {
    return async () => undefined;
  }

  async close(): Promise<void> {
    await this.engineRef.release();
  }
}

export interface DatabaseOptions {
  /** postgres:// URL; when absent the embedded engine is used. */
  url?: string;
  /** Folder for the embedded engine's files; `memory://` keeps it in memory. */
  dataDir: string;
  schema: string;
  poolSize?: number;
  /** Where a PostgreSQL outage is reported (once when it starts, once when it ends). */
  log?: Logger;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const schema = schemaName(opts.schema);
  if (opts.url) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? DEFAULT_DATABASE_POOL_SIZE,
      options: `-c search_path=${schema}`,
      idleTimeoutMillis: 10_000,
      // A server that does not answer is an outage (503) after this, not a request held for ever.
      connectionTimeoutMillis: 10_000,
    });
    // A pool error (a connection dropped by the server) must not crash the process.
    pool.on('error', () => undefined);
    return new PostgresDatabase(schema, pool, opts.url, opts.log);
  }
  const key = opts.dataDir;
  let pending = engines.get(key);
  if (!pending) {
    const inMemory = key.startsWith('memory://');
    if (!inMemory) mkdirSync(key, { recursive: true });
    pending = PGlite.create(inMemory ? undefined : key, { extensions: { pg_trgm } }).then(
      (db) => new EmbeddedEngine(db, () => engines.delete(key)),
    );
    engines.set(key, pending);
  }
  const engine = await pending;
  engine.acquire();
  return new EmbeddedDatabase(schema, engine);
}
