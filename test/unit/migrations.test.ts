/**
 * infra/migrate.ts and infra/database.ts on the embedded PGlite (always) and on PostgreSQL (when
 * DATABASE_URL is set). Every test has its own schema and its own migrations folder.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../infra/database.ts';
import { schemaName } from '../../infra/database.ts';
import { migrate, MigrationChecksumError, MIGRATIONS_DIR } from '../../infra/migrate.ts';
import { databaseEngines, forEngines } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('migrations');
const tempDirs: string[] = [];
test.after.always(async () => {
  await cleanup();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A migrations folder with one set `demo` holding the given files. */
function migrationsDir(files: Record<string, string>): { dir: string; write(name: string, sql: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gov-id-unit-migrations-'));
  tempDirs.push(dir);
  mkdirSync(join(dir, 'demo'));
  const write = (name: string, sql: string) => writeFileSync(join(dir, 'demo', name), sql);
  for (const [name, sql] of Object.entries(files)) write(name, sql);
  return { dir, write };
}

const TWO_FILES = {
  '001_counter.sql': 'CREATE TABLE counter (n int NOT NULL);',
  '002_first_row.sql': 'INSERT INTO counter VALUES (2);',
};

async function tables(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
    [db.schema],
  );
  return rows.map((r) => r.table_name);
}

