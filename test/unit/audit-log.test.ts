/**
 * infra/audit-log.ts on a schema migrated with the `common` set, on the embedded PGlite (always)
 * and on PostgreSQL (when DATABASE_URL is set).
 */
import test from 'ava';
import { appendAudit, readAudit, recordAudit, verifyAuditChain, type AuditEntry } from '../../infra/audit-log.ts';
import type { Database, Transaction } from '../../infra/database.ts';
import { migrate } from '../../infra/migrate.ts';
import { databaseEngines, forEngines, type DatabaseEngine } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('audit');
test.after.always(cleanup);

async function auditDb(engine: DatabaseEngine): Promise<Database> {
  const db = await engine.open('unit_audit');
  await migrate(db, ['common']);
  return db;
}

async function threeEntries(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await appendAudit(tx, {
      event: 'account.registered',
      subject: 'sub-1',
      clientId: 'client-1',
      detail: { user_type: 'natural', loa: 'loa1' },
    });
    await appendAudit(tx, { event: 'login.succeeded', subject: 'sub-1', clientId: 'client-1', detail: { amr: ['pwd'], ip: '127.0.0.1' } });
    await appendAudit(tx, { event: 'client.removed', clientId: 'client-1' });
  });
}

forEngines(engines, 'three appended entries form an intact chain', async (t, engine) => {
  const db = await auditDb(engine);
  t.deepEqual(await verifyAuditChain(db), { entries: 0, brokenAt: null }, 'an empty log is intact');
  await threeEntries(db);
  t.deepEqual(await verifyAuditChain(db), { entries: 3, brokenAt: null });

  const { rows } = await db.query<{ seq: string; prev_hash: string; hash: string }>(
    'SELECT seq::text, prev_hash, hash FROM audit_log ORDER BY seq',
  );
  t.deepEqual(
    rows.map((r) => r.seq),
    ['1', '2', '3'],
  );
  t.is(rows[0]!.prev_hash, 'genesis');
  t.is(rows[1]!.prev_hash, rows[0]!.hash);
  t.is(rows[2]!.prev_hash, rows[1]!.hash);
  t.is(new Set(rows.map((r) => r.hash)).size, 3);

  const records = await readAudit(db);
  t.deepEqual(
    records.map((r) => [r.seq, r.event, r.subject, r.clientId]),
    [
      [3, 'client.removed', null, 'client-1'],
      [2, 'login.succeeded', 'sub-1', 'client-1'],
      [1, 'account.registered', 'sub-1', 'client-1'],
    ],
  );
  t.deepEqual(records[1]!.detail, { amr: ['pwd'], ip: '127.0.0.1' });
  t.deepEqual(records[0]!.detail, {});
  t.deepEqual(
    (await readAudit(db, 1)).map((r) => r.seq),
    [3],
  );
});

