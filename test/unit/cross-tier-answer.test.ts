/**
 * idp/broker/cross-tier-login.ts: the checks a hop makes on its neighbour's answer. The city OP
 * sz sends a login for an account whose home is gz up to its province broker gd; gd answers with
 * a code. The federation (national → gd → gz) is built in-process with the project's own
 * statement and trust-mark signers and served to a real TrustedOps by an in-memory fetcher; gd's
 * OIDC side (PAR and token endpoints) is played on loopback by this test, which signs gd's ID
 * tokens with jose and a real key and checks PKCE as any OP does. CrossTierLogin, openid-client
 * and the in-process store run for real.
 */
import test, { type ExecutionContext } from 'ava';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { publicJwk, type PrivateJwk } from '../../infra/entity-keys.ts';
import { openKeyValueStore, type KeyValueStore } from '../../infra/key-value-store.ts';
import { signEntityConfiguration } from '../../federation/entity-configuration.ts';
import type { MetadataPolicy } from '../../federation/metadata-policy.ts';
import { HOME_HINT_PARAM, ROUTE_PARAM } from '../../federation/recognition-routing.ts';
import { signSubordinateStatement } from '../../federation/subordinate-statements.ts';
import type { StatementFetcher } from '../../federation/trust-chain.ts';
import { trustMarkIssuersClaim } from '../../federation/trust-mark-issuer.ts';
import { issueTrustMark, REAL_NAME_OP } from '../../federation/trust-marks.ts';
import { TrustedOps } from '../../federation/trusted-op.ts';
import { CrossTierLogin } from '../../idp/broker/cross-tier-login.ts';
import { RecognitionError, type RecognitionRefusal } from '../../idp/login/cross-tier-hops.ts';
import { DEFAULT_ACR_URIS, type LoaLevel } from '../../federation/loa.ts';
import { randomDraw, syntheticIdNumber } from '../../services/population/synthetic-persons.ts';
import { uniqueName } from '../helpers/unit-engines.ts';

async function newKey(kid: string): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

// ---------------------------------------------------------------------------------------------
// gd's OIDC endpoints, played on loopback
// ---------------------------------------------------------------------------------------------

/** What sz pushed to gd (the PAR body). */
type Pushed = Record<string, string>;
/** A code gd issued: the challenge it was pushed with, and the ID token it answers with. */
interface IssuedCode {
  challenge: string;
  idToken: string;
}

/** Pushed requests by the request_uri gd gave for them. */
const pushed = new Map<string, Pushed>();
const codes = new Map<string, IssuedCode>();
let origin = '';

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

const server = createServer((req, res) => {
  void (async () => {
    const body = await formBody(req);
    if (req.method === 'POST' && req.url === '/gd/par') {
      const requestUri = `urn:ietf:params:oauth:request_uri:${randomBytes(16).toString('base64url')}`;
      pushed.set(requestUri, Object.fromEntries(body));
      return json(res, 201, { request_uri: requestUri, expires_in: 60 });
    }
    if (req.method === 'POST' && req.url === '/gd/token') {
      const issued = codes.get(body.get('code') ?? '');
      codes.delete(body.get('code') ?? '');
      // RFC 7636 §4.6: the verifier must hash to the challenge the code was issued for.
      if (!issued || s256(body.get('code_verifier') ?? '') !== issued.challenge)
        return json(res, 400, { error: 'invalid_grant', error_description: 'code or code_verifier does not match' });
      return json(res, 200, {
        access_token: randomBytes(16).toString('base64url'),
        token_type: 'Bearer',
        expires_in: 600,
        id_token: issued.idToken,
      });
    }
    if (req.method === 'GET' && req.url === '/gd/jwks') return json(res, 200, { keys: [publicJwk(gdOpKey)] });
    json(res, 404, { error: 'not_found' });
  })();
});

// ---------------------------------------------------------------------------------------------
// The federation national → gd → gz, in-process
// ---------------------------------------------------------------------------------------------

