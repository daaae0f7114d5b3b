/**
 * idp/accounts/account-directory.ts over the real account tables: it finds a natural person, a
 * legal person and a recognized account by subject, says which subjects act for organizations,
 * and remembers each subject's kind so that the next lookup asks that table first (one query
 * instead of up to three). On the embedded PGlite (always) and on PostgreSQL (when DATABASE_URL is set).
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { BlindIndex, FieldCipher, randomToken } from '../../infra/crypto.ts';
import type { Database } from '../../infra/database.ts';
import { migrate } from '../../infra/migrate.ts';
import { AccountDirectory, accountJson } from '../../idp/accounts/account-directory.ts';
import { LegalPersonAccounts } from '../../idp/accounts/legal-person-accounts.ts';
import { NaturalPersonAccounts } from '../../idp/accounts/natural-person-accounts.ts';
import { LocalAccountExists, RecognizedAccounts } from '../../idp/accounts/recognized-accounts.ts';
import { randomDraw, syntheticIdNumber } from '../../services/population/synthetic-persons.ts';
import { syntheticUscc } from '../../services/legal-persons/synthetic-organizations.ts';
import { databaseEngines, forEngines, type DatabaseEngine } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('directory');
test.after.always(cleanup);

const HOME = 'https://gz.example.gov.cn';
const cipher = new FieldCipher(randomBytes(32));
const blindIndex = new BlindIndex(randomBytes(32));
/** Not a real hash: the directory never checks passwords. */
const PASSWORD_HASH = '$argon2id$v=19$m=19456,t=2,p=1$unused$unused';

/** The tables' queries as the directory sends them (a pass-through count, the database answers). */
function countingQueries(db: Database): { db: Database; tables: string[] } {
  const tables: string[] = [];
  const counted = Object.create(db) as Database;
  counted.query = (sql, params) => {
    tables.push(/FROM (\w+)/.exec(sql)?.[1] ?? sql);
    return db.query(sql, params);
  };
  return { db: counted, tables };
}

/** One OP's accounts: a natural person, an organization it represents, and two recognized accounts. */
async function accountsOf(engine: DatabaseEngine) {
  const db = await engine.open('unit_directory');
  await migrate(db, ['common', 'idp']);
  const queries = countingQueries(db);
  const naturals = new NaturalPersonAccounts(queries.db, cipher, blindIndex);
  const legals = new LegalPersonAccounts(queries.db, cipher, blindIndex);
  const recognized = new RecognizedAccounts(queries.db, cipher, blindIndex);
  const idNumber = syntheticIdNumber(randomDraw);
  const uscc = syntheticUscc(randomDraw);
  const person = await naturals.register({ name: '张三', idNumber, phone: '13800138000', passwordHash: PASSWORD_HASH, loa: 'loa2' }, null);
  const organization = await legals.register(
    {
      uscc,
      orgName: '广州示例科技有限公司',
      orgType: null,
      representative: { subject: person.subject, name: person.name, idNumberIndex: person.idNumberIndex },
    },
    null,
  );
  const link = (kind: 'natural' | 'legal', identifier: string) =>
    recognized.link(
      { kind, identifier, home: HOME, upstream: HOME, upstreamSubject: randomToken(8), loa: 'loa1', claims: { name: '李四' } },
      'portal-1',
      { event: 'login.recognized', detail: {} },
    );
  const visitorIdNumber = syntheticIdNumber(randomDraw);
  const visitor = await link('natural', visitorIdNumber);
  const visitingOrganization = await link('legal', syntheticUscc(randomDraw));
  queries.tables.length = 0;
  return {
    db,
    tables: queries.tables,
    naturals,
    directory: (currentRequest?: () => object | undefined) => new AccountDirectory(naturals, legals, recognized, currentRequest),
    person,
    organization,
    visitor,
    visitingOrganization,
    link,
    idNumber,
    uscc,
    visitorIdNumber,
  };
}

forEngines(engines, 'finds each kind of account by subject, and nothing for an unknown subject', async (t, engine) => {
  const a = await accountsOf(engine);
  const directory = a.directory();
  const natural = await directory.find(a.person.subject);
  t.is(natural?.kind, 'natural');
  t.is(natural?.kind === 'natural' && natural.person.name, '张三');
  const legal = await directory.find(a.organization);
  t.is(legal?.kind, 'legal');
  t.is(legal?.kind === 'legal' && legal.legal.orgName, '广州示例科技有限公司');
  const recognized = await directory.find(a.visitor.subject);
  t.is(recognized?.kind, 'recognized');
  t.is(recognized?.kind === 'recognized' && recognized.account.home, HOME);
  t.is(await directory.find('no-such-subject'), null);
});

forEngines(
  engines,
  'isLegal: an organization registered here or recognized acts for an organization; a person does not',
  async (t, engine) => {
    const a = await accountsOf(engine);
    const directory = a.directory();
    t.true(await directory.isLegal(a.organization));
    t.true(await directory.isLegal(a.visitingOrganization.subject));
    t.false(await directory.isLegal(a.person.subject));
    t.false(await directory.isLegal(a.visitor.subject));
    t.false(await directory.isLegal('no-such-subject'));
  },
);