forEngines(engines, 'entries appended in separate and concurrent transactions keep one intact chain', async (t, engine) => {
  const db = await auditDb(engine);
  await recordAudit(db, { event: 'logout', subject: 'sub-1' });
  await Promise.all(Array.from({ length: 8 }, (_, i) => recordAudit(db, { event: 'login.failed', detail: { reason: 'password', n: i } })));
  t.deepEqual(await verifyAuditChain(db), { entries: 9, brokenAt: null });
  const { rows } = await db.query<{ seq: string }>('SELECT seq::text FROM audit_log ORDER BY seq');
  t.deepEqual(
    rows.map((r) => Number(r.seq)),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});

// Regression: seq must be ordered as a number, not as text ('10' < '9'), past ten entries.
forEngines(engines, 'a chain of more than ten entries stays in order and intact', async (t, engine) => {
  const db = await auditDb(engine);
  for (let i = 1; i <= 12; i++) await recordAudit(db, { event: `e${i}` });
  t.deepEqual(await verifyAuditChain(db), { entries: 12, brokenAt: null });
  const records = await readAudit(db);
  t.deepEqual(
    records.map((r) => r.seq),
    [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
  );
  t.deepEqual(records.map((r) => r.event).slice(0, 3), ['e12', 'e11', 'e10']);
  t.deepEqual(
    (await readAudit(db, 2)).map((r) => r.seq),
    [12, 11],
  );
});

forEngines(engines, 'details with nested objects, unicode and numbers verify after the JSONB round trip', async (t, engine) => {
  const db = await auditDb(engine);
  await recordAudit(db, {
    event: 'consent.granted',
    subject: '张三',
    clientId: 'c',
    detail: { z: 1, a: { y: [1, 2.5, 'x'], b: null }, 名称: '广东', big: 12345678901234, neg: -0.125, flag: false },
  });
  t.deepEqual(await verifyAuditChain(db), { entries: 1, brokenAt: null });
});

for (const statement of ["UPDATE audit_log SET event = 'changed'", 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
  forEngines(engines, `the trigger refuses: ${statement.split(' ')[0]}`, async (t, engine) => {
    const db = await auditDb(engine);
    await threeEntries(db);
    await t.throwsAsync(db.query(statement), { message: /append-only/ });
    await t.throwsAsync(
      db.transaction((tx) => tx.query(`${statement}${statement.startsWith('TRUNCATE') ? '' : ' WHERE seq = 2'}`)),
      { message: /append-only/ },
    );
    t.deepEqual(await verifyAuditChain(db), { entries: 3, brokenAt: null });
    t.deepEqual(
      (await readAudit(db)).map((r) => r.event),
      ['client.removed', 'login.succeeded', 'account.registered'],
    );
  });
}

forEngines(engines, 'a row edited with the triggers disabled breaks the chain at that row', async (t, engine) => {
  const db = await auditDb(engine);
  await threeEntries(db);
  await db.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await tx.query(`UPDATE audit_log SET detail = '{"amr":["otp"],"ip":"127.0.0.1"}'::jsonb WHERE seq = 2`);
    await tx.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
  });
  t.deepEqual(await verifyAuditChain(db), { entries: 3, brokenAt: 2 });
  // The triggers are on again.
  await t.throwsAsync(db.query('DELETE FROM audit_log'), { message: /append-only/ });
});

forEngines(engines, 'a removed row breaks the chain at the row after it; an edited event or subject is detected', async (t, engine) => {
  const db = await auditDb(engine);
  await threeEntries(db);
  await recordAudit(db, { event: 'logout', subject: 'sub-1' });
  await db.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await tx.query('DELETE FROM audit_log WHERE seq = 2');
    await tx.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
  });
  t.deepEqual(await verifyAuditChain(db), { entries: 3, brokenAt: 3 });

  const other = await auditDb(engine);
  await threeEntries(other);
  await other.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await tx.query("UPDATE audit_log SET subject = 'sub-2' WHERE seq = 1");
    await tx.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
  });
  t.deepEqual(await verifyAuditChain(other), { entries: 3, brokenAt: 1 });
});

forEngines(engines, 'an entry appended in a rolled-back transaction leaves nothing', async (t, engine) => {
  const db = await auditDb(engine);
  await recordAudit(db, { event: 'first' });
  await t.throwsAsync(
    db.transaction(async (tx) => {
      await appendAudit(tx, { event: 'account.registered', subject: 'sub-x' });
      throw new Error('registration failed after its audit entry');
    }),
    { message: /registration failed/ },
  );
  t.deepEqual(await verifyAuditChain(db), { entries: 1, brokenAt: null });
  await recordAudit(db, { event: 'second' });
  t.deepEqual(await verifyAuditChain(db), { entries: 2, brokenAt: null });
  t.deepEqual(
    (await readAudit(db)).map((r) => [r.seq, r.event]),
    [
      [2, 'second'],
      [1, 'first'],
    ],
  );
});

forEngines(engines, 'an entry whose detail holds an undefined property still verifies', async (t, engine) => {
  const db = await auditDb(engine);
  const maybeIndex: string | undefined = undefined;
  await recordAudit(db, { event: 'login.failed', detail: { reason: 'unknown', identifier_index: maybeIndex } });
  t.deepEqual(await verifyAuditChain(db), { entries: 1, brokenAt: null });
});

