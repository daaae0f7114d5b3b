/**
 * A second home that slipped past register-once: the publication its superior refuses is kept as
 * a conflict (not retried for ever), audited, reported to the other home, listed by
 * `gov-id admin account conflicts`, and
 * resolved by the documented procedure: `close-duplicate` at the home that gives the person up
 * (then `retry-conflicts` where the conflict was kept, when it is not settled by itself).
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson, type Person } from '../helpers/flows.ts';
import { accountsOf, runCli, seedAccount } from '../helpers/integration-extra.ts';
import { opSite, registerAt } from '../helpers/recognition-sites.ts';
import { readAudit } from '../../infra/audit-log.ts';
import { enqueueRegistryPublication, type RegistryConflict } from '../../federation/registry-outbox.ts';
import { HomeRegistry } from '../../federation/registry-of-homes.ts';
import { CONFLICT_NOTICE_PATH } from '../../federation/registry-conflict-notices.ts';
import { postAsEntity } from '../../infra/entity-request.ts';

let fed: TestFederation;

test.before(async () => {
  fed = await startTestFederation(['gz', 'zj', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

const runtime = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime;
const cli = async (args: string[]) => {
  const r = await runCli([...args, '--topology', fed.topologyFile, '--data', fed.config.dataDir]);
  if (r.code !== 0) throw new Error(`gov-id ${args.join(' ')}: ${r.code} ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};
const conflictsAt = async (op: string) => (await cli(['admin', 'account', 'conflicts', '--entity', op])).conflicts as RegistryConflict[];
const nationalSays = (person: Person) =>
  new HomeRegistry(runtime('national').db, runtime('national').blindIndex).lookup('natural', person.id_number);

/** Polls the conflicts at `op` until `done` holds; the publisher delivers every two seconds. */
async function conflictsUntil(op: string, done: (c: RegistryConflict[]) => boolean): Promise<RegistryConflict[]> {
  for (let i = 0; i < 300; i++) {
    const conflicts = await conflictsAt(op);
    if (done(conflicts)) return conflicts;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the conflicts at ${op} never settled as expected`);
}

/** Registered at gz through the pages, and again at zj past register-once (an account and its publication, as a crash could leave them). */
async function twoHomes(): Promise<Person> {
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, 'Two-homes-1');
  const zj = runtime('zj');
  await seedAccount(fed, 'zj', person, 'Two-homes-2');
  await zj.db.transaction((tx) =>
    enqueueRegistryPublication(tx, zj, { kind: 'natural', identifier: person.id_number, home: fed.url('zj') }),
  );
  return person;
}

test.serial('the refused publication is kept as a conflict and audited; closing the duplicate settles it', async (t) => {
  const person = await twoHomes();
  const [conflict] = await conflictsUntil('zj', (c) => c.some((x) => x.identifier === person.id_number));
  t.like(conflict, { kind: 'natural', identifier: person.id_number, home: fed.url('zj'), existing_home: fed.url('gz') });
  const audit = await readAudit(runtime('zj').db, 50);
  t.like(audit.find((e) => e.event === 'registry.conflict')?.detail, { home: fed.url('zj'), existing_home: fed.url('gz') });
  t.true(
    (await readAudit(runtime('national').db, 50)).some(
      (e) => e.event === 'registry.refused' && (e.detail as { reason: string }).reason === 'home_conflict',
    ),
  );
  // The other home is told too: its operator reads it in its own audit log.
  let notice;
  for (let i = 0; i < 300 && !notice; i++) {
    notice = (await readAudit(runtime('gz').db, 50)).find((e) => e.event === 'registry.conflict_reported');
    if (!notice) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.like(notice?.detail, {
    kind: 'natural',
    identifier_index: accountsOf(fed, 'gz').idNumberIndex(person.id_number),
    home: fed.url('zj'),
    existing_home: fed.url('gz'),
    reported_by: fed.url('zj'),
  });
  const { rows } = await runtime('zj').db.query<{ attempts: number }>('SELECT attempts FROM registry_outbox WHERE conflict_at IS NOT NULL');
  t.deepEqual(rows, [{ attempts: 1 }], 'not retried');

  // The person keeps the account at gz: zj's ends as if moved there, and its side of the registry learns gz.
  t.like(await cli(['admin', 'account', 'close-duplicate', '--entity', 'zj', '--id-number', person.id_number, '--to', 'gz']), {
    closed: true,
    kept_at: fed.url('gz'),
  });
  await conflictsUntil('zj', (c) => c.length === 0);
  t.is(await accountsOf(fed, 'zj').movedTo(accountsOf(fed, 'zj').idNumberIndex(person.id_number)), fed.url('gz'));
  t.is(await nationalSays(person), fed.url('gz'));
  t.true((await readAudit(runtime('zj').db, 50)).some((e) => e.event === 'registry.conflict_resolved'));
});

test.serial('when the other home gives the person up, retry-conflicts delivers the kept publication', async (t) => {
  const person = await twoHomes();
  await conflictsUntil('zj', (c) => c.some((x) => x.identifier === person.id_number));
  // The person keeps the account at zj: gz's ends, and the registries on gz's side (gd, national) move to zj.
  await cli(['admin', 'account', 'close-duplicate', '--entity', 'gz', '--id-number', person.id_number, '--to', 'zj']);
  for (let i = 0; i < 300 && (await nationalSays(person)) !== fed.url('zj'); i++) await new Promise((resolve) => setTimeout(resolve, 200));
  t.is(await nationalSays(person), fed.url('zj'));
  t.is((await conflictsAt('zj')).length, 1, 'the conflict at zj stays until its operator retries');
  t.like(await cli(['admin', 'account', 'retry-conflicts', '--entity', 'zj']), { retried: 1 });
  await conflictsUntil('zj', (c) => c.length === 0);
  t.deepEqual((await runtime('zj').db.query('SELECT 1 FROM registry_outbox')).rows, []);
});

test('a conflict notice needs an OP of the federation as sender and must name the receiving OP as a home', async (t) => {
  const person = await newPerson(fed);
  const body = { kind: 'natural', identifier: person.id_number, home: fed.url('zj'), existing_home: fed.url('national') };
  const anonymous = await fetch(`${fed.url('gz')}${CONFLICT_NOTICE_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  t.is(anonymous.status, 401);
  const notMine = await postAsEntity({
    from: fed.url('zj'),
    key: runtime('zj').keyRing.signingKey(),
    to: fed.url('gz'),
    path: CONFLICT_NOTICE_PATH,
    body,
    timeoutMs: 10_000,
  });
  t.like(notMine, { status: 403, json: { error: 'not_a_home' } });
  const malformed = await postAsEntity({
    from: fed.url('zj'),
    key: runtime('zj').keyRing.signingKey(),
    to: fed.url('gz'),
    path: CONFLICT_NOTICE_PATH,
    body: { ...body, identifier: '123', existing_home: fed.url('gz') },
    timeoutMs: 10_000,
  });
  t.is(malformed.status, 400);
  t.false(
    (await readAudit(runtime('gz').db, 50)).some(
      (e) =>
        e.event === 'registry.conflict_reported' &&
        (e.detail as { home: string; existing_home: string }).existing_home === fed.url('national'),
    ),
  );
});
