/**
 * Input at the edge of every entity (issue 11, defects 2, 3 and 6): values no field can hold
 * (NUL, other control characters) are refused with the protocol's error before anything reaches
 * the database, ids the edge cannot see (inside a client assertion) are simply not found,
 * malformed bodies are the client's 400 or 415 on every route with our body reader, the
 * authorization and logout endpoints take POST, a portal answers an unsupported method with 405
 * and Allow, and none of it writes an error line to the log.
 */
import test, { type ExecutionContext } from 'ava';
import { generateKeyPair, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { UserAgent } from '../helpers/user-agent.ts';
import { oidc, passwordLogin, redeem, relyingParty, REDIRECT_URI, type RelyingParty } from '../helpers/flows.ts';
import { seededPerson } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';

const PASSWORD = 'Edge-pass-7';
const lines: LogLine[] = [];
const env = {} as { fed: TestFederation; rp: RelyingParty };

test.before(async () => {
  env.fed = await startTestFederation(['gd', 'registries', 'nj'], { log: recordingLogger(lines) });
  env.rp = await relyingParty(env.fed, 'gd');
});
test.after.always(async () => {
  await env.fed?.close();
});

const gd = () => env.fed.url('gd');
const basic = () =>
  `Basic ${Buffer.from(`${encodeURIComponent(env.rp.clientId)}:${encodeURIComponent(env.rp.clientSecret!)}`).toString('base64')}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** Nothing the requests of a test caused was logged as an error, nor with a stack. */
function noErrorLogged(t: ExecutionContext) {
  const bad = lines.filter((l) => l.level === 'error' || JSON.stringify(l.fields).includes('\\n    at '));
  t.deepEqual(bad, [], 'no error line and no stack in the log');
}

/** The OP's own error page, with the OAuth error code, never a redirect. */
async function refusedOnPage(t: ExecutionContext, res: Response, status: number, code: string, label: string) {
  const html = await res.text();
  t.is(res.status, status, `${label}: ${html.slice(0, 300)}`);
  t.is(res.headers.get('location'), null, `${label}: never a redirect`);
  t.true(html.includes('<h1>出错了</h1>'), `${label}: the OP's error page, in Chinese`);
  t.regex(html, new RegExp(`<p class="hint">${code}</p>`), label);
}

