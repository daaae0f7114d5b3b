/**
 * The relying portal of a hybrid city (nj, under js) against the real province OP: sign-in with
 * real-name registration through automatic registration (PAR, private_key_jwt, trust chain
 * nj → js → national), the person's claims on the home page, legal persons, RP-initiated logout
 * through the OP, back-channel logout from the OP, and the refusals (forged logout tokens, a
 * callback with a wrong state, a form without its CSRF token).
 */
import test from 'ava';
import { generateKeyPair, importJWK, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent, findForm, type Page } from '../helpers/user-agent.ts';
import { authorize, newPerson, oidc, redeem, registerOnPage, relyingParty, throughConsent } from '../helpers/flows.ts';
import { loadKeys } from '../../infra/entity-keys.ts';
import { lineText, recordingLogger, type LogLine } from '../helpers/recording-logger.ts';
import { ENTITY_CONFIGURATION_PATH } from '../../federation/entity-configuration.ts';

const logged: LogLine[] = [];

let fed: TestFederation;
let nj: { url: string };

test.before(async () => {
  // The Nanjing portal, a hybrid-mode city of js, hosted as `gov-id start` hosts it.
  fed = await startTestFederation(['national', 'js', 'nj', 'registries'], { log: recordingLogger(logged, {}, { echo: true }) });
  nj = { url: fed.url('nj') };
});

test.after.always(async () => {
  await fed?.close();
});

const lang = (page: Page) => /<html lang="([^"]+)"/.exec(page.html)?.[1];
const signedIn = (page: Page) => /action="\/logout"/.test(page.html);

/** Home page → 登录 (with the page's CSRF token) → the OP's pages; `as: 'legal'` asks for the legal_person scope. */
async function startSignIn(ua: UserAgent, fields: Record<string, string> = {}): Promise<Page> {
  const home = await ua.navigate(`${nj.url}/`);
  return ua.submit(home, '/login', fields);
}

async function signInWithRegistration(ua: UserAgent, password: string) {
  const person = await newPerson(fed);
  const opPage = await startSignIn(ua);
  const home = await registerOnPage(fed, ua, opPage, person, password);
  return { person, home };
}