forEngines(engines, 'a subject found once is looked up in its own table first: one query', async (t, engine) => {
  const a = await accountsOf(engine);
  const directory = a.directory();
  await directory.find(a.visitor.subject);
  t.deepEqual(a.tables, ['natural_persons', 'legal_persons', 'recognized_accounts'], 'the first lookup asks every table in turn');
  a.tables.length = 0;
  await directory.find(a.visitor.subject);
  await directory.isLegal(a.visitor.subject);
  t.deepEqual(a.tables, ['recognized_accounts', 'recognized_accounts']);
  a.tables.length = 0;
  await directory.find(a.organization);
  await directory.find(a.organization);
  t.deepEqual(a.tables, ['natural_persons', 'legal_persons', 'legal_persons']);
});

forEngines(engines, 'the remembered kind is a hint: a subject gone from that table is found in the others', async (t, engine) => {
  const a = await accountsOf(engine);
  const directory = a.directory();
  t.is((await directory.find(a.visitor.subject))?.kind, 'recognized');
  // As after a relocation that made the recognized account a local one under the same subject.
  await a.db.query('DELETE FROM recognized_accounts WHERE subject = $1', [a.visitor.subject]);
  const moved = await new NaturalPersonAccounts(a.db, cipher, blindIndex).register(
    { name: '李四', idNumber: syntheticIdNumber(randomDraw), phone: '13900139000', passwordHash: PASSWORD_HASH, loa: 'loa1' },
    null,
  );
  await a.db.query('UPDATE natural_persons SET subject = $1 WHERE subject = $2', [a.visitor.subject, moved.subject]);
  a.tables.length = 0;
  t.is((await directory.find(a.visitor.subject))?.kind, 'natural');
  t.deepEqual(a.tables, ['recognized_accounts', 'natural_persons']);
  a.tables.length = 0;
  t.is((await directory.find(a.visitor.subject))?.kind, 'natural');
  t.deepEqual(a.tables, ['natural_persons'], 'and its new kind is remembered');
});

forEngines(
  engines,
  'a natural person or recognized account read along with another statement (accountJson) is found in that request without a query, and only there',
  async (t, engine) => {
    const a = await accountsOf(engine);
    let request = {};
    const directory = a.directory(() => request);
    const readAlong = async (subject: string) =>
      (await a.db.query<{ account: unknown }>(`SELECT ${accountJson('$1')} AS account`, [subject])).rows[0]!.account;
    for (const subject of [a.person.subject, a.visitor.subject]) directory.readInThisRequest(subject, await readAlong(subject));
    const person = await directory.find(a.person.subject);
    const visitor = await directory.find(a.visitor.subject);
    t.deepEqual(a.tables, [], 'no query of its own');
    t.deepEqual(person, { kind: 'natural', person: await a.naturals.findBySubject(a.person.subject) });
    t.deepEqual(visitor, { kind: 'recognized', account: a.visitor });
    a.tables.length = 0;
    request = {};
    await directory.find(a.person.subject);
    t.deepEqual(a.tables, ['natural_persons'], 'the next request asks the database');
    // A legal person is not read along (its claims depend on the grant); an account no longer
    // active here is read as nothing: their lookups then ask the tables as ever.
    t.is(await readAlong(a.organization), null);
    await a.db.query("UPDATE natural_persons SET status = 'moved' WHERE subject = $1", [a.person.subject]);
    t.is(await readAlong(a.person.subject), null);
  },
);

forEngines(
  engines,
  'link: an account registered here is never linked as recognized; a returning visitor keeps their subject',
  async (t, engine) => {
    const a = await accountsOf(engine);
    await t.throwsAsync(a.link('natural', a.idNumber), { instanceOf: LocalAccountExists });
    await t.throwsAsync(a.link('legal', a.uscc), { instanceOf: LocalAccountExists });
    const again = await a.link('natural', a.visitorIdNumber);
    t.is(again.subject, a.visitor.subject);
    const { rows } = await a.db.query<{ n: number }>('SELECT count(*)::int AS n FROM recognized_accounts');
    t.is(rows[0]!.n, 2);
  },
);

forEngines(engines, 'standing: an account here, one that moved away (its new home), and none', async (t, engine) => {
  const a = await accountsOf(engine);
  t.deepEqual(await a.naturals.standing(a.naturals.idNumberIndex(a.idNumber)), { here: true, movedTo: null });
  t.deepEqual(await a.naturals.standing(a.naturals.idNumberIndex(a.visitorIdNumber)), { here: false, movedTo: null });
  await a.naturals.completeMove(a.person, 'https://zj.example.gov.cn', HOME);
  t.deepEqual(await a.naturals.standing(a.naturals.idNumberIndex(a.idNumber)), { here: false, movedTo: 'https://zj.example.gov.cn' });
});
