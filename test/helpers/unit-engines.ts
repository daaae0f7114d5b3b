/**
 * Engines for unit tests of storage code: the embedded PGlite (always) and PostgreSQL (when
 * DATABASE_URL is set); the in-process key-value store (always) and Redis (when REDIS_URL is set).
 * Every name is unique per run; `cleanup()` removes what a test file created on the real services.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { openDatabase, type Database } from '../../infra/database.ts';
import { openKeyValueStore, type KeyValueStore } from '../../infra/key-value-store.ts';

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export interface DatabaseEngine {
  name: 'pglite' | 'postgres';
  /** false when the real service is not configured: its tests are skipped. */
  available: boolean;
  /** Why the engine is unavailable, for skipped test titles. */
  skipReason: string;
  /** A database on a fresh schema of this engine (the schema itself is created by migrate()). */
  open(schemaPrefix: string): Promise<Database>;
  /** Another handle on an existing schema (a second pool on PostgreSQL). */
  reopen(schema: string): Promise<Database>;
}

/**
 * The PGlite engine of one test file is one in-memory instance (unique name); each test works on
 * its own schema. On PostgreSQL every schema a test opened is dropped by `cleanup()`.
 */
export function databaseEngines(label: string): { engines: DatabaseEngine[]; cleanup(): Promise<void> } {
  const pgliteDir = `memory://${uniqueName(`gov-id-unit-${label}`)}`;
  const url = process.env.DATABASE_URL || undefined;
  const opened = new Set<Database>();
  /** Closing is idempotent here, so that tests may close early and cleanup() closes the rest. */
  const track = (db: Database): Database => {
    const close = db.close.bind(db);
    let closed = false;
    db.close = async () => {
      if (closed) return;
      closed = true;
      opened.delete(db);
      await close();
    };
    opened.add(db);
    return db;
  };
  const pgSchemas = new Set<string>();
  let anchor: Promise<Database> | undefined;

  const pglite: DatabaseEngine = {
    name: 'pglite',
    available: true,
    skipReason: '',
    async open(prefix) {
      // Keeps the shared in-memory instance alive between tests of the file.
      anchor ??= openDatabase({ dataDir: pgliteDir, schema: 'unit_anchor' });
      await anchor;
      return pglite.reopen(uniqueName(prefix));
    },
    async reopen(schema) {
      return track(await openDatabase({ dataDir: pgliteDir, schema }));
    },
  };
  const postgres: DatabaseEngine = {
    name: 'postgres',
    available: url !== undefined,
    skipReason: 'skipped: DATABASE_URL is not set',
    open(prefix) {
      return postgres.reopen(uniqueName(prefix));
    },
    async reopen(schema) {
      pgSchemas.add(schema);
      return track(await openDatabase({ url, dataDir: 'unused', schema }));
    },
  };

  return {
    engines: [pglite, postgres],
    async cleanup() {
      for (const db of [...opened]) await db.close().catch(() => undefined);
      if (url && pgSchemas.size) {
        const admin = await openDatabase({ url, dataDir: 'unused', schema: 'public' });
        try {
          for (const schema of pgSchemas) await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await admin.close();
        }
      }
      if (anchor) await (await anchor).close();
    },
  };
}

export interface StoreEngine {
  name: 'memory' | 'redis';
  available: boolean;
  skipReason: string;
  /** A store on a fresh, random namespace. */
  open(): Promise<{ store: KeyValueStore; namespace: string }>;
}

export function storeEngines(): { engines: StoreEngine[]; cleanup(): Promise<void> } {
  const url = process.env.REDIS_URL || undefined;
  const namespaces: string[] = [];
  const stores: KeyValueStore[] = [];
  const make = (name: 'memory' | 'redis', storeUrl: string | undefined): StoreEngine => ({
    name,
    available: name === 'memory' || storeUrl !== undefined,
    skipReason: 'skipped: REDIS_URL is not set',
    async open() {
      const namespace = uniqueName('gov-id-unit');
      const store = await openKeyValueStore({ url: storeUrl, namespace });
      namespaces.push(namespace);
      stores.push(store);
      return { store, namespace };
    },
  });
  return {
    engines: [make('memory', undefined), make('redis', url)],
    async cleanup() {
      for (const store of stores.splice(0)) await store.close().catch(() => undefined);
      if (!url) return;
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      redis.on('error', () => undefined);
      await redis.connect();
      try {
        for (const ns of namespaces) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 500);
            if (keys.length) await redis.del(...keys);
            cursor = next;
          } while (cursor !== '0');
        }
      } finally {
        await redis.quit().catch(() => undefined);
      }
    },
  };
}

/** Raw keys of a namespace on the real Redis (to check how keys are named). */
export async function redisKeys(pattern: string): Promise<string[]> {
  const url = process.env.REDIS_URL;
  if (!url) return [];
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return (await redis.keys(pattern)).sort();
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

interface Engine {
  name: string;
  available: boolean;
  skipReason: string;
}

/**
 * Declares `title` once per engine, titled `[engine] title`; skipped (with the reason in its title)
 * on an engine whose service is not configured.
 */
export function forEngines<E extends Engine>(
  engines: E[],
  title: string,
  fn: (t: ExecutionContext, engine: E) => Promise<void>,
  options: { serial?: boolean } = {},
): void {
  for (const engine of engines) {
    const name = `[${engine.name}] ${title}`;
    if (!engine.available) {
      test.skip(`${name} (${engine.skipReason})`, () => undefined);
      continue;
    }
    (options.serial ? test.serial : test)(name, (t) => fn(t, engine));
  }
}
