/**
 * Duplicates are recognized by SQLSTATE 23505 and the constraint's name (infra/database.ts
 * uniqueViolation), never by the message's text: on the embedded PGlite (always) and on
 * PostgreSQL (when DATABASE_URL is set), with the real migrations' constraint names.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { uniqueViolation, type Database } from '../../infra/database.ts';
import { migrate } from '../../infra/migrate.ts';
import { AccountExists, NaturalPersonAccounts } from '../../idp/accounts/natural-person-accounts.ts';
import { AgentAlreadyAuthorized, LegalPersonAccounts, OrganizationExists } from '../../idp/accounts/legal-person-accounts.ts';
import { randomDraw, syntheticIdNumber } from '../../services/population/synthetic-persons.ts';
import { syntheticUscc } from '../../services/legal-persons/synthetic-organizations.ts';
import { databaseEngines, forEngines, type DatabaseEngine } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('unique');
test.after.always(cleanup);

const cipher = new FieldCipher(randomBytes(32));
const blindIndex = new BlindIndex(randomBytes(32));
let phoneSerial = 0;
const newPhone = () => `139${String(process.pid % 10000).padStart(4, '0')}${String(phoneSerial++).padStart(4, '0')}`;

async function idpDb(engine: DatabaseEngine): Promise<Database> {
  const db = await engine.open('unit_unique');
  await migrate(db, ['common', 'idp']);
  return db;
}

const person = (over: { idNumber?: string; phone?: string } = {}) => ({
  name: '张三',
  idNumber: over.idNumber ?? syntheticIdNumber(randomDraw),
  phone: over.phone ?? newPhone(),
  passwordHash: 'x',
  loa: 'loa1' as const,
});

forEngines(engines, 'a unique violation names its constraint; any other error is not one', async (t, engine) => {
  const db = await idpDb(engine);
  await db.exec('CREATE TABLE probe (a text PRIMARY KEY, b text UNIQUE)');
  await db.query("INSERT INTO probe VALUES ('1', '1')");
  const duplicate = await t.throwsAsync(db.transaction((tx) => tx.query("INSERT INTO probe VALUES ('2', '1')")));
  t.is(uniqueViolation(duplicate), 'probe_b_key');
  t.is(uniqueViolation(await t.throwsAsync(db.query("INSERT INTO probe VALUES ('1', '3')"))), 'probe_pkey');
  t.is(uniqueViolation(await t.throwsAsync(db.query('INSERT INTO probe VALUES (NULL, 4)'))), null, 'a not-null violation (23502)');
  t.is(
    uniqueViolation(new Error('duplicate key value violates unique constraint "probe_b_key"')),
    null,
    'the text of a message is not read',
  );
  t.is(uniqueViolation(undefined), null);
});

forEngines(engines, 'a duplicate ID number or phone is told apart by its constraint, whatever the message says', async (t, engine) => {
  const db = await idpDb(engine);
  const accounts = new NaturalPersonAccounts(db, cipher, blindIndex);
  const first = person();
  await accounts.register(first, null);
  const sameId = await t.throwsAsync(accounts.register(person({ idNumber: first.idNumber }), null), { instanceOf: AccountExists });
  t.is(sameId?.field, 'id_number');
  const samePhone = await t.throwsAsync(accounts.register(person({ phone: first.phone }), null), { instanceOf: AccountExists });
  t.is(samePhone?.field, 'phone');
  t.like(samePhone, { status: 409, code: 'account_exists', message: 'an account with this phone number already lives here' });
  const moved = await t.throwsAsync(
    accounts.importMoved(person({ phone: first.phone }), 'https://gz.example.gov.cn', 'https://gd.example.gov.cn'),
    { instanceOf: AccountExists },
  );
  t.is(moved?.field, 'phone');
});

forEngines(engines, 'a second registration of an organization, or of a live agent, is a conflict of its own kind', async (t, engine) => {
  const db = await idpDb(engine);
  const people = new NaturalPersonAccounts(db, cipher, blindIndex);
  const organizations = new LegalPersonAccounts(db, cipher, blindIndex);
  const rep = await people.register(person(), null);
  const agent = await people.register(person(), null);
  const uscc = syntheticUscc(randomDraw);
  const representative = { subject: rep.subject, name: rep.name, idNumberIndex: rep.idNumberIndex };
  const legal = await organizations.register({ uscc, orgName: '某公司', orgType: null, representative }, null);
  const again = await t.throwsAsync(organizations.register({ uscc, orgName: '某公司', orgType: null, representative }, null), {
    instanceOf: OrganizationExists,
  });
  t.like(again, { status: 409, code: 'organization_exists' });
  const mandate = {
    agentIndex: agent.idNumberIndex,
    agentName: agent.name,
    role: 'agent' as const,
    serviceCategories: ['tax' as const],
    expiresAt: null,
  };
  await organizations.authorize(legal, mandate, rep.subject);
  const twice = await t.throwsAsync(organizations.authorize(legal, mandate, rep.subject), { instanceOf: AgentAlreadyAuthorized });
  t.like(twice, { status: 409, code: 'agent_already_authorized' });
});

forEngines(
  engines,
  'a statement refused by a constraint keeps its connection: the next one does not wait for a new one',
  async (t, engine) => {
    const db = await idpDb(engine);
    await db.exec('CREATE TABLE probe_kept (a text PRIMARY KEY)');
    await db.query("INSERT INTO probe_kept VALUES ('1')");
    const backend = async () => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // Every connection of the pool made once, so that a new one would show as a new backend.
    const before = new Set(await Promise.all(Array.from({ length: 8 }, backend)));
    for (let i = 0; i < 3; i++) await t.throwsAsync(db.query("INSERT INTO probe_kept VALUES ('1')"));
    const after = await Promise.all(Array.from({ length: 8 }, backend));
    t.true(
      after.every((pid) => before.has(pid)),
      'no backend was started after the refusals',
    );
  },
);