let NATIONAL = '';
let GD = '';
let GZ = '';
let SZ = '';
let nationalKey: PrivateJwk;
let gdKey: PrivateJwk;
let gzKey: PrivateJwk;
/** gd's OIDC signing key (its ID tokens), published at its jwks_uri. */
let gdOpKey: PrivateJwk;
/** sz's key as a relying party (private_key_jwt). */
let szRpKey: PrivateJwk;
let kv: KeyValueStore;

test.before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  [NATIONAL, GD, GZ, SZ] = ['national', 'gd', 'gz', 'sz'].map((name) => `${origin}/${name}`) as [string, string, string, string];
  [nationalKey, gdKey, gzKey, gdOpKey, szRpKey] = await Promise.all(['national-1', 'gd-1', 'gz-1', 'gd-oidc-1', 'sz-rp-1'].map(newKey));
  kv = await openKeyValueStore({ namespace: uniqueName('gov-id-unit-cross-tier') });
});
test.after.always(async () => {
  server.close();
  await kv?.close();
});

const ALL_ACRS = Object.values(DEFAULT_ACR_URIS);

function opMetadata(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    pushed_authorization_request_endpoint: `${issuer}/par`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    acr_values_supported: ALL_ACRS,
  };
}

interface FederationShape {
  /** max_loa of gd's real-name-op mark (the neighbour). */
  gdMaxLoa: LoaLevel;
  /** max_loa of gz's real-name-op mark (the home). */
  gzMaxLoa: LoaLevel;
  /** gd's metadata policy on gz (e.g. the levels gz may list). */
  gdPolicyOnGz?: MetadataPolicy;
}

/** The statements of the federation, served by an in-memory fetcher (the network is the only thing replaced). */
async function federation(shape: FederationShape): Promise<StatementFetcher> {
  const mark = (subject: string, maxLoa: LoaLevel) =>
    issueTrustMark({ issuer: NATIONAL, subject, trustMarkType: REAL_NAME_OP, keys: [nationalKey], maxLoa });
  const fetchEndpoint = (id: string) => ({ federation_entity: { federation_fetch_endpoint: `${id}/fetch` } });
  const configurations = new Map<string, string>([
    [
      NATIONAL,
      await signEntityConfiguration({
        entityId: NATIONAL,
        keys: [nationalKey],
        metadata: fetchEndpoint(NATIONAL),
        authorityHints: [],
        trustMarkIssuers: trustMarkIssuersClaim(NATIONAL),
      }),
    ],
    [
      GD,
      await signEntityConfiguration({
        entityId: GD,
        keys: [gdKey],
        metadata: { ...fetchEndpoint(GD), openid_provider: opMetadata(GD) },
        authorityHints: [NATIONAL],
        trustMarks: [{ trust_mark_type: REAL_NAME_OP, trust_mark: await mark(GD, shape.gdMaxLoa) }],
      }),
    ],
    [
      GZ,
      await signEntityConfiguration({
        entityId: GZ,
        keys: [gzKey],
        metadata: { openid_provider: opMetadata(GZ) },
        authorityHints: [GD],
        trustMarks: [{ trust_mark_type: REAL_NAME_OP, trust_mark: await mark(GZ, shape.gzMaxLoa) }],
      }),
    ],
  ]);
  const subordinates = new Map<string, string>([
    [
      `${NATIONAL} ${GD}`,
      await signSubordinateStatement({ issuer: NATIONAL, subject: GD, keys: [nationalKey], jwks: { keys: [publicJwk(gdKey)] } }),
    ],
    [
      `${GD} ${GZ}`,
      await signSubordinateStatement({
        issuer: GD,
        subject: GZ,
        keys: [gdKey],
        jwks: { keys: [publicJwk(gzKey)] },
        ...(shape.gdPolicyOnGz ? { metadataPolicy: shape.gdPolicyOnGz } : {}),
      }),
    ],
  ]);
  const served = (jwt: string | undefined, what: string) =>
    jwt ? Promise.resolve(jwt) : Promise.reject(new Error(`HTTP 404 for ${what}`));
  return {
    entityConfiguration: (entityId) => served(configurations.get(entityId), entityId),
    subordinateStatement: (_endpoint, issuer, subject) => served(subordinates.get(`${issuer} ${subject}`), `${issuer} about ${subject}`),
  };
}

