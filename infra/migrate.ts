/**
 * SQL migrations, applied per entity schema. Files live in `migrations/<set>/NNN_name.sql`; an
 * entity applies the sets its kind needs. Each run takes a transaction-scoped advisory lock on
 * the schema, so concurrent starts of the same entity apply each file exactly once, and records
 * every file with its checksum: an applied file that was edited afterwards is refused.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from './database.ts';
import { PACKAGE_ROOT } from './package-root.ts';

export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations');

interface MigrationFile {
  version: string;
  sql: string;
  checksum: string;
}

export class MigrationChecksumError extends Error {
  constructor(schema: string, version: string) {
    super(`migration ${version} was changed after it was applied to schema ${schema}; add a new migration instead`);
    this.name = 'MigrationChecksumError';
  }
}

function readSet(set: string, dir: string): MigrationFile[] {
  return readdirSync(`${dir}/${set}`)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = readFileSync(`${dir}/${set}/${f}`, 'utf8');
      return { version: `${set}/${f.replace(/\.sql$/, '')}`, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** Applies what is missing; returns the versions applied by this call. */
export async function migrate(db: Database, sets: string[], dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = sets.flatMap((set) => readSet(set, dir));
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gov-id:migrate:${db.schema}`]);
    await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${db.schema}"; SET LOCAL search_path TO "${db.schema}";
      CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: string; checksum: string }>('SELECT version, checksum FROM schema_migrations');
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));
    const done: string[] = [];
    for (const file of files) {
      const previous = applied.get(file.version);
      if (previous === file.checksum) continue;
      if (previous) throw new MigrationChecksumError(db.schema, file.version);
      await tx.exec(file.sql);
      await tx.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [file.version, file.checksum]);
      done.push(file.version);
    }
    return done;
  });
}
