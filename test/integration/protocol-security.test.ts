/**
 * The OP's protocol security, with openid-client as the relying party and plain fetch for what a
 * certified client library would never send: PKCE (S256 only, always), exact redirect URIs,
 * unknown clients, code replay, PAR, refresh token rotation, revocation, introspection, the
 * id_number scope, client credentials, ID token algorithms and RFC 9207 `iss`.
 */
import test, { type ExecutionContext } from 'ava';
import { decodeProtectedHeader } from 'jose';
import { UserAgent, pageError, type Page } from '../helpers/user-agent.ts';
import {
  authorize,
  oidc,
  passwordLogin,
  redeem,
  relyingParty,
  throughConsent,
  REDIRECT_URI,
  type Authorization,
  type Person,
  type RelyingParty,
} from '../helpers/flows.ts';
import { federationWithClient } from '../helpers/gd-fixture.ts';
import { seededPerson } from '../helpers/integration-extra.ts';

const PASSWORD = 'Protocol-pass-7';

const env = federationWithClient(['gd', 'registries'], 'gd');

const account = (): Promise<Person> => seededPerson(env.fed, 'gd', PASSWORD);

interface LoggedIn {
  person: Person;
  ua: UserAgent;
  auth: Authorization;
  callback: Page;
}

/** A person logs in with their password (consenting if asked); returns the callback the browser was sent to. */
async function login(client: RelyingParty, params: Record<string, string> = {}, par = false, person?: Person): Promise<LoggedIn> {
  const who = person ?? (await account());
  const ua = new UserAgent();
  const auth = await authorize(client, ua, params, par);
  const callback = await passwordLogin(ua, auth.page, who.id_number, PASSWORD);
  if (!callback.url.startsWith(REDIRECT_URI))
    throw new Error(`no callback: ${callback.status} ${callback.url}\n${callback.html.slice(0, 1500)}`);
  return { person: who, ua, auth, callback };
}

/** An authorization request built by hand, for the parameters a client library would not send. */
function authUrl(client: RelyingParty, params: Record<string, string | undefined>): string {
  const all: Record<string, string | undefined> = {
    client_id: client.clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: REDIRECT_URI,
    state: 'st-1',
    ...params,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(all)) if (v !== undefined) q.set(k, v);
  return `${client.issuer}/auth?${q}`;
}

interface Outcome {
  status: number;
  /** The redirect target, when the OP redirected. */
  location: URL | null;
  /** The error code: from the redirect's query, or from the error page. */
  error: string | null;
  html: string;
}

/** One request to the authorization endpoint, redirects not followed. */
async function outcome(url: string): Promise<Outcome> {
  const res = await fetch(url, { redirect: 'manual' });
  const html = await res.text();
  const raw = res.headers.get('location');
  const location = raw ? new URL(raw, url) : null;
  const error = location?.searchParams.get('error') ?? /<p class="hint">([a-z_]+)<\/p>/.exec(html)?.[1] ?? null;
  return { status: res.status, location, error, html };
}

/** The request is refused with `error`: either on a page of the OP, or by a redirect carrying the error and no code. */
function refused(t: ExecutionContext, o: Outcome, error: string, label = '') {
  t.is(o.error, error, `${label}: ${o.status} ${o.location ?? ''} ${o.html.slice(0, 300)}`);
  if (o.location?.toString().startsWith(REDIRECT_URI)) {
    t.is(o.location.searchParams.get('code'), null, `${label}: no code`);
    t.is(o.location.searchParams.get('iss'), env.fed.url('gd'), `${label}: iss on the error response too`);
  } else {
    t.is(o.status, 400, label);
  }
}

/** The request is refused on the OP's own error page, and the browser is not sent anywhere. */
function refusedOnPage(t: ExecutionContext, o: Outcome, error: string, label = '') {
  t.is(o.status, 400, `${label}: ${o.location ?? ''}`);
  t.is(o.location, null, `${label}: never a redirect`);
  t.is(o.error, error, label);
  t.true(o.html.includes('<h1>出错了</h1>'), `${label}: the OP's error page`);
}

