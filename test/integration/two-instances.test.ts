/**
 * Two instances of one OP (gd) on the same PostgreSQL and Redis, as `gov-id serve --workers 2` or
 * two containers behind a proxy run it: each its own process state (database pool, Redis
 * connection, caches), nothing shared but the two stores. Every request to gd, the browser's and
 * the relying party's alike, goes to the other instance than the one before, so each step of a
 * login, a refresh and a logout is answered by a different instance than the step before it.
 * Needs DATABASE_URL and REDIS_URL (the embedded defaults belong to one process).
 */
import test from 'ava';
import { request as httpRequest } from 'node:http';
import { startHost, type Host } from '../../cli/entity-host.ts';
import { freePort, startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, logOut, oidc, passwordLogin, POST_LOGOUT_URI, redeem, relyingParty, type RelyingParty } from '../helpers/flows.ts';
import { seededPerson } from '../helpers/integration-extra.ts';

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
const PASSWORD = 'Two-instances-1';

let fed: TestFederation;
let second: Host;
let rp: RelyingParty;
const realFetch = globalThis.fetch;
/** Requests to gd answered by each instance: [the federation's, the second]. */
const served = [0, 0];

test.before(async () => {
  if (!shared) return;
  fed = await startTestFederation(['gd', 'registries']);
  const gd = fed.topology.get('gd');
  const port = await freePort();
  second = await startHost({ ...fed.config, topology: fed.topology, demo: true, port, log: fed.host.entities[0]!.runtime.log }, ['gd']);
  let next = 0;
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== new URL(gd.url).origin) return realFetch(request);
    const instance = next++ % 2;
    served[instance]!++;
    return instance === 0 ? realFetch(request) : viaPort(request, port);
  };
  rp = await relyingParty(fed, 'gd', { post_logout_redirect_uris: [POST_LOGOUT_URI] });
});

/**
 * `request` sent to another port of its host, as a proxy in front of the instances would pass it
 * on: the Host header (hence the URLs oidc-provider builds) stays the entity's. Redirects are not
 * followed; fetch cannot send another Host.
 */
async function viaPort(request: Request, port: number): Promise<Response> {
  const url = new URL(request.url);
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const headers: Record<string, string> = { host: url.host };
  request.headers.forEach((value, name) => {
    if (name !== 'host') headers[name] = value;
  });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port,
        path: url.pathname + url.search,
        method: request.method,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const answered = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) answered.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const status = res.statusCode!;
          resolve(new Response([101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: answered }));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test.after.always(async () => {
  globalThis.fetch = realFetch;
  await second?.close();
  await fed?.close();
});

const maybe = shared ? test.serial : test.skip;
const skipped = shared ? '' : ' (skipped: DATABASE_URL and REDIS_URL are not both set)';

maybe(`a login, refreshes, single sign-on and a logout whose requests alternate between two instances${skipped}`, async (t) => {
  const person = await seededPerson(fed, 'gd', PASSWORD);
  const before = [...served];
  // Login: the authorization, its pages, the password, the code and its redemption.
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const tokens = await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
  t.is(tokens.claims()!.name, person.name);
  t.true(served[0]! - before[0]! >= 3 && served[1]! - before[1]! >= 3, `both instances answered the login: ${served.join(' / ')}`);
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
