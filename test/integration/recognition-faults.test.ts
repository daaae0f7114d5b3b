/**
 * Faults on the way of a cross-tier login. A home that is down or slow: the visited OP says so
 * within a bounded time and other logins go on. A registry entry pointing outside the federation,
 * a routing loop, a tampered, mixed-up or replayed answer, an answer brought to another browser,
 * an OP asserting a level above its trust mark: refused, with the reason in the audit log. A registration whose registry
 * publication fails leaves neither an account nor an entry.
 */
import test from 'ava';
import { createServer, type Server } from 'node:net';
import Koa from 'koa';
import { startTestFederation, freePort, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, relyingParty, REDIRECT_URI } from '../helpers/flows.ts';
import { accountsOf, seededPerson } from '../helpers/integration-extra.ts';
import { loginAt, opSite, registerAt, type Site } from '../helpers/recognition-sites.ts';
import { readAudit } from '../../infra/audit-log.ts';
import { generateKey } from '../../infra/entity-keys.ts';
import { hashPassword } from '../../idp/accounts/password.ts';
import { HomeRegistry } from '../../federation/registry-of-homes.ts';
import { signEntityConfiguration } from '../../federation/entity-configuration.ts';
import { listen } from '../../infra/http-server.ts';
import { NaturalPersonAccounts } from '../../idp/accounts/natural-person-accounts.ts';

let fed: TestFederation;
let gz: Site, zj: Site;

test.before(async () => {
  // sz is in the topology (gd lists it) but not running: a home that is down.
  fed = await startTestFederation(['gz', 'zj', 'registries']);
  [gz, zj] = [opSite(fed, 'gz'), opSite(fed, 'zj')];
});
test.after.always(async () => {
  await fed?.close();
});

const runtime = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime;
const refusals = async (id: string) =>
  (await readAudit(runtime(id).db, 200))
    .filter((e) => e.event === 'recognition.refused')
    .map((e) => (e.detail as { reason: string }).reason);

/** Makes the registries of national and gd say that this person's home is `home`. */
async function homeSaysRegistry(idNumber: string, home: string) {
  for (const id of ['national', 'gd']) {
    const r = runtime(id);
    await r.db.transaction((tx) =>
      new HomeRegistry(r.db, r.blindIndex).record(tx, { kind: 'natural', identifier: idNumber, home, via: r.self.url }),
    );
  }
}

async function identifierAtZj(ua: UserAgent, idNumber: string) {
  const login = await zj.start(ua);
  return ua.submit(login.page, '/identifier', { identifier: idNumber });
}

test.serial('a home that is down: the visited OP says so at once, and the refusal is audited', async (t) => {
  const person = await newPerson(fed);
  await homeSaysRegistry(person.id_number, fed.url('sz'));
  const started = Date.now();
  const page = await identifierAtZj(new UserAgent(), person.id_number);
  t.is(page.status, 503);
  t.regex(page.html, /您的账号注册地平台暂时无法访问/);
  t.true(Date.now() - started < 5000);
  t.true((await refusals('zj')).includes('home_unavailable'));
});

test.serial('a home that does not answer: the message comes within the bounded time while other logins go on', async (t) => {
  const sockets: import('node:net').Socket[] = [];
  const hanging: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => hanging.listen(fed.topology.get('sz').port, '127.0.0.1', resolve));
  try {
    const person = await newPerson(fed);
    await homeSaysRegistry(person.id_number, fed.url('sz'));
    const local = await seededPerson(fed, 'zj', 'Local-pass-1');
    const started = Date.now();
    const slow = identifierAtZj(new UserAgent(), person.id_number).then((page) => ({ page, ms: Date.now() - started }));
    // Meanwhile a person of zj itself logs in as usual.
    const other = await loginAt(new UserAgent(), zj, local.id_number, 'Local-pass-1');
    const otherMs = Date.now() - started;
    t.is(other.signedIn.home, fed.url('zj'));
    const { page, ms } = await slow;
    t.is(page.status, 503);
    t.regex(page.html, /暂时无法访问/);
    t.true(ms < 10_000, `answered in ${ms} ms`);
    t.true(otherMs < ms, 'the local login did not wait for the slow home');
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => hanging.close(resolve));
  }
});