test('PKCE is required, and only with S256', async (t) => {
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  refused(t, await outcome(authUrl(env.rp, {})), 'invalid_request', 'no code_challenge');
  refused(t, await outcome(authUrl(env.rp, { code_challenge_method: 'S256' })), 'invalid_request', 'a method without a challenge');
  refused(t, await outcome(authUrl(env.rp, { code_challenge: challenge })), 'invalid_request', 'a challenge without a method');
  const plain = await outcome(authUrl(env.rp, { code_challenge: oidc.randomPKCECodeVerifier(), code_challenge_method: 'plain' }));
  refused(t, plain, 'invalid_request', 'plain');
  t.regex(plain.location?.searchParams.get('error_description') ?? plain.html, /code_challenge_method/);
  refused(
    t,
    await outcome(authUrl(env.rp, { code_challenge: 'short', code_challenge_method: 'S256' })),
    'invalid_request',
    'a challenge of the wrong length',
  );

  // The same request with S256 gets the login page.
  const ok = await outcome(authUrl(env.rp, { code_challenge: challenge, code_challenge_method: 'S256' }));
  t.true(ok.status === 303 || ok.status === 302);
  t.regex(ok.location?.pathname ?? '', /^\/interaction\//);
});

test('a wrong or missing code_verifier at the token endpoint is invalid_grant', async (t) => {
  const { callback, auth } = await login(env.rp);
  const wrong = await t.throwsAsync<oidc.ResponseBodyError>(
    oidc.authorizationCodeGrant(env.rp.config, new URL(callback.url), {
      pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
      expectedState: auth.state,
      expectedNonce: auth.nonce,
    }),
  );
  t.is(wrong?.error, 'invalid_grant');

  const second = await login(env.rp);
  const code = new URL(second.callback.url).searchParams.get('code')!;
  const res = await fetch(`${env.rp.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(env.rp.clientId)}:${encodeURIComponent(env.rp.clientSecret!)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }),
  });
  t.is(res.status, 400);
  const body = (await res.json()) as { error: string };
  t.true(['invalid_grant', 'invalid_request'].includes(body.error), `no code_verifier: ${body.error}`);
});

test('a redirect_uri that is not exactly a registered one gets an error page, never a redirect to it', async (t) => {
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const variants = [
    `${REDIRECT_URI}/extra`,
    `${REDIRECT_URI}?next=1`,
    `${REDIRECT_URI}/`,
    `${REDIRECT_URI}#frag`,
    REDIRECT_URI.toUpperCase(),
    REDIRECT_URI.replace('127.0.0.1:9', '127.0.0.1:10'),
    REDIRECT_URI.replace('127.0.0.1', 'localhost'),
    REDIRECT_URI.replace('http:', 'https:'),
    'https://evil.example/callback',
  ];
  for (const redirect_uri of variants) {
    const o = await outcome(authUrl(env.rp, { redirect_uri, code_challenge: challenge, code_challenge_method: 'S256' }));
    refusedOnPage(t, o, 'invalid_redirect_uri', redirect_uri);
    t.false(o.html.includes('evil.example') && o.html.includes('href="https://evil'), 'no link to the unregistered URI');
  }
  // Leaving it out is refused as well, although the client has only one.
  const missing = await outcome(authUrl(env.rp, { redirect_uri: undefined, code_challenge: challenge, code_challenge_method: 'S256' }));
  t.is(missing.status, 400);
  t.is(missing.location, null);
  t.true(['invalid_request', 'invalid_redirect_uri'].includes(missing.error ?? ''), String(missing.error));
});

test('an unknown or missing client_id gets an error page, never a redirect', async (t) => {
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const unknown = await outcome(
    authUrl(env.rp, { client_id: 'no-such-client-123', code_challenge: challenge, code_challenge_method: 'S256' }),
  );
  refusedOnPage(t, unknown, 'invalid_client', 'unknown client');
  t.truthy(pageError({ url: '', status: unknown.status, html: unknown.html }));
  const missing = await outcome(authUrl(env.rp, { client_id: undefined, code_challenge: challenge, code_challenge_method: 'S256' }));
  t.is(missing.status, 400);
  t.is(missing.location, null);
  t.true(['invalid_request', 'invalid_client'].includes(missing.error ?? ''), String(missing.error));
});

test('a replayed authorization code is invalid_grant and revokes what the first redemption got', async (t) => {
  const { callback, auth } = await login(env.rp);
  const first = await redeem(env.rp, callback, auth);
  t.true((await oidc.tokenIntrospection(env.rp.config, first.access_token)).active);

  const replay = await t.throwsAsync<oidc.ResponseBodyError>(
    oidc.authorizationCodeGrant(env.rp.config, new URL(callback.url), {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
    }),
  );
  t.is(replay?.error, 'invalid_grant');

  const after = await oidc.tokenIntrospection(env.rp.config, first.access_token);
  t.false(after.active, 'the access token of the first redemption is revoked');
  const refresh = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(env.rp.config, first.refresh_token!));
  t.is(refresh?.error, 'invalid_grant', 'so is its refresh token');
  const userinfo = await t.throwsAsync(oidc.fetchUserInfo(env.rp.config, first.access_token, first.claims()!.sub));
  t.truthy(userinfo, 'userinfo refuses the revoked access token');
});

