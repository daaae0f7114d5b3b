/**
 * Single sign-on and single logout across tiers, and register once. After one cross-tier login
 * the brokers hold sessions: the next visit to any other platform asks for no password (unless
 * the relying party insists with prompt=login), and a logout at any platform ends the sessions
 * along the chain and reaches the relying parties by back-channel logout. A person registered
 * anywhere who tries to register again elsewhere is told where, and offered to log in instead.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent, findForm } from '../helpers/user-agent.ts';
import { newPerson, latestOtp, REDIRECT_URI, throughConsent, type Person } from '../helpers/flows.ts';
import { loginAt, opSite, portalSite, registerAt, type Site } from '../helpers/recognition-sites.ts';
import { readAudit } from '../../infra/audit-log.ts';
import { accountExists } from '../helpers/integration-extra.ts';
import { until } from '../helpers/until.ts';

let fed: TestFederation;
let gz: Site, sz: Site, zj: Site, nj: Site, national: Site;

test.before(async () => {
  fed = await startTestFederation(['national', 'gd', 'gz', 'sz', 'js', 'zj', 'registries', 'nj']);
  [gz, sz, zj, nj, national] = [opSite(fed, 'gz'), opSite(fed, 'sz'), opSite(fed, 'zj'), portalSite(fed, 'nj'), opSite(fed, 'national')];
});

test.after.always(async () => {
  await fed?.close();
});

async function registered(site: Site, password: string): Promise<Person> {
  const person = await newPerson(fed);
  await registerAt(fed, site, person, password);
  return person;
}

const signedInAtPortal = async (ua: UserAgent) => /action="\/logout"/.test((await ua.navigate(`${fed.url('nj')}/`)).html);

test('after one cross-tier login, other platforms in any province log the person in without a password', async (t) => {
  const password = 'Sso-pass-1';
  const person = await registered(gz, password);
  const ua = new UserAgent();
  const first = await loginAt(ua, zj, person.id_number, password);
  t.truthy(first.passwordPage);
  t.is(first.signedIn.home, fed.url('gz'));

  // sz is gz's neighbour city: the gd broker holds a session.
  const second = await loginAt(ua, sz, person.id_number, null);
  t.is(second.passwordPage, null);
  t.is(second.signedIn.home, fed.url('gz'));
  t.true(second.signedIn.recognized);
  // js (through the nj portal): the national broker holds a session.
  const third = await loginAt(ua, nj, person.id_number, null);
  t.is(third.passwordPage, null);
  t.is(third.signedIn.home, fed.url('gz'));
  t.true(third.signedIn.recognized);
});

test('prompt=login and max_age=0 make the home ask for the password again', async (t) => {
  const password = 'Sso-pass-2';
  const person = await registered(gz, password);
  const ua = new UserAgent();
  await loginAt(ua, zj, person.id_number, password);
  const forced = await loginAt(ua, national, person.id_number, password, { prompt: 'login' });
  t.truthy(forced.passwordPage);
  t.true(forced.passwordPage!.url.startsWith(fed.url('gz')));
  const aged = await loginAt(ua, sz, person.id_number, password, { max_age: '0' });
  t.truthy(aged.passwordPage);
});

test('a broker session of one person is not used for another person in the same browser', async (t) => {
  const a = await registered(gz, 'Sso-pass-3a');
  const b = await registered(gz, 'Sso-pass-3b');
  const ua = new UserAgent();
  await loginAt(ua, zj, a.id_number, 'Sso-pass-3a');
  const other = await loginAt(ua, sz, b.id_number, 'Sso-pass-3b');
  t.truthy(other.passwordPage);
  t.is(other.signedIn.name, b.name);
});

test('logging out at one platform ends the sessions along the chain and notifies the portals by back-channel logout', async (t) => {
  const password = 'Slo-pass-1';
  const person = await registered(gz, password);
  const ua = new UserAgent();
  const atZj = await loginAt(ua, zj, person.id_number, password);
  await loginAt(ua, sz, person.id_number, null);
  await loginAt(ua, nj, person.id_number, null);
  t.true(await signedInAtPortal(ua));

  // RP-initiated logout at zj, confirmed on zj's page.
  const confirm = await ua.navigate(`${fed.url('zj')}/session/end?id_token_hint=${atZj.signedIn.idToken}`);
  const done = await ua.submit(confirm, '/session/end/confirm', { logout: 'yes' });
  t.is(done.status, 200);

  // The nj portal (relying party of js, whose session came through national) learns it by back-channel logout.
  await until(async () => !(await signedInAtPortal(ua)), 'the portal session to end');
  // The logout reached the home (gz) before zj answered.
  const gzDb = fed.host.entities.find((e) => e.entity.id === 'gz')!.runtime.db;
  t.true((await readAudit(gzDb, 200)).some((e) => e.event === 'logout.from_downstream'));
  // Every broker session is gone: the next login anywhere asks for the password at home.
  const again = await loginAt(ua, sz, person.id_number, password);
  t.truthy(again.passwordPage);
  // Logged in again: single sign-on works again (the ended sessions do not keep asking).
  const after = await loginAt(ua, zj, person.id_number, null);
  t.is(after.passwordPage, null);
});

test('a person registered at one platform who registers again elsewhere is told where, and can log in there instead', async (t) => {
  const password = 'Once-pass-1';
  const person = await registered(gz, password);
  const ua = new UserAgent();
  const login = await zj.start(ua);
  const registerPage = await ua.navigate(
    new URL(/href="([^"]*\/register[^"]*)"/.exec(login.page.html)![1]!.replace(/&amp;/g, '&'), login.page.url).toString(),
  );
  const { action, hidden } = findForm(registerPage.html, '/register');
  const sent = await ua.navigate(new URL(`${action}/otp`, registerPage.url).toString(), { form: { ...hidden, phone: person.phone } });
  const otp = await latestOtp(fed, person.phone);
  const refused = await ua.submit(sent, '/register', {
    name: person.name,
    id_number: person.id_number,
    phone: person.phone,
    otp,
    password: 'Another-pass-1',
  });
  t.is(refused.status, 409);
  t.regex(refused.html, /已在“广州市政务服务网”注册/);
  // No account was created at zj.
  t.false(await accountExists(fed, 'zj', person.id_number));
  // 用已有账号登录: straight to the home's password page.
  const home = await ua.submit(refused, '/identifier', {});
  t.true(home.url.startsWith(fed.url('gz')), home.url);
  t.regex(home.html, /name="password"/);
});

test('a person who would rather not give the identifier at the visited platform chooses the platform of the account instead', async (t) => {
  const password = 'Chooser-pass-1';
  const person = await registered(gz, password);
  const ua = new UserAgent();
  const login = await zj.start(ua);
  const link = /href="([^"]*\/regions[^"]*)"/.exec(login.page.html)![1]!.replace(/&amp;/g, '&');
  const chooser = await ua.navigate(new URL(link, login.page.url).toString());
  t.regex(chooser.html, /选择账号注册地/);
  t.regex(chooser.html, /广州市政务服务网/);
  t.notRegex(chooser.html, /value="[^"]*"[^>]*> 浙江政务服务网/, 'the visited platform itself is not offered');
  const unknown = await ua.submit(chooser, '/regions', { home: 'http://127.0.0.1:1' });
  t.is(unknown.status, 400);
  // At gz's own identifier page: the ID number is typed at home only.
  const atHome = await ua.submit(chooser, '/regions', { home: fed.url('gz') });
  t.true(atHome.url.startsWith(fed.url('gz')), atHome.url);
  t.regex(atHome.html, /name="identifier"/);
  const pw = await ua.submit(atHome, '/identifier', { identifier: person.id_number });
  const last = await throughConsent(ua, await ua.submit(pw, '/password', { password }, REDIRECT_URI));
  const signedIn = await login.complete(last);
  t.is(signedIn.home, fed.url('gz'));
  t.true(signedIn.recognized);
});

test("a recognized person opening the visited platform's account area is sent to the home's", async (t) => {
  const password = 'Account-area-1';
  const person = await registered(zj, password);
  const ua = new UserAgent();
  const area = await ua.navigate(`${fed.url('gz')}/account`);
  const pw = await ua.submit(area, '/identifier', { identifier: person.id_number });
  t.true(pw.url.startsWith(fed.url('zj')));
  const back = await ua.submit(pw, '/password', { password });
  t.is(back.url, `${fed.url('gz')}/account`);
  t.regex(back.html, /您的账号注册在“浙江政务服务网”/);
  t.regex(back.html, new RegExp(`href="${fed.url('zj')}/account"`));
});

test('a request for a higher level than the sessions along the chain hold asks the home to authenticate again', async (t) => {
  const password = 'Acr-pass-1';
  const person = await registered(gz, password);
  const ua = new UserAgent();
  await loginAt(ua, zj, person.id_number, password);
  const sso = await loginAt(ua, sz, person.id_number, null);
  t.is(sso.passwordPage, null);
  // The sessions hold loa1; loa2 is asked for.
  const higher = await loginAt(ua, national, person.id_number, password, { acr_values: 'urn:gov-id:loa:2' });
  t.truthy(higher.passwordPage);
  t.true(higher.passwordPage!.url.startsWith(fed.url('gz')));
});

test('a person whose home the registry learned only after the identifier step is sent home instead of being told the password is wrong', async (t) => {
  const person = await newPerson(fed);
  const ua = new UserAgent();
  // The identifier is given at zj before the person registered anywhere: zj's own password page.
  const login = await zj.start(ua);
  const pw = await ua.submit(login.page, '/identifier', { identifier: person.id_number });
  t.true(pw.url.startsWith(fed.url('zj')));
  await registerAt(fed, gz, person, 'Late-home-1');
  const next = await ua.submit(pw, '/password', { password: 'Late-home-1' });
  t.true(next.url.startsWith(fed.url('gz')), next.url);
  t.regex(next.html, /name="password"/);
});

test('a visited platform asks for the identifier first and refuses a password posted with it: the password is given at home only', async (t) => {
  const password = 'Typed-here-1';
  const person = await registered(gz, password);
  const ua = new UserAgent();
  const login = await zj.start(ua);
  t.notRegex(login.page.html, /name="password"/);
  const refused = await ua.submit(login.page, '/identifier', { identifier: person.id_number, password });
  t.is(refused.status, 400);
  t.true(refused.url.startsWith(fed.url('zj')), refused.url);
  t.regex(refused.html, /密码在下一步、您账号所在的平台输入/);
  // The identifier alone sends the person home, where the password is asked for.
  const home = await ua.submit(refused, '/identifier', { identifier: person.id_number });
  t.true(home.url.startsWith(fed.url('gz')), home.url);
  t.regex(home.html, /name="password"/);
  const signedIn = await login.complete(await throughConsent(ua, await ua.submit(home, '/password', { password }, REDIRECT_URI)));
  t.is(signedIn.home, fed.url('gz'));
});