test('a registry entry pointing at an entity outside the federation is refused, with the reason audited', async (t) => {
  // A well-formed entity claiming national as its superior, which national never listed.
  const port = await freePort();
  const stranger = `http://127.0.0.1:${port}`;
  const key = await generateKey('ES256');
  const app = new Koa();
  app.use(async (ctx) => {
    ctx.type = 'application/entity-statement+jwt';
    ctx.body = await signEntityConfiguration({
      entityId: stranger,
      keys: [key],
      metadata: { openid_provider: { issuer: stranger } },
      authorityHints: [fed.url('national')],
    });
  });
  const server = await listen(app.callback(), port);
  try {
    const person = await newPerson(fed);
    await homeSaysRegistry(person.id_number, stranger);
    const page = await identifierAtZj(new UserAgent(), person.id_number);
    t.is(page.status, 403);
    t.regex(page.html, /跨地区登录未能完成（home_untrusted）/);
    t.true((await refusals('zj')).includes('home_untrusted'));
  } finally {
    await server.close();
  }
});

test('a request that already went through a broker is refused there as a routing loop', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, gz, person, 'Loop-pass-1');
  const rp = await relyingParty(fed, 'gd');
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { login_hint: person.id_number, recognition_route: `${fed.url('zj')} ${fed.url('gd')}` }, true);
  t.true(a.page.url.startsWith(REDIRECT_URI), a.page.url);
  const answer = new URL(a.page.url).searchParams;
  t.is(answer.get('error'), 'access_denied');
  t.regex(answer.get('error_description') ?? '', /already went through/);
  t.true((await refusals('gd')).includes('route_loop'));
});

/** Drives a cross-tier login at zj up to the moment the answer comes back to zj, and returns that URL. */
async function answerAtZj(ua: UserAgent, idNumber: string, password: string): Promise<string> {
  const pw = await identifierAtZj(ua, idNumber);
  const callback = await ua.submit(pw, '/password', { password }, `${fed.url('zj')}/broker/callback`);
  if (!callback.url.startsWith(`${fed.url('zj')}/broker/callback`)) throw new Error(`the answer did not come back to zj: ${callback.url}`);
  return callback.url;
}

test('a tampered, mixed-up or replayed answer is refused at the hop that receives it', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, gz, person, 'Tamper-pass-1');

  const ua1 = new UserAgent();
  const mixedUp = new URL(await answerAtZj(ua1, person.id_number, 'Tamper-pass-1'));
  mixedUp.searchParams.set('iss', fed.url('gd'));
  const refused1 = await ua1.navigate(mixedUp.toString(), {}, REDIRECT_URI);
  t.is(refused1.status, 403);
  t.regex(refused1.html, /invalid_response/);

  const ua2 = new UserAgent();
  const tampered = new URL(await answerAtZj(ua2, person.id_number, 'Tamper-pass-1'));
  tampered.searchParams.set('code', `${tampered.searchParams.get('code')}x`);
  const refused2 = await ua2.navigate(tampered.toString(), {}, REDIRECT_URI);
  t.is(refused2.status, 403);

  const ua3 = new UserAgent();
  const good = await answerAtZj(ua3, person.id_number, 'Tamper-pass-1');
  const accepted = await ua3.navigate(good, {}, REDIRECT_URI);
  t.not(accepted.status, 403);
  const replayed = await ua3.navigate(good, {}, REDIRECT_URI);
  t.is(replayed.status, 400);
  t.regex(replayed.html, /session_expired/);
  const reasons = await refusals('zj');
  t.true(reasons.filter((r) => r === 'invalid_response').length >= 2);
});

test('an answer brought to another browser than the one that started the hop is refused there, and stays good in the one that did', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, gz, person, 'Inject-pass-1');
  const started = new UserAgent();
  const answer = await answerAtZj(started, person.id_number, 'Inject-pass-1');
  // A code injected into another browser, one with a login of its own under way at zj.
  const other = new UserAgent();
  await identifierAtZj(other, person.id_number);
  const injected = await other.navigate(answer, {}, REDIRECT_URI);
  t.is(injected.status, 400);
  t.regex(injected.html, /session_expired/);
  // The person's first visit of the portal: signed in at zj, on to the consent page.
  const accepted = await started.navigate(answer, {}, REDIRECT_URI);
  t.is(accepted.status, 200);
  t.regex(accepted.url, /\/interaction\/[^/]+\/consent/);
});

