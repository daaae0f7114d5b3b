/**
 * Two instances of one OP (gd) on the same PostgreSQL and Redis, as `gov-id serve --workers 2` or
 * two containers behind a proxy run it: each its own process state (database pool, Redis
 * connection, caches), nothing shared but the two stores. gd's URL is a proxy's (the topology's
 * `url`, as a deployment behind nginx has it) that sends every request to the other instance than
 * the one before: the browser's, the relying party's and the other entities' back-channel calls
 * alike, so each step of a login, a refresh, a logout and a cross-tier login through gd is
 * answered by a different instance than the step before it.
 * Needs DATABASE_URL and REDIS_URL (the embedded defaults belong to one process).
 */
import test from 'ava';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { listen, type Listener } from '../../infra/http-server.ts';
import { startHost, type Host } from '../../cli/entity-host.ts';
import { freePort, startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import {
  authorize,
  logOut,
  newPerson,
  oidc,
  passwordLogin,
  POST_LOGOUT_URI,
  redeem,
  relyingParty,
  type RelyingParty,
} from '../helpers/flows.ts';
import { seededPerson } from '../helpers/integration-extra.ts';
import { loginAt, opSite, registerAt } from '../helpers/recognition-sites.ts';

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
const PASSWORD = 'Two-instances-1';

let fed: TestFederation;
let second: Host;
let proxy: Listener | undefined;
let rp: RelyingParty;
/** Every request the proxy passed to gd: which instance answered it (0 the federation's, 1 the second), and what it was. */
const served: { instance: number; method: string; path: string }[] = [];
/** The instances' ports, in turn; the second joins once it listens. */
const instances: number[] = [];

/** Headers that describe one connection, not the request or answer passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);
const passedOn = (headers: IncomingHttpHeaders) => Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

/**
 * A reverse proxy on 127.0.0.1:`port` taking turns among `instances` at every request, the Host
 * header kept (hence the URLs oidc-provider builds stay gd's).
 */
async function alternatingProxy(port: number): Promise<Listener> {
  let next = 0;
  return listen((req, res) => {
    const instance = next++ % instances.length;
    served.push({ instance, method: req.method!, path: req.url!.split('?')[0]! });
    const upstream = httpRequest(
      { host: '127.0.0.1', port: instances[instance], method: req.method, path: req.url, headers: passedOn(req.headers) },
      (answer) => {
        res.writeHead(answer.statusCode!, passedOn(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  }, port);
}

test.before(async () => {
  if (!shared) return;
  const proxyPort = await freePort();
  // gd (province) as a broker between zj and the city gz; its URL is the proxy's.
  fed = await startTestFederation(['gz', 'zj', 'registries'], {
    edit: (raw) => {
      const gd = (raw.provinces as { code: string; port: number; url?: string }[]).find((p) => p.code === 'gd')!;
      gd.url = `http://127.0.0.1:${proxyPort}`;
      instances.push(gd.port);
    },
    prepare: async () => {
      proxy = await alternatingProxy(proxyPort);
    },
  });
  const port = await freePort();
  second = await startHost({ ...fed.config, topology: fed.topology, demo: true, port, log: fed.host.entities[0]!.runtime.log }, ['gd']);
  instances.push(port);
  rp = await relyingParty(fed, 'gd', { post_logout_redirect_uris: [POST_LOGOUT_URI] });
});

test.after.always(async () => {
  await second?.close();
  await fed?.close();
  await proxy?.close();
});

/** How many requests each instance answered since `from` (an index into `served`). */
const answeredSince = (from: number) => [0, 1].map((i) => served.slice(from).filter((r) => r.instance === i).length);

const maybe = shared ? test.serial : test.skip;
const skipped = shared ? '' : ' (skipped: DATABASE_URL and REDIS_URL are not both set)';

maybe(`a login, refreshes, single sign-on and a logout whose requests alternate between two instances${skipped}`, async (t) => {
  const person = await seededPerson(fed, 'gd', PASSWORD);
  const before = served.length;
  // Login: the authorization, its pages, the password, the code and its redemption.
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const tokens = await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
  t.is(tokens.claims()!.name, person.name);
  const answered = answeredSince(before);
  t.true(answered[0]! >= 3 && answered[1]! >= 3, `both instances answered the login: ${answered.join(' / ')}`);
  const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()!.sub);
  t.is(info.name, person.name, 'an access token issued by one instance works at the other');

  // Refreshes: each rotation on the other instance.
  const r1 = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  const r2 = await oidc.refreshTokenGrant(rp.config, r1.refresh_token!);
  t.not(r2.refresh_token, r1.refresh_token);
  t.is(r2.claims()!.sub, tokens.claims()!.sub);

  // Single sign-on: the browser's session, made by one instance, is known to the other.
  const again = await authorize(rp, ua);
  t.true(again.page.url.startsWith('http://127.0.0.1:9/callback'), `no login page: ${again.page.url}`);
  const sso = await redeem(rp, again.page, again);
  t.is(sso.claims()!.sub, tokens.claims()!.sub);

  // Logout: asked at one instance, confirmed at the other; then neither knows the session.
  const out = await logOut(rp, ua, sso.id_token!);
  t.true(out.url.startsWith(POST_LOGOUT_URI), out.url);
  const afterLogout = await authorize(rp, ua);
  t.false(afterLogout.page.url.startsWith('http://127.0.0.1:9/callback'), 'logged out at both instances: the login page again');
  t.regex(afterLogout.page.html, /name="identifier"/);
  const refreshAfterLogout = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(rp.config, r2.refresh_token!));
  t.is(refreshAfterLogout?.error, 'invalid_grant', "the session's grant ended with it");
});

maybe(`a refresh token used at one instance is a replay at the other, and revokes the grant for both${skipped}`, async (t) => {
  const person = await seededPerson(fed, 'gd', PASSWORD);
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const tokens = await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
  const r1 = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  const replay = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
  t.is(replay?.error, 'invalid_grant');
  const revoked = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(rp.config, r1.refresh_token!));
  t.is(revoked?.error, 'invalid_grant', 'the successor died with the grant');
});

maybe(`concurrent refreshes of one token at both instances: at most one rotates${skipped}`, async (t) => {
  const person = await seededPerson(fed, 'gd', PASSWORD);
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const tokens = await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
  const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)));
  const rotated = outcomes.filter((o) => o.status === 'fulfilled');
  t.true(rotated.length <= 1, `${rotated.length} of 6 concurrent refreshes rotated`);
  for (const o of outcomes) if (o.status === 'rejected') t.is((o.reason as oidc.ResponseBodyError).error, 'invalid_grant');
});