forEngines(
  engines,
  'entries of their own from two handles of one schema (two processes) and entries in transactions, interleaved, keep one chain',
  async (t, engine) => {
    const db = await auditDb(engine);
    const other = await engine.reopen(db.schema);
    // Each handle guesses the head it wrote last: the other handle's entries make those guesses wrong.
    await recordAudit(db, { event: 'first' });
    await recordAudit(other, { event: 'second' });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 3 === 2
          ? db.transaction((tx) => appendAudit(tx, { event: 'in.transaction', detail: { n: i } }))
          : recordAudit(i % 3 ? other : db, { event: 'own', detail: { n: i } }),
      ),
    );
    await recordAudit(db, { event: 'last' });
    t.deepEqual(await verifyAuditChain(db), { entries: 15, brokenAt: null });
    const { rows } = await db.query<{ seq: string }>('SELECT seq::text FROM audit_log ORDER BY audit_log.seq');
    t.deepEqual(
      rows.map((r) => Number(r.seq)),
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    t.is((await readAudit(db, 1))[0]!.event, 'last');
  },
);

forEngines(
  engines,
  'an entry of its own after one appended in a transaction follows it in one statement, without a wrong guess',
  async (t, engine) => {
    const db = await auditDb(engine);
    await recordAudit(db, { event: 'login.failed', clientId: 'client-1' });
    await threeEntries(db);
    const statements: string[] = [];
    const query = db.query.bind(db);
    db.query = ((sql: string, params?: unknown[]) => (statements.push(sql), query(sql, params))) as Database['query'];
    await recordAudit(db, { event: 'logout', subject: 'sub-1' });
    db.query = query;
    t.is(statements.length, 1, 'the INSERT alone: no failed guess, no head read');
    t.deepEqual(await verifyAuditChain(db), { entries: 5, brokenAt: null });
  },
);

forEngines(engines, 'a wrong guess of the head costs one statement, which answers with the head: no failed INSERT', async (t, engine) => {
  const db = await auditDb(engine);
  const other = await engine.reopen(db.schema);
  await recordAudit(db, { event: 'first' });
  await recordAudit(other, { event: 'second' }); // db still guesses the head it wrote: seq 1
  const statements: string[] = [];
  const query = db.query.bind(db);
  db.query = ((sql: string, params?: unknown[]) => (statements.push(sql), query(sql, params))) as Database['query'];
  await recordAudit(db, { event: 'third' });
  t.is(statements.length, 2, 'the guess answered with the head, then the entry after it');
  t.deepEqual(await verifyAuditChain(db), { entries: 3, brokenAt: null });
  t.deepEqual(
    (await readAudit(db)).map((r) => [r.seq, r.event]),
    [
      [3, 'third'],
      [2, 'second'],
      [1, 'first'],
    ],
  );
});

forEngines(
  engines,
  'an entry in a transaction after the head this process knows: one statement checks the head and appends (after the lock on PostgreSQL)',
  async (t, engine) => {
    const db = await auditDb(engine);
    const statements: string[] = [];
    const appendCounted = (entry: AuditEntry) =>
      db.transaction(async (tx) => {
        const query = tx.query.bind(tx);
        await appendAudit(
          { ...tx, query: ((sql: string, params?: unknown[]) => (statements.push(sql), query(sql, params))) as Transaction['query'] },
          entry,
        );
      });
    const lock = engine.name === 'postgres' ? 1 : 0;
    await appendCounted({ event: 'first' });
    t.is(statements.length, lock + 2, 'no head known yet: the head read, then the INSERT');
    statements.length = 0;
    await appendCounted({ event: 'in.transaction' });
    t.is(statements.length, lock + 1, 'the head written in the transaction before: no head read, no separate INSERT');
    const other = await engine.reopen(db.schema);
    await recordAudit(other, { event: 'from another process' });
    statements.length = 0;
    await appendCounted({ event: 'after a wrong guess' });
    t.is(statements.length, lock + 2, 'the guess answered with the head, then the entry after it');
    t.deepEqual(await verifyAuditChain(db), { entries: 4, brokenAt: null });
    t.deepEqual(
      (await readAudit(db)).map((r) => [r.seq, r.event]),
      [
        [4, 'after a wrong guess'],
        [3, 'from another process'],
        [2, 'in.transaction'],
        [1, 'first'],
      ],
    );
  },
);
