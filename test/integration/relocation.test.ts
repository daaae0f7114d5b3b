/**
 * Relocation: a person registered at the city gz moves home to the unified province zj with
 * `gov-id admin account move`. The account leaves gz (which keeps only where it went and sends
 * its logins there), zj takes it with its credentials and keeps the subject its portals knew,
 * and the registry of homes follows on both sides, so logins anywhere reach the new home.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson } from '../helpers/flows.ts';
import { accountExists, accountsOf, runCli } from '../helpers/integration-extra.ts';
import { loginAt, opSite, organizationWithAgent, registerAt, type Site } from '../helpers/recognition-sites.ts';

let fed: TestFederation;
let gz: Site, sz: Site, zj: Site;

test.before(async () => {
  fed = await startTestFederation(['gz', 'sz', 'zj', 'registries']);
  [gz, sz, zj] = [opSite(fed, 'gz'), opSite(fed, 'sz'), opSite(fed, 'zj')];
});
test.after.always(async () => {
  await fed?.close();
});

const db = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime.db;
const cli = (args: string[]) => runCli([...args, '--topology', fed.topologyFile, '--data', fed.config.dataDir]);

test('an account moved from gz to zj logs in everywhere at its new home, keeping its subject at zj', async (t) => {
  const person = await newPerson(fed);
  const password = 'Moving-home-1';
  await registerAt(fed, gz, person, password);
  const before = await loginAt(new UserAgent(), zj, person.id_number, password);
  t.is(before.signedIn.home, fed.url('gz'));

  const moved = await cli(['admin', 'account', 'move', '--entity', 'gz', '--id-number', person.id_number, '--to', 'zj']);
  t.is(moved.code, 0, moved.stderr);
  t.like(JSON.parse(moved.stdout), { moved: true, to: fed.url('zj'), subject: before.signedIn.sub });

  // At zj the account is its own now: the password is typed on zj's page, and the subject is unchanged.
  const atZj = await loginAt(new UserAgent(), zj, person.id_number, password);
  t.true(atZj.passwordPage!.url.startsWith(fed.url('zj')));
  t.is(atZj.signedIn.sub, before.signedIn.sub);
  t.is(atZj.signedIn.home, fed.url('zj'));
  t.false(atZj.signedIn.recognized);

  // The old home sends its logins to the new one.
  const atGz = await loginAt(new UserAgent(), gz, person.id_number, password);
  t.true(atGz.passwordPage!.url.startsWith(fed.url('zj')), atGz.passwordPage!.url);
  t.is(atGz.signedIn.home, fed.url('zj'));
  t.true(atGz.signedIn.recognized);
  // So does gz's side of the registry (gd), once the move reached it.
  const atSz = await loginAt(new UserAgent(), sz, person.id_number, password);
  t.true(atSz.passwordPage!.url.startsWith(fed.url('zj')));

  // Never two homes: gz keeps a moved row without credentials.
  const { rows } = await db('gz').query<{ status: string; moved_to: string; password_hash: string }>(
    'SELECT status, moved_to, password_hash FROM natural_persons WHERE id_number_index = $1',
    [accountsOf(fed, 'gz').idNumberIndex(person.id_number)],
  );
  t.deepEqual(rows, [{ status: 'moved', moved_to: fed.url('zj'), password_hash: '' }]);
});

test('moving an account that is not there, or to an entity outside the federation, is refused and changes nothing', async (t) => {
  const person = await newPerson(fed);
  const missing = await cli(['admin', 'account', 'move', '--entity', 'gz', '--id-number', person.id_number, '--to', 'zj']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /no active account/);
  await registerAt(fed, gz, person, 'Staying-put-1');
  const toServices = await cli(['admin', 'account', 'move', '--entity', 'gz', '--id-number', person.id_number, '--to', 'registries']);
  t.is(toServices.code, 2);
  t.regex(toServices.stderr, /accounts live at OPs/);
  const { rows } = await db('gz').query<{ status: string }>('SELECT status FROM natural_persons WHERE id_number_index = $1', [
    accountsOf(fed, 'gz').idNumberIndex(person.id_number),
  ]);
  t.deepEqual(rows, [{ status: 'active' }]);
  const still = await loginAt(new UserAgent(), gz, person.id_number, 'Staying-put-1');
  t.is(still.signedIn.home, fed.url('gz'));
});

async function accountArea(ua: UserAgent, op: string, identifier: string, password: string) {
  const login = await ua.navigate(`${fed.url(op)}/account`);
  return ua.submit(await ua.submit(login, '/identifier', { identifier }), '/password', { password });
}

test('a person moves their own account from the account area, after giving the password again', async (t) => {
  const person = await newPerson(fed);
  const password = 'Self-move-1';
  await registerAt(fed, gz, person, password);
  const ua = new UserAgent();
  const account = await accountArea(ua, 'gz', person.id_number, password);
  t.regex(account.html, /迁移账号注册地/);
  t.regex(account.html, /浙江政务服务网/);
  const wrong = await ua.submit(account, '/account/move', { home: fed.url('zj'), password: 'Not-the-pass1' });
  t.is(wrong.status, 401);
  t.false(await accountExists(fed, 'zj', person.id_number));
  const unknown = await ua.submit(account, '/account/move', { home: 'http://127.0.0.1:1', password });
  t.is(unknown.status, 400);
  const moved = await ua.submit(account, '/account/move', { home: fed.url('zj'), password });
  t.is(moved.status, 200);
  t.regex(moved.html, /您的账号已迁至“浙江政务服务网”/);
  t.true(await accountExists(fed, 'zj', person.id_number));
  // Signed out at gz by the move; logins at gz now go to zj.
  const again = await loginAt(new UserAgent(), gz, person.id_number, password);
  t.true(again.passwordPage!.url.startsWith(fed.url('zj')));
});

test('a person who acts for an organization of the old home cannot move before handing that over', async (t) => {
  const { agent } = await organizationWithAgent(fed, gz, 'Org-stays-1');
  const ua = new UserAgent();
  const account = await accountArea(ua, 'gz', agent.id_number, 'Org-stays-1');
  const refused = await ua.submit(account, '/account/move', { home: fed.url('zj'), password: 'Org-stays-1' });
  t.is(refused.status, 409);
  t.regex(refused.html, /请先移交或撤销这些授权/);
  t.false(await accountExists(fed, 'zj', agent.id_number));
  const still = await loginAt(new UserAgent(), gz, agent.id_number, 'Org-stays-1');
  t.is(still.signedIn.home, fed.url('gz'));
});

test('a move cut off on its way (the account stopped for zj) completes when asked again, and goes nowhere else', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, gz, person, 'Cut-off-1');
  // As a crash leaves it right after gz stopped the account for its move to zj.
  await accountsOf(fed, 'gz').beginMove(person.id_number, fed.url('zj'));
  const elsewhere = await cli(['admin', 'account', 'move', '--entity', 'gz', '--id-number', person.id_number, '--to', 'sz']);
  t.is(elsewhere.code, 2);
  t.regex(elsewhere.stderr, /409 move_under_way/);
  t.false(await accountExists(fed, 'sz', person.id_number));
  const again = await cli(['admin', 'account', 'move', '--entity', 'gz', '--id-number', person.id_number, '--to', 'zj']);
  t.is(again.code, 0, again.stderr);
  t.true(await accountExists(fed, 'zj', person.id_number));
  const done = await cli(['admin', 'account', 'move', '--entity', 'gz', '--id-number', person.id_number, '--to', 'zj']);
  t.is(done.code, 2);
  t.regex(done.stderr, /409 already_moved/);
});