test('the home page is in Chinese by default and in English on request, with no inline script or style', async (t) => {
  const ua = new UserAgent();
  const res = await ua.request(`${nj.url}/`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-security-policy') ?? '', /default-src 'none'.*style-src 'self'/);
  t.regex(res.headers.get('set-cookie') ?? '', /^gov_id_nj_csrf=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
  const zh = { url: `${nj.url}/`, status: 200, html: await res.text() };
  t.is(lang(zh), 'zh-CN');
  t.regex(zh.html, /<h1>南京市政务服务<\/h1>/);
  t.regex(zh.html, /<button type="submit">登录<\/button>/);
  t.regex(zh.html, /江苏政务服务网/);
  t.notRegex(zh.html, /<script|style=|<style/);
  const css = await fetch(`${nj.url}/assets/portal.css`);
  t.is(css.status, 200);
  t.regex(css.headers.get('content-type') ?? '', /text\/css/);

  const en = await ua.navigate(`${nj.url}/?lang=en`);
  t.is(lang(en), 'en');
  t.regex(en.html, /<button type="submit">Sign in<\/button>/);
  t.regex(findForm(en.html, '/login').hidden.lang ?? '', /^en$/);
  const browserEn = new UserAgent();
  browserEn.acceptLanguage = 'en-GB,en;q=0.9';
  t.is(lang(await browserEn.navigate(`${nj.url}/`)), 'en');

  const missing = await ua.navigate(`${nj.url}/no-such-page`);
  t.is(missing.status, 404);
  t.regex(missing.html, /页面不存在/);
});

test('the portal publishes its relying-party metadata in its entity configuration', async (t) => {
  const res = await fetch(`${nj.url}${ENTITY_CONFIGURATION_PATH}`);
  t.is(res.status, 200);
  const [, payload] = (await res.text()).split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  const rp = claims.metadata.openid_relying_party;
  t.is(rp.client_name, '南京市政务服务');
  t.deepEqual(rp.redirect_uris, [`${nj.url}/callback`]);
  t.deepEqual(rp.post_logout_redirect_uris, [`${nj.url}/`]);
  t.is(rp.backchannel_logout_uri, `${nj.url}/backchannel-logout`);
  t.true(rp.backchannel_logout_session_required);
  t.is(rp.token_endpoint_auth_method, 'private_key_jwt');
  t.is(rp.jwks.keys.length, 1);
  t.is(rp.jwks.keys[0].d, undefined, 'never a private part');
  // The client key is not one of the federation keys.
  t.false(claims.jwks.keys.some((k: { kid: string }) => k.kid === rp.jwks.keys[0].kid));
  t.deepEqual(claims.authority_hints, [fed.url('js')]);
});

test('a person signs in at the portal with real-name registration at the province OP, then signs out through the OP', async (t) => {
  const ua = new UserAgent();
  const { person, home } = await signInWithRegistration(ua, 'Portal-pass1');
  t.is(home.url, `${nj.url}/`);
  t.is(home.status, 200);
  t.true(signedIn(home));
  t.regex(home.html, new RegExp(`<h1>${person.name}，您好</h1>`));
  t.regex(home.html, /<dt>用户类型<\/dt>\s*<dd>自然人<\/dd>/);
  t.regex(home.html, /<dt>账号注册地<\/dt>\s*<dd>江苏政务服务网<\/dd>/);
  t.regex(home.html, /<dt>实名等级<\/dt>\s*<dd>实名（L3） <code>urn:gov-id:loa:1<\/code><\/dd>/);
  t.notRegex(home.html, /单位名称/);
  // The portal's cookies carry its entity ID.
  const again = await ua.request(`${nj.url}/`);
  t.is(again.status, 200);

  // 退出: the portal session ends, the OP asks for confirmation, then sends the browser back home.
  const confirm = await ua.submit(home, '/logout', {});
  t.true(confirm.url.startsWith(`${fed.url('js')}/session/end`), confirm.url);
  const back = await ua.submit(confirm, '/session/end/confirm', { logout: 'yes' });
  t.is(back.url, `${nj.url}/`);
  t.false(signedIn(back));
  t.regex(back.html, /<button type="submit">登录<\/button>/);
  // The OP session is gone too: signing in again asks for credentials.
  const login = await startSignIn(ua);
  t.regex(login.url, /\/interaction\//);
  t.regex(login.html, /身份证号或手机号/);
});

test('signing out at the OP from another relying party ends the portal session by back-channel logout', async (t) => {
  const ua = new UserAgent();
  const { home } = await signInWithRegistration(ua, 'Portal-pass2');
  t.true(signedIn(home));

  // Another relying party of js, in the same browser: single sign-on, then RP-initiated logout of the whole OP session.
  const rp = await relyingParty(fed, 'js', { post_logout_redirect_uris: ['http://127.0.0.1:9/bye'] });
  const a = await authorize(rp, ua);
  const tokens = await redeem(rp, await throughConsent(ua, a.page), a);
  const confirm = await ua.navigate(
    oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/bye' }).toString(),
  );
  const bye = await ua.submit(confirm, '/session/end/confirm', { logout: 'yes' }, 'http://127.0.0.1:9/bye');
  t.true(bye.url.startsWith('http://127.0.0.1:9/bye'));

  const after = await ua.navigate(`${nj.url}/`);
  t.false(signedIn(after), 'the portal session ended with the OP session');
  t.regex(after.html, /<button type="submit">登录<\/button>/);
  t.true(logged.some((l) => l.msg === 'back-channel logout' && l.fields.sessions === 1));
});

test('a legal representative signs in for the organization and the home page shows it', async (t) => {
  const ua = new UserAgent();
  const rep = await newPerson(fed);
  const res = await fetch(`${fed.topology.services().url}/demo/organizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rep_id_number: rep.id_number }),
  });
  const org = (await res.json()) as { uscc: string; name: string };
  const opPage = await startSignIn(ua, { as: 'legal' });
  const picker = await registerOnPage(fed, ua, opPage, rep, 'Portal-legal1');
  t.regex(picker.html, /选择办事单位/);
  const registered = await ua.submit(picker, '/org/register', { uscc: org.uscc, org_name: org.name });
  t.is(registered.status, 201);
  const subject = /<input type="radio" name="org" value="([^"]+)"/.exec(registered.html)![1]!;
  const home = await throughConsent(ua, await ua.submit(registered, '/org', { org: subject }));
  t.is(home.url, `${nj.url}/`);
  t.true(signedIn(home));
  t.regex(home.html, /<dt>用户类型<\/dt>\s*<dd>法人<\/dd>/);
  t.regex(home.html, new RegExp(`<dt>单位名称</dt>\\s*<dd>${org.name}</dd>`));
  t.regex(home.html, /<dt>办事角色<\/dt>\s*<dd>法定代表人<\/dd>/);
  t.regex(home.html, new RegExp(`<dt>办事人</dt>\\s*<dd>${rep.name}</dd>`));
});

test('an authorization the person declines at the OP ends on an error page with the OAuth error', async (t) => {
  const ua = new UserAgent();
  const person = await newPerson(fed);
  const opPage = await startSignIn(ua, { as: 'legal' });
  // Someone who may act for no organization declines on the organization page.
  const picker = await registerOnPage(fed, ua, opPage, person, 'Portal-deny1');
  const denied = await ua.submit(picker, '/abort', {});
  t.true(denied.url.startsWith(`${nj.url}/callback?`));
  t.is(denied.status, 400);
  t.regex(denied.html, /<p class="error" role="alert">您取消了登录或拒绝了授权。<\/p>/);
  t.regex(denied.html, /<code>access_denied<\/code>/);
  t.false(signedIn(await ua.navigate(`${nj.url}/`)));
});

test('a callback with a wrong state, or with no sign-in pending, is an error page (400), and the code never reaches the log', async (t) => {
  const ua = new UserAgent();
  const home = await ua.navigate(`${nj.url}/`);
  const { hidden } = findForm(home.html, '/login');
  const started = await ua.request(`${nj.url}/login`, { form: hidden });
  t.is(started.status, 303);
  t.true(started.headers.get('location')!.startsWith(`${fed.url('js')}/auth?`));
  t.regex(started.headers.getSetCookie().join('\n'), /gov_id_nj_login=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600/);

  const code = `secret-code-${randomUUID()}`;
  const wrong = await ua.navigate(`${nj.url}/callback?code=${code}&state=not-the-state&iss=${encodeURIComponent(fed.url('js'))}`);
  t.is(wrong.status, 400);
  t.regex(wrong.html, /<p class="error" role="alert">/);
  t.regex(wrong.html, /<code>invalid_response<\/code>/);
  t.notRegex(wrong.html, new RegExp(code));

  // The pending sign-in was used up: the same callback again finds nothing to finish.
  const replay = await ua.navigate(`${nj.url}/callback?code=${code}&state=not-the-state`);
  t.is(replay.status, 400);
  t.regex(replay.html, /登录请求已失效/);
  const stranger = await new UserAgent().navigate(`${nj.url}/callback?error=access_denied`);
  t.is(stranger.status, 400);
  t.false(
    logged.some((l) => lineText(l).includes(code)),
    'no authorization code in the log',
  );
});

test('forms without their CSRF token, or from another origin, are refused', async (t) => {
  const ua = new UserAgent();
  const home = await ua.navigate(`${nj.url}/`);
  const { hidden } = findForm(home.html, '/login');
  const noToken = await ua.navigate(`${nj.url}/login`, { method: 'POST', form: {} });
  t.is(noToken.status, 403);
  t.regex(noToken.html, /页面已失效/);
  const otherBrowser = await new UserAgent().navigate(`${nj.url}/login`, { form: hidden });
  t.is(otherBrowser.status, 403, 'the token belongs to the browser that got the page');
  const crossOrigin = await ua.request(`${nj.url}/login`, { form: hidden, headers: { origin: 'http://evil.example' } });
  t.is(crossOrigin.status, 403);
  const crossSite = await ua.request(`${nj.url}/login`, { form: hidden, headers: { 'sec-fetch-site': 'cross-site' } });
  t.is(crossSite.status, 403);
  // Under Referrer-Policy: no-referrer a browser's own form post says `Origin: null`: the token decides.
  const ownForm = await ua.request(`${nj.url}/login`, { form: hidden, headers: { origin: 'null', 'sec-fetch-site': 'same-origin' } });
  t.is(ownForm.status, 303);
  const logout = await ua.navigate(`${nj.url}/logout`, { form: { csrf: 'forged' } });
  t.is(logout.status, 403);
});

test('forged, malformed and replayed logout tokens are refused with 400; a valid one is accepted', async (t) => {
  const js = fed.host.entities.find((e) => e.entity.id === 'js')!.runtime;
  const [opKey] = await loadKeys(js.db, js.cipher, 'oidc', ['ES256', 'RS256']);
  const signingKey = (await importJWK(opKey!, 'ES256')) as CryptoKey;
  const { privateKey: strangerKey } = await generateKeyPair('ES256');
  const event = { 'http://schemas.openid.net/event/backchannel-logout': {} };
  const token = async (claims: Record<string, unknown>, opts: { key?: CryptoKey; typ?: string; kid?: string } = {}) =>
    new SignJWT({ events: event, sid: randomUUID(), jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? opKey!.kid, typ: opts.typ ?? 'logout+jwt' })
      .setIssuer(fed.url('js'))
      .setAudience(nj.url)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(opts.key ?? signingKey);
  const post = async (body: Record<string, string>) => {
    const res = await fetch(`${nj.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
    return {
      status: res.status,
      body: res.status === 400 ? ((await res.json()) as { error: string; error_description: string }) : await res.text(),
      cacheControl: res.headers.get('cache-control'),
    };
  };

  const refused = async (label: string, logoutToken: string | null, reason: RegExp) => {
    const res = await post(logoutToken === null ? {} : { logout_token: logoutToken });
    t.is(res.status, 400, label);
    t.is((res.body as { error: string }).error, 'invalid_request', label);
    t.regex((res.body as { error_description: string }).error_description, reason, label);
  };
  await refused('no token', null, /logout_token is required/);
  await refused('not a JWT', 'not-a-jwt', /rejected/);
  await refused('wrong signature', await token({}, { key: strangerKey }), /signature|no applicable key/i);
  await refused(
    'wrong audience',
    await new SignJWT({ events: event, sid: 'x', jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: opKey!.kid, typ: 'logout+jwt' })
      .setIssuer(fed.url('js'))
      .setAudience('http://127.0.0.1:9')
      .setIssuedAt()
      .sign(signingKey),
    /aud/,
  );
  await refused(
    'wrong issuer',
    await new SignJWT({ events: event, sid: 'x', jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: opKey!.kid, typ: 'logout+jwt' })
      .setIssuer(fed.url('national'))
      .setAudience(nj.url)
      .setIssuedAt()
      .sign(signingKey),
    /iss/,
  );
  await refused('nonce present', await token({ nonce: 'n-0S6_WzA2Mj' }), /nonce/);
  await refused('an ID token, not a logout token', await token({}, { typ: 'JWT' }), /typ/);
  await refused('no event', await token({ events: { 'http://example.com/other': {} } }), /event/);
  await refused('neither sid nor sub', await token({ sid: undefined }), /neither sid nor sub/);
  await refused('no jti', await token({ jti: undefined }), /jti/);

  const valid = await token({ sub: 'someone' });
  const ok = await post({ logout_token: valid });
  t.is(ok.status, 200);
  t.is(ok.cacheControl, 'no-store');
  await refused('replayed', valid, /replayed/);
});

test("hybrid mode: the province's login and registration pages carry the city's name", async (t) => {
  const ua = new UserAgent();
  const login = await startSignIn(ua);
  t.true(login.url.startsWith(fed.url('js')), login.url);
  t.regex(login.html, /<header class="site"><span>南京市政务服务（江苏政务服务网）<\/span>/);
  const register = await ua.navigate(
    new URL(/href="([^"]*\/register[^"]*)"/.exec(login.html)![1]!.replace(/&amp;/g, '&'), login.url).toString(),
  );
  t.regex(register.html, /<title>实名注册 · 南京市政务服务（江苏政务服务网）<\/title>/);
});

test("the province's login page wears the city's name and colours for the city portal's people", async (t) => {
  const ua = new UserAgent();
  const login = await startSignIn(ua);
  t.true(login.url.startsWith(fed.url('js')));
  t.regex(login.html, /<header class="site"><span>南京市政务服务（江苏政务服务网）<\/span>/);
  const brand = /<link rel="stylesheet" href="(\/assets\/brand\/nj\.css)"\s*\/?>/.exec(login.html)?.[1];
  t.truthy(brand);
  const css = await fetch(fed.url('js') + brand!);
  t.is(css.status, 200);
  t.regex(await css.text(), /--brand: #0b5394/);
  // The province's own people see the province's pages.
  const rp = await relyingParty(fed, 'js');
  const own = await authorize(rp, new UserAgent());
  t.notRegex(own.page.html, /assets\/brand/);
});