maybe(
  `a cross-tier login through gd: its pages and its neighbours' back-channel calls alternate between the instances${skipped}`,
  async (t) => {
    const person = await newPerson(fed);
    await registerAt(fed, opSite(fed, 'gz'), person, PASSWORD);
    const before = served.length;
    // zj → national → gd → gz: at gd the browser's authorization, the callback from gz and the
    // resumed authorization, and national's pushed request and code redemption.
    const { signedIn, passwordPage } = await loginAt(new UserAgent(), opSite(fed, 'zj'), person.id_number, PASSWORD);
    t.is(signedIn.home, fed.url('gz'));
    t.true(signedIn.recognized);
    t.true(passwordPage?.url.startsWith(fed.url('gz')), 'the password was given at home');
    const atGd = served.slice(before);
    const answered = answeredSince(before);
    t.true(answered[0]! >= 2 && answered[1]! >= 2, `both instances answered the login: ${answered.join(' / ')}`);
    for (const [method, path] of [
      ['POST', '/request'],
      ['GET', '/auth'],
      ['GET', '/broker/callback'],
      ['POST', '/token'],
    ])
      t.true(
        atGd.some((r) => r.method === method && r.path === path),
        `${method} ${path} went to gd through the proxy: ${atGd.map((r) => `${r.method} ${r.path}`).join(', ')}`,
      );
  },
);