test('PAR works, and a client registered to require it is refused without it', async (t) => {
  const viaPar = await login(env.rp, {}, true);
  t.regex(viaPar.auth.page.url, /\/interaction\//);
  const tokens = await redeem(env.rp, viaPar.callback, viaPar.auth);
  t.is(tokens.claims()!.name, viaPar.person.name);

  const strict = await relyingParty(env.fed, 'gd', { require_pushed_authorization_requests: true });
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const withoutPar = await outcome(authUrl(strict, { code_challenge: challenge, code_challenge_method: 'S256' }));
  refused(t, withoutPar, 'invalid_request', 'a PAR-only client without PAR');
  t.notRegex(withoutPar.location?.pathname ?? '', /^\/interaction\//, 'no login page');

  const strictLogin = await login(strict, {}, true);
  t.truthy((await redeem(strict, strictLogin.callback, strictLogin.auth)).claims()!.sub, 'with PAR it works');
});

test('a request_uri cannot be used again once it produced a code', async (t) => {
  const person = await account();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(env.rp.config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  t.true(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'));

  // Two browsers open the same request_uri; the first to finish gets the code.
  const ua1 = new UserAgent();
  const ua2 = new UserAgent();
  const page1 = await ua1.navigate(url.toString(), {}, REDIRECT_URI);
  const page2 = await ua2.navigate(url.toString(), {}, REDIRECT_URI);
  const callback = await passwordLogin(ua1, page1, person.id_number, PASSWORD);
  const tokens = await redeem(env.rp, callback, { page: page1, verifier, state, nonce });
  t.truthy(tokens.access_token);

  const second = await passwordLogin(ua2, page2, person.id_number, PASSWORD);
  const secondUrl = second.url.startsWith(REDIRECT_URI) ? new URL(second.url) : null;
  t.is(secondUrl?.searchParams.get('code') ?? null, null, 'the second browser gets no code');
  t.is(secondUrl?.searchParams.get('error') ?? /<p class="hint">([a-z_]+)<\/p>/.exec(second.html)?.[1], 'invalid_request_uri');

  // Opening it again afterwards is refused at once.
  const again = await outcome(url.toString());
  refused(t, again, 'invalid_request_uri', 'a used request_uri');
  t.notRegex(again.location?.pathname ?? '', /^\/interaction\//);
});

test('refresh tokens rotate: the old one is invalid_grant after use, and reusing it revokes the grant', async (t) => {
  const { callback, auth } = await login(env.rp);
  const tokens = await redeem(env.rp, callback, auth);
  const r1 = await oidc.refreshTokenGrant(env.rp.config, tokens.refresh_token!);
  t.truthy(r1.refresh_token);
  t.not(r1.refresh_token, tokens.refresh_token);
  t.truthy(r1.id_token, 'a refreshed ID token');
  t.is(r1.claims()!.sub, tokens.claims()!.sub);
  const r2 = await oidc.refreshTokenGrant(env.rp.config, r1.refresh_token!);
  t.not(r2.refresh_token, r1.refresh_token);

  const reused = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(env.rp.config, tokens.refresh_token!));
  t.is(reused?.error, 'invalid_grant');
  // A rotated token coming back means it was stolen: the whole grant goes.
  const newest = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(env.rp.config, r2.refresh_token!));
  t.is(newest?.error, 'invalid_grant', 'the newest refresh token died with the grant');
  t.false((await oidc.tokenIntrospection(env.rp.config, r2.access_token)).active, 'and so did the newest access token');
});

test('revoked tokens are inactive; a valid access token introspects as active with its client_id', async (t) => {
  const { callback, auth, person } = await login(env.rp);
  const tokens = await redeem(env.rp, callback, auth);
  const info = await oidc.tokenIntrospection(env.rp.config, tokens.access_token);
  t.true(info.active);
  t.is(info.client_id, env.rp.clientId);
  t.is(info.sub, tokens.claims()!.sub);
  t.is(info.iss, env.fed.url('gd'));
  t.true(String(info.scope).split(' ').includes('openid'));
  t.is(info.token_type, 'Bearer');
  t.false(JSON.stringify(info).includes(person.id_number));

  const rt = await oidc.tokenIntrospection(env.rp.config, tokens.refresh_token!);
  t.true(rt.active);
  t.is(rt.client_id, env.rp.clientId);

  await oidc.tokenRevocation(env.rp.config, tokens.access_token);
  t.false((await oidc.tokenIntrospection(env.rp.config, tokens.access_token)).active, 'a revoked access token is inactive');
  await t.throwsAsync(oidc.fetchUserInfo(env.rp.config, tokens.access_token, tokens.claims()!.sub));

  await oidc.tokenRevocation(env.rp.config, tokens.refresh_token!);
  t.false((await oidc.tokenIntrospection(env.rp.config, tokens.refresh_token!)).active, 'a revoked refresh token is inactive');
  const refresh = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(env.rp.config, tokens.refresh_token!));
  t.is(refresh?.error, 'invalid_grant');

  // Tokens that never were.
  t.false((await oidc.tokenIntrospection(env.rp.config, 'not-a-token')).active);
});

test('id_number is only for clients registered with it', async (t) => {
  const asked = await outcome(
    authUrl(env.rp, {
      scope: 'openid id_number',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }),
  );
  if (asked.error) {
    refused(t, asked, 'invalid_scope', 'id_number at a default client');
  } else {
    // If the OP let the request through, the claim must at least be absent.
    const { callback, auth } = await login(env.rp, { scope: 'openid profile id_number' });
    const tokens = await redeem(env.rp, callback, auth);
    t.is(tokens.claims()!.id_number, undefined);
    t.is((await oidc.fetchUserInfo(env.rp.config, tokens.access_token, tokens.claims()!.sub)).id_number, undefined);
  }

  const allowed = await relyingParty(env.fed, 'gd', { scope: 'openid profile id_number' });
  const person = await account();
  const ua = new UserAgent();
  const auth = await authorize(allowed, ua, { scope: 'openid profile id_number' });
  const pw = await ua.submit(auth.page, '/identifier', { identifier: person.id_number });
  const consent = await ua.submit(pw, '/password', { password: PASSWORD }, REDIRECT_URI);
  t.true(consent.html.includes('居民身份证号码'), 'the consent page names the ID number');
  const tokens = await redeem(allowed, await throughConsent(ua, consent), auth);
  const info = await oidc.fetchUserInfo(allowed.config, tokens.access_token, tokens.claims()!.sub);
  t.is(info.id_number, person.id_number);
  t.is(info.name, person.name);
  t.is(tokens.claims()!.id_number, person.id_number, 'in the ID token too');

  // The same client without asking for the scope gets no id_number.
  const { callback: cb2, auth: a2 } = await login(allowed, { scope: 'openid profile' }, false, person);
  const plain = await redeem(allowed, cb2, a2);
  t.is((await oidc.fetchUserInfo(allowed.config, plain.access_token, plain.claims()!.sub)).id_number, undefined);
});

test('the client_credentials grant works for a confidential client, not for a public one', async (t) => {
  const cc = await oidc.clientCredentialsGrant(env.rp.config);
  t.truthy(cc.access_token);
  t.is(cc.token_type?.toLowerCase(), 'bearer');
  t.is(cc.refresh_token, undefined);
  t.is(cc.id_token, undefined);
  const info = await oidc.tokenIntrospection(env.rp.config, cc.access_token);
  t.true(info.active);
  t.is(info.client_id, env.rp.clientId);
  t.is(info.sub, undefined, 'no person behind it');

  const pub = await relyingParty(env.fed, 'gd', { public: true });
  const refusedGrant = await t.throwsAsync<oidc.ResponseBodyError>(oidc.clientCredentialsGrant(pub.config));
  t.true(
    ['unauthorized_client', 'invalid_client', 'invalid_request'].includes(refusedGrant?.error ?? ''),
    `${refusedGrant?.error}: ${refusedGrant?.error_description}`,
  );

  // A wrong secret is invalid_client.
  const wrongSecret = await oidc.discovery(
    new URL(env.rp.issuer),
    env.rp.clientId,
    { client_secret: 'wrong' },
    oidc.ClientSecretBasic('wrong'),
    { execute: [oidc.allowInsecureRequests] },
  );
  const bad = await t.throwsAsync<oidc.WWWAuthenticateChallengeError>(oidc.clientCredentialsGrant(wrongSecret));
  t.is(bad?.status, 401);
  t.is(bad?.cause[0]?.parameters.error, 'invalid_client');
});

test('ID tokens are ES256 by default and RS256 for a client registered with it', async (t) => {
  const es = await login(env.rp);
  const esTokens = await redeem(env.rp, es.callback, es.auth);
  t.is(decodeProtectedHeader(esTokens.id_token!).alg, 'ES256');

  const rsClient = await relyingParty(env.fed, 'gd', { id_token_signed_response_alg: 'RS256' });
  const rs = await login(rsClient, {}, false, es.person);
  const rsTokens = await redeem(rsClient, rs.callback, rs.auth);
  const header = decodeProtectedHeader(rsTokens.id_token!);
  t.is(header.alg, 'RS256');
  t.truthy(header.kid);
  t.is(rsTokens.claims()!.aud, rsClient.clientId);

  // Both keys are published.
  const jwks = (await (await fetch(`${env.rp.issuer}/jwks`)).json()) as { keys: { alg?: string; kty: string; d?: string }[] };
  t.true(jwks.keys.some((k) => k.kty === 'EC'));
  t.true(jwks.keys.some((k) => k.kty === 'RSA'));
  t.false(
    jwks.keys.some((k) => 'd' in k),
    'no private key material',
  );
});

test('the authorization response carries iss (RFC 9207), and discovery says so', async (t) => {
  const config = (await (await fetch(`${env.rp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.is(config.issuer, env.fed.url('gd'));
  t.true(config.authorization_response_iss_parameter_supported);
  t.deepEqual(config.code_challenge_methods_supported, ['S256']);
  t.deepEqual(config.response_types_supported, ['code']);

  const { callback, auth } = await login(env.rp);
  const params = new URL(callback.url).searchParams;
  t.is(params.get('iss'), env.fed.url('gd'));
  t.is(params.get('state'), auth.state);
  t.truthy(params.get('code'));

  // openid-client checks iss: a response naming another issuer is refused.
  const forged = new URL(callback.url);
  forged.searchParams.set('iss', 'http://127.0.0.1:1');
  await t.throwsAsync(
    oidc.authorizationCodeGrant(env.rp.config, forged, {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
    }),
  );
});

// RFC 7662 §4: the server must decide whether the caller may learn about the token. With
// oidc-provider's default allowedPolicy (left unchanged in idp/oidc/provider-config.ts; the library
// prints a NOTICE saying it SHOULD be changed) any confidential client of the OP can introspect any
// other client's tokens and learn that they are live, whose they are (sub) and what they allow.
test('one client cannot introspect the tokens of another client', async (t) => {
  const { callback, auth } = await login(env.rp);
  const tokens = await redeem(env.rp, callback, auth);
  const other = await relyingParty(env.fed, 'gd');
  const info = await oidc.tokenIntrospection(other.config, tokens.access_token);
  t.false(info.active, `another client learned ${JSON.stringify(info)}`);
  const rt = await oidc.tokenIntrospection(other.config, tokens.refresh_token!);
  t.false(rt.active, `another client learned ${JSON.stringify(rt)}`);
});

// A code, and a rotated refresh token, may be used once: of several requests racing with the same
// one, at most one may get tokens (RFC 6749 §4.1.2, RFC 9700 §4.14.2), however many arrive at once.
const RACERS = 10;

test('of concurrent redemptions of one authorization code at most one gets tokens', async (t) => {
  const { callback, auth } = await login(env.rp);
  const results = await Promise.allSettled(
    Array.from({ length: RACERS }, () =>
      oidc.authorizationCodeGrant(env.rp.config, new URL(callback.url), {
        pkceCodeVerifier: auth.verifier,
        expectedState: auth.state,
        expectedNonce: auth.nonce,
      }),
    ),
  );
  const issued = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  for (const r of results) if (r.status === 'rejected') t.is((r.reason as oidc.ResponseBodyError).error, 'invalid_grant');
  t.true(issued.length <= 1, `${issued.length} of ${RACERS} concurrent redemptions of one code got tokens`);
  const active = (await Promise.all(issued.map((i) => oidc.tokenIntrospection(env.rp.config, i.access_token)))).filter((i) => i.active);
  t.true(active.length <= 1, `${active.length} access tokens from one code are active`);
});

test('of concurrent resumes of one finished login exactly one goes on to a code; the others find no interaction', async (t) => {
  const { person } = await login(env.rp); // consent given: the resume goes straight to a code
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  const passwordPage = await ua.submit(auth.page, '/identifier', { identifier: person.id_number });
  const resume = await ua.submit(passwordPage, '/password', { password: PASSWORD }, `${env.rp.issuer}/auth/`);
  t.regex(resume.url, /\/auth\/[\w-]+$/, 'the browser is sent back to the authorization endpoint');
  const answers = await Promise.all(Array.from({ length: RACERS }, () => ua.request(resume.url)));
  const codes = answers.filter((r) => new URL(r.headers.get('location') ?? '/', resume.url).searchParams.has('code'));
  t.is(codes.length, 1, `${codes.length} of ${RACERS} concurrent resumes got a code`);
  for (const r of answers.filter((a) => !codes.includes(a))) t.is(r.status, 400, 'the others: the error page, no redirect');
});

test('of concurrent uses of one refresh token at most one gets a new one', async (t) => {
  const { callback, auth } = await login(env.rp);
  const tokens = await redeem(env.rp, callback, auth);
  const results = await Promise.allSettled(
    Array.from({ length: RACERS }, () => oidc.refreshTokenGrant(env.rp.config, tokens.refresh_token!)),
  );
  const rotated = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  t.true(rotated.length <= 1, `${rotated.length} of ${RACERS} concurrent uses of one refresh token got a new one`);
  const live = (await Promise.all(rotated.map((r) => oidc.tokenIntrospection(env.rp.config, r.refresh_token!)))).filter((i) => i.active);
  t.true(live.length <= 1, `${live.length} live refresh tokens descend from one`);
});