/** sz's CrossTierLogin (superior gd) over a real TrustedOps of that federation. */
async function szLogin(shape: Partial<FederationShape> = {}): Promise<CrossTierLogin> {
  const fetcher = await federation({ gdMaxLoa: 'loa3', gzMaxLoa: 'loa3', ...shape });
  const ops = new TrustedOps({
    trustAnchors: [{ entityId: NATIONAL, jwks: { keys: [publicJwk(nationalKey)] } }],
    allowHttpEntityIds: true,
    fetcher,
  });
  return new CrossTierLogin({ self: SZ, superior: GD, ops, clientKey: szRpKey, kv, acrUris: DEFAULT_ACR_URIS, pendingSeconds: 600 });
}

// ---------------------------------------------------------------------------------------------
// A hop: sz pushes, gd answers
// ---------------------------------------------------------------------------------------------

interface Hop {
  uid: string;
  idNumber: string;
  /** What sz pushed to gd. */
  request: Pushed;
}

async function startHop(login: CrossTierLogin, kind: 'natural' | 'legal' = 'natural', params: Record<string, unknown> = {}): Promise<Hop> {
  const uid = uniqueName('interaction');
  const idNumber = syntheticIdNumber(randomDraw);
  const { url, next } = await login.start({ uid, params }, kind, idNumber, GZ);
  const request = pushed.get(new URL(url).searchParams.get('request_uri') ?? '');
  if (next !== GD || !url.startsWith(`${GD}/auth?`) || !request) throw new Error(`the hop did not go to gd: ${next} ${url}`);
  return { uid, idNumber, request };
}

/** The claims gd's ID token carries for this hop unless a test changes them. */
function answerClaims(hop: Hop, loa: LoaLevel = 'loa2'): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: GD,
    sub: 'gd-subject-1',
    aud: SZ,
    iat: now,
    exp: now + 600,
    auth_time: now - 5,
    nonce: hop.request.nonce,
    acr: DEFAULT_ACR_URIS[loa],
    amr: ['pwd', 'sms'],
    home: GZ,
    user_type: 'natural',
    id_number: hop.idNumber,
    name: '张三',
  };
}

async function signIdToken(claims: Record<string, unknown>, key: PrivateJwk = gdOpKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(await importJWK(key, 'ES256'));
}

/**
 * gd issues a code for the challenge of `forHop` (default: the hop itself) answering with
 * `claims`; returns the query string of the callback to sz.
 */
async function answer(
  hop: Hop,
  claims: Record<string, unknown>,
  opts: { forHop?: Hop; iss?: string; key?: PrivateJwk } = {},
): Promise<string> {
  const code = randomBytes(16).toString('base64url');
  codes.set(code, { challenge: (opts.forHop ?? hop).request.code_challenge!, idToken: await signIdToken(claims, opts.key) });
  return `?${new URLSearchParams({ code, state: hop.request.state!, iss: opts.iss ?? GD })}`;
}

async function refused(t: ExecutionContext, finishing: Promise<unknown>, code: RecognitionRefusal, detail?: RegExp): Promise<void> {
  const err = await t.throwsAsync(finishing, { instanceOf: RecognitionError });
  t.is(err?.code, code, err?.message);
  if (detail) t.regex(err!.message, detail);
}

// ---------------------------------------------------------------------------------------------
// The request sz pushes
// ---------------------------------------------------------------------------------------------

test('sz pushes to gd with PKCE (S256), a nonce, the ID number as login_hint, the home and the route', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login, 'natural', { acr_values: DEFAULT_ACR_URIS.loa2, prompt: 'login consent', max_age: '300' });
  const r = hop.request;
  t.is(r.client_id, SZ);
  t.is(r.redirect_uri, `${SZ}/broker/callback`);
  t.is(r.response_type, 'code');
  t.is(r.code_challenge_method, 'S256');
  t.regex(r.code_challenge!, /^[\w-]{43}$/);
  t.truthy(r.nonce);
  t.truthy(r.state);
  t.is(r.login_hint, hop.idNumber);
  t.is(r[HOME_HINT_PARAM], GZ);
  t.is(r[ROUTE_PARAM], SZ);
  t.is(r.acr_values, DEFAULT_ACR_URIS.loa2);
  t.is(r.prompt, 'login', 'only login is passed on');
  t.is(r.max_age, '300');
  t.is(
    r.client_assertion_type,
    'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    'sz authenticates with its key, no shared secret',
  );
  t.false(r.scope!.split(' ').includes('legal_person'));
  const legal = await startHop(login, 'legal');
  t.true(legal.request.scope!.split(' ').includes('legal_person'));
});