async function count(db: Database, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

async function appliedVersions(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((r) => r.version);
}

forEngines(engines, 'migrate applies both files of a set, then nothing, then only a new file', async (t, engine) => {
  const db = await engine.open('unit_mig');
  const m = migrationsDir(TWO_FILES);
  t.deepEqual(await migrate(db, ['demo'], m.dir), ['demo/001_counter', 'demo/002_first_row']);
  t.deepEqual(await tables(db), ['counter', 'schema_migrations']);
  t.is(await count(db, 'counter'), 1);

  t.deepEqual(await migrate(db, ['demo'], m.dir), []);
  t.is(await count(db, 'counter'), 1, 'nothing ran twice');

  m.write('003_second_row.sql', 'INSERT INTO counter VALUES (3);');
  t.deepEqual(await migrate(db, ['demo'], m.dir), ['demo/003_second_row']);
  t.is(await count(db, 'counter'), 2);
  t.deepEqual(await appliedVersions(db), ['demo/001_counter', 'demo/002_first_row', 'demo/003_second_row']);
  t.deepEqual(await migrate(db, ['demo'], m.dir), []);
});

forEngines(engines, 'migrate applies files in name order and ignores files not named NNN_name.sql', async (t, engine) => {
  const db = await engine.open('unit_mig');
  const m = migrationsDir({
    '002_insert.sql': 'INSERT INTO items VALUES (1);',
    '001_create.sql': 'CREATE TABLE items (n int);',
    'README.md': 'not SQL',
    '004_Upper.sql': 'SELECT no_such_function();',
    '5_short.sql': 'SELECT no_such_function();',
    '006_notes.sql.bak': 'SELECT no_such_function();',
  });
  t.deepEqual(await migrate(db, ['demo'], m.dir), ['demo/001_create', 'demo/002_insert']);
  t.is(await count(db, 'items'), 1);
});

forEngines(
  engines,
  'migrate throws MigrationChecksumError when an applied file was edited, and applies nothing of that run',
  async (t, engine) => {
    const db = await engine.open('unit_mig');
    const m = migrationsDir(TWO_FILES);
    await migrate(db, ['demo'], m.dir);
    m.write('001_counter.sql', 'CREATE TABLE counter (n bigint NOT NULL);');
    m.write('003_other.sql', 'CREATE TABLE other (n int);');
    const err = await t.throwsAsync(migrate(db, ['demo'], m.dir), { instanceOf: MigrationChecksumError });
    t.regex(err.message, /demo\/001_counter/);
    t.regex(err.message, new RegExp(db.schema));
    t.deepEqual(await appliedVersions(db), ['demo/001_counter', 'demo/002_first_row']);
    t.deepEqual(await tables(db), ['counter', 'schema_migrations']);
    // Restoring the file makes the set usable again.
    m.write('001_counter.sql', TWO_FILES['001_counter.sql']);
    t.deepEqual(await migrate(db, ['demo'], m.dir), ['demo/003_other']);
  },
);

forEngines(engines, 'a failing migration leaves nothing of its run applied', async (t, engine) => {
  const db = await engine.open('unit_mig');
  const m = migrationsDir({
    '001_counter.sql': 'CREATE TABLE counter (n int NOT NULL);',
    '002_broken.sql': 'INSERT INTO counter VALUES (NULL);',
  });
  await t.throwsAsync(migrate(db, ['demo'], m.dir));
  t.deepEqual(await tables(db), [], 'the schema, schema_migrations and counter were rolled back');
  m.write('002_broken.sql', 'INSERT INTO counter VALUES (1);');
  t.deepEqual(await migrate(db, ['demo'], m.dir), ['demo/001_counter', 'demo/002_broken']);
});

forEngines(engines, 'concurrent migrate() calls on one schema apply each file exactly once', async (t, engine) => {
  const first = await engine.open('unit_mig');
  // A second handle on the same schema: a separate connection pool on PostgreSQL.
  const second = await engine.reopen(first.schema);
  const third = await engine.reopen(first.schema);
  const m = migrationsDir(TWO_FILES);
  const results = await Promise.all([migrate(first, ['demo'], m.dir), migrate(second, ['demo'], m.dir), migrate(third, ['demo'], m.dir)]);
  t.deepEqual(results.flat().sort(), ['demo/001_counter', 'demo/002_first_row']);
  t.true(
    results.some((r) => r.length === 2),
    'one call applied the whole set',
  );
  t.is(await count(first, 'schema_migrations'), 2);
  t.is(await count(first, 'counter'), 1);
});

/**
 * What a set of the project holds, by the documented naming rule (migrations/<set>/NNN_name.sql),
 * read from the folder so that a migration added to a set later does not break these tests.
 */
function projectVersions(...sets: string[]): string[] {
  return sets.flatMap((set) =>
    readdirSync(join(MIGRATIONS_DIR, set))
      .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
      .sort()
      .map((f) => `${set}/${f.slice(0, -4)}`),
  );
}

const COMMON_TABLES = ['audit_log', 'entity_keys', 'schema_migrations'];
const IDP_TABLES = ['natural_persons', 'oidc_artifacts', 'oidc_clients'];
const SERVICES_TABLES = ['message_outbox', 'persons'];

forEngines(engines, "the project's sets common+idp create the OP tables", async (t, engine) => {
  const db = await engine.open('unit_mig_idp');
  const expected = projectVersions('common', 'idp');
  t.true(expected.includes('common/001_audit_log') && expected.includes('idp/001_natural_persons'));
  t.deepEqual(await migrate(db, ['common', 'idp']), expected);
  const created = await tables(db);
  for (const table of [...COMMON_TABLES, ...IDP_TABLES]) t.true(created.includes(table), table);
  for (const table of SERVICES_TABLES) t.false(created.includes(table), table);
  t.deepEqual(await appliedVersions(db), [...expected].sort());
  t.deepEqual(await migrate(db, ['common', 'idp']), []);
});

forEngines(engines, "the project's sets common+services create the services tables, and nothing of idp", async (t, engine) => {
  const db = await engine.open('unit_mig_svc');
  const expected = projectVersions('common', 'services');
  t.true(expected.includes('services/001_population_registry'));
  t.deepEqual(await migrate(db, ['common', 'services']), expected);
  const created = await tables(db);
  for (const table of [...COMMON_TABLES, ...SERVICES_TABLES]) t.true(created.includes(table), table);
  for (const table of IDP_TABLES) t.false(created.includes(table), table);
  t.deepEqual(await migrate(db, ['common', 'services']), []);
});

forEngines(engines, 'two schemas of one engine do not see each other', async (t, engine) => {
  const a = await engine.open('unit_mig_a');
  const b = await engine.open('unit_mig_b');
  const m = migrationsDir(TWO_FILES);
  await migrate(a, ['demo'], m.dir);
  t.deepEqual(await tables(b), []);
  await t.throwsAsync(b.query('SELECT * FROM counter'), { message: /counter/ });
  // Interleaved statements keep their own schema.
  const [ra, rb] = await Promise.all([
    a.query<{ r: string | null }>("SELECT to_regclass('counter')::text AS r"),
    b.query<{ r: string | null }>("SELECT to_regclass('counter')::text AS r"),
  ]);
  t.not(ra.rows[0]!.r, null);
  t.is(rb.rows[0]!.r, null);
  t.deepEqual(await migrate(b, ['demo'], m.dir), ['demo/001_counter', 'demo/002_first_row'], 'b migrates on its own');
});

forEngines(engines, 'a transaction that throws rolls back everything it wrote', async (t, engine) => {
  const db = await engine.open('unit_tx');
  const m = migrationsDir(TWO_FILES);
  await migrate(db, ['demo'], m.dir);
  const boom = new Error('boom');
  const err = await t.throwsAsync(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO counter VALUES ($1)', [10]);
      await tx.exec('INSERT INTO counter VALUES (11); CREATE TABLE made_in_tx (n int);');
      t.is((await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM counter')).rows[0]!.n, 3, 'visible inside');
      throw boom;
    }),
  );
  t.is(err, boom, 'the original error is rethrown');
  t.is(await count(db, 'counter'), 1);
  t.false((await tables(db)).includes('made_in_tx'));
});

forEngines(engines, 'a transaction whose statement fails rolls back, and the database stays usable', async (t, engine) => {
  const db = await engine.open('unit_tx');
  const m = migrationsDir(TWO_FILES);
  await migrate(db, ['demo'], m.dir);
  await t.throwsAsync(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO counter VALUES (20)');
      await tx.query('INSERT INTO counter VALUES (NULL)');
    }),
  );
  t.is(await count(db, 'counter'), 1);
  const value = await db.transaction(async (tx) => {
    const r = await tx.query('INSERT INTO counter VALUES (21)');
    return r.rowCount;
  });
  t.is(value, 1, 'a committed transaction returns its value');
  t.is(await count(db, 'counter'), 2);
});

test('schemaName lowercases, replaces unusable characters and refuses what cannot be a schema', (t) => {
  t.is(schemaName('GD'), 'gd');
  t.is(schemaName('test-run.gz'), 'test_run_gz');
  t.throws(() => schemaName('1gd'), { message: /unusable schema name/ });
  t.throws(() => schemaName(''), { message: /unusable schema name/ });
  t.throws(() => schemaName('a'.repeat(64)), { message: /unusable schema name/ });
  t.is(schemaName('a'.repeat(63)), 'a'.repeat(63));
});
