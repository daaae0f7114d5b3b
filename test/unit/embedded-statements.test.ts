/**
 * Statements on the embedded PGlite run as named prepared statements (infra/embedded-statements.ts):
 * prepared once per schema and text, their parameters converted as `pg` converts them, so that a
 * statement means the same on both engines (PostgreSQL when DATABASE_URL is set).
 */
import test from 'ava';
import { PGlite } from '@electric-sql/pglite';
import { EmbeddedStatements } from '../../infra/embedded-statements.ts';
import { uniqueViolation } from '../../infra/database.ts';
import { databaseEngines, forEngines } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('statements');
test.after.always(cleanup);

const TABLE = `CREATE TABLE typed (
  id text PRIMARY KEY, n int, big bigint, flag boolean, doc jsonb, tags text[], raw bytea, at timestamptz
)`;

forEngines(
  engines,
  'parameters mean the same on both engines: text, numbers, booleans, JSON, arrays, bytes, times, null',
  async (t, engine) => {
    const db = await engine.open('unit_statements');
    await db.exec(`CREATE SCHEMA IF NOT EXISTS "${db.schema}"; SET search_path TO "${db.schema}"`);
    await db.query(TABLE);
    const at = new Date('2026-12-05T04:00:00.123Z');
    const inserted = await db.query('INSERT INTO typed (id, n, big, flag, doc, tags, raw, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      'a',
      42,
      9007199254740993n,
      true,
      JSON.stringify({ k: ['v', 1] }),
      ['x', 'y "z"', null],
      Buffer.from([0, 1, 255]),
      at,
    ]);
    t.is(inserted.rowCount, 1);
    await db.query('INSERT INTO typed (id, doc) VALUES ($1, $2)', ['b', { object: 'as JSON' }]);
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT id, n, big::text AS big, flag, doc, tags, encode(raw, 'hex') AS raw, at FROM typed WHERE id = ANY($1) ORDER BY id`,
      [['a', 'b']],
    );
    t.deepEqual(rows[0], {
      id: 'a',
      n: 42,
      big: '9007199254740993',
      flag: true,
      doc: { k: ['v', 1] },
      tags: ['x', 'y "z"', null],
      raw: '0001ff',
      at,
    });
    t.deepEqual(rows[1]?.doc, { object: 'as JSON' });
    t.is(rows[1]?.n, null);
    const updated = await db.query('UPDATE typed SET n = n + 1 WHERE id = $1 AND flag', ['a']);
    t.is(updated.rowCount, 1);
  },
);

test('a statement is prepared once per schema and reused; each schema reads its own tables', async (t) => {
  const [pglite] = engines;
  const a = await pglite!.open('unit_prepared_a');
  const b = await pglite!.open('unit_prepared_b');
  for (const db of [a, b])
    await db.exec(`CREATE SCHEMA IF NOT EXISTS "${db.schema}"; SET search_path TO "${db.schema}"; CREATE TABLE mine (v text)`);
  await a.query('INSERT INTO mine (v) VALUES ($1)', ['in a']);
  await b.query('INSERT INTO mine (v) VALUES ($1)', ['in b']);
  const read = 'SELECT v FROM mine';
  for (let i = 0; i < 3; i++) {
    t.deepEqual((await a.query(read)).rows, [{ v: 'in a' }]);
    t.deepEqual((await b.query(read)).rows, [{ v: 'in b' }]);
  }
  const { rows } = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [read]);
  t.is(rows[0]?.n, 2, 'one prepared statement per schema, not one per use');
});

test('a refused statement leaves nothing half-prepared; a known one stays prepared after a constraint refuses it', async (t) => {
  const db = await PGlite.create();
  t.teardown(() => db.close());
  const statements = new EmbeddedStatements(db);
  await statements.run('public', 'CREATE TABLE once (id text PRIMARY KEY)');
  const insert = 'INSERT INTO once (id) VALUES ($1)';
  await statements.run('public', insert, ['x']);
  const refused = await t.throwsAsync(statements.run('public', insert, ['x']));
  t.is(uniqueViolation(refused), 'once_pkey');
  await t.throwsAsync(statements.run('public', 'SELECT no_such_column FROM once'), { message: /no_such_column/ });
  // Bound parameters of the wrong type fail after the statement was parsed: it must not stay behind.
  await t.throwsAsync(statements.run('public', 'SELECT $1::int AS n', ['not a number']), { message: /integer/ });
  const prepared = await statements.run<{ statement: string }>('public', 'SELECT statement FROM pg_prepared_statements ORDER BY statement');
  t.deepEqual(
    prepared.rows.map((r) => r.statement),
    ['CREATE TABLE once (id text PRIMARY KEY)', insert, 'SELECT statement FROM pg_prepared_statements ORDER BY statement'],
  );
  t.is((await statements.run('public', insert, ['y'])).rowCount, 1);
});

test('past its limit the least recently used statement is closed', async (t) => {
  const db = await PGlite.create();
  t.teardown(() => db.close());
  const statements = new EmbeddedStatements(db, 3);
  const select = (n: number) => `SELECT ${n} AS n`;
  for (const n of [1, 2, 3]) await statements.run('public', select(n));
  await statements.run('public', select(1)); // 1 is now the most recently used; 2 the least
  await statements.run('public', select(4)); // 2 is closed in the same batch
  const { rows } = await statements.run<{ statement: string }>('public', 'SELECT statement FROM pg_prepared_statements ORDER BY statement');
  t.deepEqual(
    rows.map((r) => r.statement),
    [select(1), select(4), 'SELECT statement FROM pg_prepared_statements ORDER BY statement'],
  );
});

test('transaction control and search_path go as plain commands: they take effect, prepare nothing, and a refused one throws', async (t) => {
  const db = await PGlite.create();
  t.teardown(() => db.close());
  const statements = new EmbeddedStatements(db);
  await statements.control('CREATE SCHEMA elsewhere');
  await statements.control('SET search_path TO "elsewhere"');
  await statements.run('elsewhere', 'CREATE TABLE kept (v text)');
  await statements.control('BEGIN');
  await statements.run('elsewhere', 'INSERT INTO kept (v) VALUES ($1)', ['undone']);
  await statements.control('ROLLBACK');
  await statements.control('BEGIN');
  await statements.run('elsewhere', 'INSERT INTO kept (v) VALUES ($1)', ['done']);
  await statements.control('COMMIT');
  t.deepEqual((await statements.run('elsewhere', 'SELECT v FROM kept')).rows, [{ v: 'done' }]);
  const { rows } = await statements.run<{ statement: string }>(
    'elsewhere',
    'SELECT statement FROM pg_prepared_statements ORDER BY statement',
  );
  t.deepEqual(
    rows.map((r) => r.statement),
    [
      'CREATE TABLE kept (v text)',
      'INSERT INTO kept (v) VALUES ($1)',
      'SELECT statement FROM pg_prepared_statements ORDER BY statement',
      'SELECT v FROM kept',
    ],
  );
  await t.throwsAsync(statements.control('SET no_such_setting TO 1'), { message: /no_such_setting/ });
});