// ---------------------------------------------------------------------------------------------
// An answer that checks out
// ---------------------------------------------------------------------------------------------

test('a good answer: the home claims, the asserted level, amr and auth_time; the hop is consumed', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  const claims = answerClaims(hop);
  const query = await answer(hop, claims);
  t.is(await login.pendingInteraction(hop.request.state!), hop.uid);
  const result = await login.finish(query, hop.uid);
  t.like(result, { kind: 'natural', home: GZ, upstream: GD, loa: 'loa2', amr: ['pwd', 'sms'], authTime: claims.auth_time });
  t.is(result.claims.id_number, hop.idNumber);
  t.is(result.claims.sub, 'gd-subject-1');
  t.is(await login.pendingInteraction(hop.request.state!), null);
  await refused(t, login.finish(query, hop.uid), 'hop_expired');
});

// ---------------------------------------------------------------------------------------------
// Mix-ups: iss, nonce, PKCE, state
// ---------------------------------------------------------------------------------------------

test('iss mix-up: an authorization response naming another issuer than gd is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  await refused(t, login.finish(await answer(hop, answerClaims(hop), { iss: GZ }), hop.uid), 'invalid_response', /failed verification/);
});

test('iss mix-up: an ID token issued by another OP than gd is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  await refused(t, login.finish(await answer(hop, { ...answerClaims(hop), iss: GZ }), hop.uid), 'invalid_response', /failed verification/);
});

// Over plain http (the loopback demo) only the signature authenticates the token endpoint's answer.
test("an ID token not signed by gd's keys is refused", async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  await refused(t, login.finish(await answer(hop, answerClaims(hop), { key: await newKey(gdOpKey.kid) }), hop.uid), 'invalid_response');
});

test('an ID token for another audience is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  await refused(t, login.finish(await answer(hop, { ...answerClaims(hop), aud: GZ }), hop.uid), 'invalid_response');
});

test('nonce mix-up: an ID token bound to another hop (or to none) is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  const other = await startHop(login);
  await refused(
    t,
    login.finish(await answer(hop, { ...answerClaims(hop), nonce: other.request.nonce }), hop.uid),
    'invalid_response',
    /failed verification/,
  );
  const third = await startHop(login);
  const { nonce: _, ...withoutNonce } = answerClaims(third);
  await refused(t, login.finish(await answer(third, withoutNonce), third.uid), 'invalid_response', /failed verification/);
});

test("PKCE mix-up: a code issued for another hop's challenge is refused by gd, and the hop fails", async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  const other = await startHop(login);
  await refused(
    t,
    login.finish(await answer(hop, answerClaims(hop), { forHop: other }), hop.uid),
    'invalid_response',
    /failed verification/,
  );
});

test('state: an answer for no pending hop, or for another interaction than the one it was started in, is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  await refused(t, login.finish(`?${new URLSearchParams({ code: 'x', state: 'never-issued', iss: GD })}`, hop.uid), 'hop_expired');
  await refused(t, login.finish(await answer(hop, answerClaims(hop)), 'another-interaction'), 'hop_expired');
  // The hop is consumed either way: the right interaction cannot use it afterwards.
  await refused(t, login.finish(await answer(hop, answerClaims(hop)), hop.uid), 'hop_expired');
});

test("an error answer from gd is upstream_error with gd's error", async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  const query = `?${new URLSearchParams({ error: 'access_denied', error_description: 'the person cancelled', state: hop.request.state!, iss: GD })}`;
  await refused(t, login.finish(query, hop.uid), 'upstream_error', /answered access_denied: the person cancelled/);
});