test('a hop in the middle of a route goes on from inside the authorization request, without its interaction pages', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, gz, person, 'Ahead-pass-1');
  const ua = new UserAgent();
  const login = await zj.start(ua);
  const atNational = await ua.submit(login.page, '/identifier', { identifier: person.id_number }, `${fed.url('national')}/auth`);
  // national and gd: the pushed request names the person and the home; each sends the browser straight on.
  const national = await ua.request(atNational.url);
  t.is(national.status, 303);
  const toGd = new URL(national.headers.get('location')!, atNational.url).href;
  t.true(toGd.startsWith(`${fed.url('gd')}/auth?`), toGd);
  const gd = await ua.request(toGd);
  t.is(gd.status, 303);
  const toGz = new URL(gd.headers.get('location')!, toGd).href;
  t.true(toGz.startsWith(`${fed.url('gz')}/auth?`), toGz);
  // The home has pages to show: the password.
  const gzAuth = await ua.request(toGz);
  t.regex(gzAuth.headers.get('location') ?? '', /^\/interaction\//);
  const passwordPage = await ua.navigate(toGz);
  const answer = await ua.submit(passwordPage, '/password', { password: 'Ahead-pass-1' }, `${fed.url('zj')}/broker/callback`);
  t.true(answer.url.startsWith(`${fed.url('zj')}/broker/callback?`), answer.url);
  const signedIn = await ua.navigate(answer.url, {}, REDIRECT_URI);
  t.regex(signedIn.url, /\/interaction\/[^/]+\/consent/);
});

test('an OP asserting a level above its real-name-op trust mark is refused by the next hop', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, gz, person, 'Loa-pass-1');
  // gz's mark allows loa2 (a city); this account claims loa3.
  const gzAccounts = accountsOf(fed, 'gz');
  await runtime('gz').db.query("UPDATE natural_persons SET loa = 'loa3' WHERE id_number_index = $1", [
    gzAccounts.idNumberIndex(person.id_number),
  ]);
  const ua = new UserAgent();
  const pw = await identifierAtZj(ua, person.id_number);
  const page = await ua.submit(pw, '/password', { password: 'Loa-pass-1' }, REDIRECT_URI);
  t.is(page.status, 403);
  t.true(page.url.startsWith(fed.url('zj')));
  t.regex(page.html, /跨地区登录未能完成/);
  t.true((await refusals('gd')).includes('loa_above_trust_mark'));
});

test('a registration whose registry publication fails leaves neither an account nor an outbox entry', async (t) => {
  const person = await newPerson(fed);
  const r = runtime('gz');
  const failing = new NaturalPersonAccounts(r.db, r.cipher, r.blindIndex, {
    inTransaction: async (tx) => {
      await tx.query("INSERT INTO registry_outbox (kind, identifier_index, identifier_enc, home) VALUES ('natural', 'x', 'x', 'x')");
      throw new Error('crash in the middle of the registration');
    },
    committed: () => undefined,
  });
  await t.throwsAsync(
    failing.register(
      { name: person.name, idNumber: person.id_number, phone: person.phone, passwordHash: await hashPassword('Crash-pass-1'), loa: 'loa1' },
      null,
    ),
    { message: /crash/ },
  );
  const accounts = await r.db.query('SELECT 1 FROM natural_persons WHERE id_number_index = $1', [failing.idNumberIndex(person.id_number)]);
  t.is(accounts.rows.length, 0);
  const outbox = await r.db.query("SELECT 1 FROM registry_outbox WHERE identifier_index = 'x'");
  t.is(outbox.rows.length, 0);
});

test('two first logins of one person at once, in two browsers, leave one recognized account', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, gz, person, 'Twice-pass-1');
  const [a, b] = await Promise.all([
    loginAt(new UserAgent(), zj, person.id_number, 'Twice-pass-1'),
    loginAt(new UserAgent(), zj, person.id_number, 'Twice-pass-1'),
  ]);
  t.is(a.signedIn.sub, b.signedIn.sub);
  const { rows } = await runtime('zj').db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM recognized_accounts WHERE identifier_index = $1',
    [accountsOf(fed, 'zj').idNumberIndex(person.id_number)],
  );
  t.is(rows[0]!.n, 1);
});
