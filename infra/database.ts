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

class PostgresDatabase implements Database {
  readonly engine = 'postgres' as const;
  constructor(
    readonly schema: string,
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const r = await this.pool.query(sql, params as unknown[]);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const tx: Transaction = {
        async query<R>(sql: string, params?: unknown[]) {
          const r = await client.query(sql, params as unknown[]);
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
        async exec(sql: string) {
          await client.query(sql);
        },
      };
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async holdSessionLock(key: string): Promise<() => Promise<void>> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return () => client.end().catch(() => undefined);
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
  constructor(
    readonly db: PGlite,
    private readonly onIdle: () => void,
  ) {}

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
        await this.db.exec(`SET search_path TO "${schema}"`);
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

  private async raw<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const r = await this.engineRef.db.query<R>(sql, params);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }

  query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.engineRef.run(this.schema, () => this.raw<R>(sql, params));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.engineRef.run(this.schema, async () => {
      await this.engineRef.db.exec('BEGIN');
      try {
        const result = await fn({
          query: (sql, params) => this.raw(sql, params),
          exec: async (sql) => void (await this.engineRef.db.exec(sql)),
        });
        await this.engineRef.db.exec('COMMIT');
        return result;
      } catch (err) {
        await this.engineRef.db.exec('ROLLBACK').catch(() => undefined);
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
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const schema = schemaName(opts.schema);
  if (opts.url) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 4,
      options: `-c search_path=${schema}`,
      idleTimeoutMillis: 10_000,
    });
    // A pool error (a connection dropped by the server) must not crash the process.
    pool.on('error', () => undefined);
    return new PostgresDatabase(schema, pool, opts.url);
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