test("gd's OAuth error code is kept as a field: temporarily_unavailable reads as the home being down, access_denied does not", async (t) => {
  const login = await szLogin();
  const answered = async (error: string) => {
    const hop = await startHop(login);
    const query = `?${new URLSearchParams({ error, state: hop.request.state!, iss: GD })}`;
    return t.throwsAsync(login.finish(query, hop.uid), { instanceOf: RecognitionError });
  };
  const down = await answered('temporarily_unavailable');
  t.is(down?.code, 'upstream_error');
  t.is(down?.upstreamError, 'temporarily_unavailable');
  t.true(down?.homeUnavailable);
  const denied = await answered('access_denied');
  t.is(denied?.upstreamError, 'access_denied');
  t.false(denied?.homeUnavailable);
});

// ---------------------------------------------------------------------------------------------
// home, person kind, level
// ---------------------------------------------------------------------------------------------

test('home mismatch: an answer for another home than the one the login was sent to is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  await refused(
    t,
    login.finish(await answer(hop, { ...answerClaims(hop), home: `${origin}/sz` }), hop.uid),
    'home_mismatch',
    new RegExp(`answered for home ${origin}/sz, the login was sent to ${GZ}`),
  );
  const noHome = await startHop(login);
  const { home: _, ...withoutHome } = answerClaims(noHome);
  await refused(t, login.finish(await answer(noHome, withoutHome), noHome.uid), 'home_mismatch');
});

test('an answer for another kind of person than asked is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login, 'legal');
  await refused(t, login.finish(await answer(hop, answerClaims(hop)), hop.uid), 'invalid_response', /natural person, legal was asked/);
});

test('an acr that is no level of the federation is refused', async (t) => {
  const login = await szLogin();
  const hop = await startHop(login);
  await refused(
    t,
    login.finish(await answer(hop, { ...answerClaims(hop), acr: 'urn:example:loa:9' }), hop.uid),
    'invalid_response',
    /unknown acr/,
  );
});

test("an acr above what gd's real-name-op trust mark allows is refused", async (t) => {
  const login = await szLogin({ gdMaxLoa: 'loa2' });
  const hop = await startHop(login);
  await refused(
    t,
    login.finish(await answer(hop, answerClaims(hop, 'loa3')), hop.uid),
    'loa_above_trust_mark',
    /asserted loa3, its real-name-op trust mark allows at most loa2/,
  );
  const within = await startHop(login);
  t.is((await login.finish(await answer(within, answerClaims(within, 'loa2')), within.uid)).loa, 'loa2', 'up to the mark is believed');
});

test("the level is capped by the home's trust mark", async (t) => {
  const login = await szLogin({ gdMaxLoa: 'loa3', gzMaxLoa: 'loa1' });
  const hop = await startHop(login);
  t.is((await login.finish(await answer(hop, answerClaims(hop, 'loa3')), hop.uid)).loa, 'loa1');
});

test("the level is capped by the levels the federation's policy leaves the home", async (t) => {
  const policy: MetadataPolicy = {
    openid_provider: { acr_values_supported: { subset_of: [DEFAULT_ACR_URIS.loa1, DEFAULT_ACR_URIS.loa2] } },
  };
  const login = await szLogin({ gdMaxLoa: 'loa3', gzMaxLoa: 'loa3', gdPolicyOnGz: policy });
  const hop = await startHop(login);
  t.is((await login.finish(await answer(hop, answerClaims(hop, 'loa3')), hop.uid)).loa, 'loa2');
  // The lower of policy and mark wins.
  const both = await szLogin({ gdMaxLoa: 'loa3', gzMaxLoa: 'loa1', gdPolicyOnGz: policy });
  const second = await startHop(both);
  t.is((await both.finish(await answer(second, answerClaims(second, 'loa3')), second.uid)).loa, 'loa1');
  // Below both caps, the asserted level stands.
  const third = await startHop(login);
  t.is((await login.finish(await answer(third, answerClaims(third, 'loa1')), third.uid)).loa, 'loa1');
});