async function jsonRefusal(t: ExecutionContext, res: Response, status: number, error: string, label: string): Promise<string> {
  const text = await res.text();
  t.is(res.status, status, `${label}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { error: string; error_description: string };
  t.is(body.error, error, label);
  return body.error_description;
}

test('NUL and other control characters are refused at the OP with invalid_request, before any lookup', async (t) => {
  const auth = `${gd()}/auth?client_id=${encodeURIComponent(env.rp.clientId)}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`;
  const pages: [string, string][] = [
    ['client_id with NUL (no authentication needed)', `${gd()}/auth?client_id=a%00b&response_type=code&scope=openid`],
    ['a valid client, state with a control character', `${auth}&state=a%01b&code_challenge=x&code_challenge_method=S256`],
    ['logout with client_id with NUL', `${gd()}/session/end?client_id=a%00b`],
  ];
  for (const [label, url] of pages) await refusedOnPage(t, await fetch(url, { redirect: 'manual' }), 400, 'invalid_request', label);

  const par = String(env.rp.config.serverMetadata().pushed_authorization_request_endpoint);
  const backChannel: [string, string, string, Record<string, string>][] = [
    ['client credentials, client_id with NUL', `${gd()}/token`, 'grant_type=client_credentials&client_id=a%00b', {}],
    ['refresh_token with NUL', `${gd()}/token`, 'grant_type=refresh_token&refresh_token=a%00b', { authorization: basic() }],
    [
      'code with NUL',
      `${gd()}/token`,
      `grant_type=authorization_code&code=a%00b&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${'v'.repeat(43)}`,
      { authorization: basic() },
    ],
    ['introspection of a token with NUL', `${gd()}/token/introspection`, 'token=a%00b', { authorization: basic() }],
    ['revocation of a token with NUL', `${gd()}/token/revocation`, 'token=a%00b&token_type_hint=refresh_token', { authorization: basic() }],
    [
      'pushed request with NUL',
      par,
      `response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&state=%00`,
      { authorization: basic() },
    ],
  ];
  for (const [label, url, body, headers] of backChannel) {
    const description = await jsonRefusal(
      t,
      await fetch(url, { method: 'POST', headers: { ...FORM, ...headers }, body }),
      400,
      'invalid_request',
      label,
    );
    t.regex(description, /^(client_id|refresh_token|code|token|state): /, `${label}: names the field`);
  }
  for (const path of ['/jwks', '/.well-known/openid-configuration', '/me']) {
    await jsonRefusal(t, await fetch(`${gd()}${path}?x=%00`), 400, 'invalid_request', `GET ${path}: JSON for a server`);
  }
  noErrorLogged(t);
});

test('an id the edge cannot see (the claims of a client assertion) is simply not found: invalid_client', async (t) => {
  const token = String(env.rp.config.serverMetadata().token_endpoint);
  const { privateKey } = await generateKeyPair('ES256');
  const assertion = await new SignJWT({ jti: randomBytes(8).toString('hex') })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer('a\u0000b')
    .setSubject('a\u0000b')
    .setAudience(token)
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(privateKey);
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });
  await jsonRefusal(
    t,
    await fetch(token, { method: 'POST', headers: FORM, body }),
    401,
    'invalid_client',
    'client assertion naming a client with NUL',
  );

  // Basic credentials are decoded by oidc-provider itself, which refuses the character.
  const res = await fetch(token, {
    method: 'POST',
    headers: { ...FORM, authorization: `Basic ${Buffer.from('a%00b:secret').toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  t.true(res.status >= 400 && res.status < 500, `Basic credentials with NUL: ${res.status}`);
  noErrorLogged(t);
});

test('malformed bodies are a 400 (or 415 where the route takes no JSON) on every route with our body reader', async (t) => {
  const bodies = ['[1,]', '"str"', '{"a":NaN}', '{"__proto__":{"x":1}}'];
  // The OP's pages take forms only.
  for (const body of bodies) {
    await refusedOnPage(
      t,
      await fetch(`${gd()}/interaction/x/identifier`, { method: 'POST', headers: JSON_TYPE, body }),
      415,
      'invalid_request',
      `interaction page, ${body}`,
    );
  }
  // The services' APIs take JSON: each problem is named, the body never echoed.
  const services = env.fed.topology.services().url;
  const reasons: [string, RegExp][] = [
    ['[1,]', /^malformed JSON body$/],
    ['"str"', /must be an object/],
    ['{"a":NaN}', /^malformed JSON body$/],
    ['{"__proto__":{"x":1}}', /__proto__/],
    ['{"name":"a\\u0000b"}', /^name: /],
  ];
  for (const [body, reason] of reasons) {
    t.regex(
      await jsonRefusal(
        t,
        await fetch(`${services}/demo/persons`, { method: 'POST', headers: JSON_TYPE, body }),
        400,
        'invalid_request',
        `demo persons, ${body}`,
      ),
      reason,
    );
  }
  // A broker path called by other OPs answers in JSON.
  t.regex(
    await jsonRefusal(
      t,
      await fetch(`${gd()}/broker/logout`, { method: 'POST', headers: JSON_TYPE, body: '[1,]' }),
      400,
      'invalid_request',
      'broker logout',
    ),
    /malformed JSON body/,
  );
  // The portal's forms and its back-channel logout endpoint take forms only.
  const nj = env.fed.url('nj');
  for (const path of ['/login', '/logout']) {
    const res = await fetch(`${nj}${path}`, { method: 'POST', headers: JSON_TYPE, body: '{"__proto__":{"x":1}}' });
    t.is(res.status, 415, path);
    t.regex(await res.text(), /<html lang="zh-CN">/, `${path}: the portal's page`);
  }
  await jsonRefusal(
    t,
    await fetch(`${nj}/backchannel-logout`, { method: 'POST', headers: JSON_TYPE, body: '[1,]' }),
    415,
    'invalid_request',
    'portal back-channel logout',
  );
  noErrorLogged(t);
});

test('the authorization and logout endpoints take POST: the form is answered with the same request by GET', async (t) => {
  const person = await seededPerson(env.fed, 'gd', PASSWORD);
  const verifier = oidc.randomPKCECodeVerifier();
  const request = {
    client_id: env.rp.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
  };
  const raw = await fetch(`${gd()}/auth`, { method: 'POST', headers: FORM, body: new URLSearchParams(request), redirect: 'manual' });
  t.is(raw.status, 303);
  const location = new URL(raw.headers.get('location')!, gd());
  t.is(location.pathname, '/auth');
  t.deepEqual(Object.fromEntries(location.searchParams), request, 'the same request, by GET');

  const ua = new UserAgent();
  const login = await ua.navigate(`${gd()}/auth`, { form: request }, REDIRECT_URI);
  t.regex(new URL(login.url).pathname, /^\/interaction\//, 'the login page');
  const callback = await passwordLogin(ua, login, person.id_number, PASSWORD);
  const tokens = await redeem(env.rp, callback, { page: login, verifier, state: request.state, nonce: request.nonce });
  t.truthy(tokens.id_token);
  // The person's session is seen on the next POSTed request: no login page this time.
  const again = await ua.navigate(`${gd()}/auth`, { form: { ...request, state: oidc.randomState() } }, REDIRECT_URI);
  t.true(again.url.startsWith(REDIRECT_URI), `SSO: ${again.url}`);

  const logout = await ua.navigate(`${gd()}/session/end`, { form: { id_token_hint: tokens.id_token!, client_id: env.rp.clientId } });
  t.is(logout.status, 200);
  t.regex(logout.html, /op\.logoutForm/, 'the logout confirmation');

  const json = await fetch(`${gd()}/auth`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(request), redirect: 'manual' });
  await refusedOnPage(t, json, 415, 'invalid_request', 'a JSON body');
  noErrorLogged(t);
});

test('a portal answers a method its page does not take with 405 and Allow, on its localized page', async (t) => {
  const nj = env.fed.url('nj');
  const cases: [string, string, string][] = [
    ['PROPFIND', '/', 'HEAD, GET'],
    ['DELETE', '/', 'HEAD, GET'],
    ['PUT', '/login', 'POST'],
    ['PATCH', '/callback', 'HEAD, GET'],
  ];
  for (const [method, path, allow] of cases) {
    const res = await fetch(`${nj}${path}`, { method });
    t.is(res.status, 405, `${method} ${path}`);
    t.is(res.headers.get('allow'), allow, `${method} ${path}`);
    t.regex(await res.text(), /此地址不接受这种请求。/, `${method} ${path}: in Chinese`);
  }
  const english = await fetch(`${nj}/`, { method: 'PROPFIND', headers: { 'accept-language': 'en' } });
  t.regex(await english.text(), /This address does not accept this kind of request\./);
  const options = await fetch(`${nj}/login`, { method: 'OPTIONS' });
  t.is(options.status, 204);
  t.is(options.headers.get('allow'), 'POST');
  t.is((await fetch(`${nj}/no-such-page`, { method: 'PROPFIND' })).status, 404);
  noErrorLogged(t);
});
