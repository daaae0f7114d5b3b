/**
 * A deliberately misconfigurable OP for the conformance suite's own tests: a plain oidc-provider
 * (not gov-id's OP) with a trivial login that speaks the same forms as ours (identifier →
 * password, a csrf field), static clients, an in-memory adapter, and — optionally — an entity
 * configuration with a trust anchor of its own (served by the same server under /anchor).
 *
 * With no weakness it is a sound OP, and every module must pass against it (the control). Each
 * weakness breaks exactly one property, either through oidc-provider's own configuration (PKCE
 * not required, allowOmittingSingleRegisteredRedirectUri, rotateRefreshToken false, long code
 * lifetime, implicit response types…) or through a small shim in front of it that behaves like
 * a broken deployment would (a gateway that forwards any client secret, an error handler that
 * redirects to any redirect_uri, a parser that crashes on bad percent-encoding…).
 *
 * For the recognition plan, one weak OP can recognize the accounts of another (`recognizes`):
 * the stand-in for a visited OP with a one-hop route to the home. An identifier that is not its
 * own goes to the home as a login_hint (the home shows its password page at once), the answer is
 * linked as a recognized account with the home's claims and a level capped by the home's
 * real-name-op trust mark, and a logout is passed to the home (in process, as a back-channel
 * would). Its weaknesses break what a recognition module checks.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as querystring from 'node:querystring';
import Koa from 'koa';
import Provider, { type Adapter, type AdapterPayload, type ClientMetadata } from 'oidc-provider';
import { compactVerify, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { TargetConfig } from '../../../conformance/context.ts';
import type { ModuleResult } from '../../../conformance/types.ts';
import { httpStatementFetcher, resolveTrustChain } from '../../../federation/trust-chain.ts';
import { REAL_NAME_OP } from '../../../federation/trust-marks.ts';
import type { LoaLevel } from '../../../idp/loa.ts';
import { Recognizer, UPSTREAM_CALLBACK_PATH } from './weak-recognition.ts';

export type Weakness =
  // op-config
  | 'discovery-wrong-type'
  | 'no-jwks-uri'
  | 'issuer-mismatch'
  | 'alg-none-advertised'
  | 'implicit'
  | 'pkce-plain-advertised'
  | 'no-par'
  | 'private-jwks'
  // op-basic
  | 'token-cacheable'
  | 'userinfo-other-sub'
  | 'wrong-jwks'
  | 'state-mangled'
  | 'name-without-profile'
  | 'no-refresh-rotation'
  | 'revocation-noop'
  | 'no-iss'
  // op-negative
  | 'pkce-optional'
  | 'pkce-plain'
  | 'pkce-ignored'
  | 'redirect-omittable'
  | 'code-reusable'
  | 'reuse-no-revoke'
  | 'any-client-secret'
  | 'request-uri-reusable'
  | 'large-headers'
  | 'fragile-parser'
  | 'open-redirect-auth'
  | 'open-redirect-logout'
  | 'no-csrf'
  | 'enumeration'
  | 'no-rate-limit'
  // par-fapi2
  | 'par-no-auth'
  | 'assertion-ignored'
  | 'dpop-header-dropped'
  | 'par-not-enforced'
  | 'dpop-off'
  // federation
  | 'ec-wrong-typ'
  | 'ec-bad-signature'
  | 'superior-wrong-key'
  | 'resolve-wrong-metadata'
  | 'resolve-accepts-unknown'
  | 'trust-mark-untrusted-issuer'
  | 'trust-mark-status-lies'
  | 'historical-keys-private'
  // recognition: a plain OP that advertises the recognized claim (and asks every password itself)
  | 'advertise-recognized'
  // recognition, for an OP that `recognizes` another
  | 'no-home-claims'
  | 'acr-above-home-mark'
  | 'sso-ignored'
  | 'logout-not-propagated';

export interface WeakOpOptions {
  weaknesses?: Weakness[];
  /** Authorization code lifetime in seconds (default 60). */
  codeTtl?: number;
  /** The max_loa of its real-name-op trust mark (default loa2). */
  maxLoa?: LoaLevel;
  /** The OP whose accounts this one recognizes, as a visited OP does through the brokers. */
  recognizes?: WeakOp;
}

export interface WeakOp {
  issuer: string;
  anchor: string;
  client: { clientId: string; clientSecret: string; redirectUri: string; postLogoutRedirectUri: string };
  parClient: { clientId: string; clientSecret: string; redirectUri: string };
  jwtClient: { clientId: string; privateJwk: JWK; redirectUri: string };
  user: { username: string; password: string };
  lockoutUser: { username: string; password: string };
  /** A person registered here only (an ID number of this OP's own): the one another OP recognizes. */
  person: { username: string; password: string };
  maxLoa: LoaLevel;
  /** Registers a client (another OP's broker side). */
  addClient(metadata: ClientMetadata): void;
  /** Ends every session of an account: what a back-channel logout from a neighbour does. */
  endSessionsOf(accountId: string): void;
  close(): Promise<void>;
}

const REDIRECT_URI = 'https://rp.weak.invalid/cb';
/** acr values by level, lowest first (the order acr_values_supported publishes them in). */
const ACR = ['urn:weak:loa:1', 'urn:weak:loa:2', 'urn:weak:loa:3'];
const POST_LOGOUT_URI = 'https://rp.weak.invalid/bye';
const LOCKOUT_AFTER = 5;

/** A Map-backed adapter (oidc-provider's memory adapter is not exported), with breakable consume/revoke. */
function memoryAdapter(weak: Set<Weakness>, store: Map<string, AdapterPayload>) {
  const grants = new Map<string, Set<string>>();
  return class MemoryAdapter implements Adapter {
    constructor(readonly model: string) {}
    key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload) {
      store.set(this.key(id), payload);
      if (payload.grantId) {
        const set = grants.get(payload.grantId) ?? new Set<string>();
        set.add(this.key(id));
        grants.set(payload.grantId, set);
      }
    }
    async find(id: string) {
      return store.get(this.key(id));
    }
    async findByUid(uid: string) {
      for (const [k, v] of store) if (k.startsWith(`${this.model}:`) && v.uid === uid) return v;
      return undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async consume(id: string) {
      if (this.model === 'AuthorizationCode' && weak.has('code-reusable')) return;
      if (this.model === 'PushedAuthorizationRequest' && weak.has('request-uri-reusable')) return;
      const p = store.get(this.key(id));
      if (p) p.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      if (weak.has('reuse-no-revoke')) return;
      for (const k of grants.get(grantId) ?? []) store.delete(k);
      grants.delete(grantId);
    }
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function page(title: string, body: string, error?: string): string {
  return `<!DOCTYPE html><html><head><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}${body}</body></html>`;
}

export async function startWeakOp(opts: WeakOpOptions = {}): Promise<WeakOp> {
  const weak = new Set(opts.weaknesses ?? []);
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createServer({ maxHeaderSize: weak.has('large-headers') ? 1024 * 1024 : 16 * 1024 }, (req, res) =>
    handler(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const anchor = `${issuer}/anchor`;
  const maxLoa = opts.maxLoa ?? 'loa2';

  // Keys: the OP's ID token key, the federation keys of the OP and of its anchor, the private_key_jwt client's key.
  const signing = {
    ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    kid: 'weak-sig',
    alg: 'ES256',
    use: 'sig',
  };
  const fedKey = {
    ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    kid: 'weak-fed',
    alg: 'ES256',
  };
  const anchorKey = {
    ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    kid: 'anchor-fed',
    alg: 'ES256',
  };
  const clientKey = {
    ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    kid: 'rp-key',
    alg: 'ES256',
  };
  const pub = (k: JWK) => {
    const { d: _d, ...rest } = k;
    return rest;
  };

  const client = {
    clientId: 'weak-rp',
    clientSecret: 'weak-rp-secret-0123456789',
    redirectUri: REDIRECT_URI,
    postLogoutRedirectUri: POST_LOGOUT_URI,
  };
  const parClient = { clientId: 'weak-par-rp', clientSecret: 'weak-par-secret-0123456789', redirectUri: REDIRECT_URI };
  const jwtClient = { clientId: 'weak-jwt-rp', privateJwk: clientKey as JWK, redirectUri: REDIRECT_URI };
  const secrets = new Map([
    [client.clientId, client.clientSecret],
    [parClient.clientId, parClient.clientSecret],
  ]);
  // The person's identifier is this OP's own (the port in it): to another weak OP, someone registered elsewhere.
  const person = { username: `4401011990${String(port).padStart(8, '0')}`, password: 'Weak-pass-3' };
  const users = new Map([
    ['13900000001', { password: 'Weak-pass-1', sub: 'weak-user-1', name: '测试用户' }],
    ['13900000002', { password: 'Weak-pass-2', sub: 'weak-user-2', name: '锁定用户' }],
    [person.username, { password: person.password, sub: 'weak-person', name: '互认用户' }],
  ]);
  const failures = new Map<string, number>();
  const store = new Map<string, AdapterPayload>();
  const recognizer = opts.recognizes ? new Recognizer(issuer, opts.recognizes, weak, ACR) : null;

  const openidClaims = ['sub', 'acr', ...(weak.has('name-without-profile') ? ['name'] : []), ...(recognizer ? ['home', 'recognized'] : [])];
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(weak, store),
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [REDIRECT_URI],
        post_logout_redirect_uris: [POST_LOGOUT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: parClient.clientId,
        client_secret: parClient.clientSecret,
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        require_pushed_authorization_requests: !weak.has('par-not-enforced'),
      },
      {
        client_id: jwtClient.clientId,
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [pub(clientKey)] },
      },
    ],
    jwks: { keys: [signing] },
    findAccount: async (_ctx, sub) => {
      const recognized = recognizer?.claims(sub);
      if (recognized) return { accountId: sub, claims: async () => recognized };
      const entry = [...users.values()].find((u) => u.sub === sub);
      const local = recognizer ? { home: issuer, recognized: false } : {};
      return entry ? { accountId: sub, claims: async () => ({ sub, name: entry.name, ...local }) } : undefined;
    },
    claims: { openid: openidClaims, profile: ['name'] },
    scopes: ['openid', 'profile', 'offline_access'],
    acrValues: ACR,
    responseTypes: weak.has('implicit') ? ['code', 'id_token', 'code id_token'] : ['code'],
    pkce: { required: () => !(weak.has('pkce-optional') || weak.has('pkce-ignored')) },
    allowOmittingSingleRegisteredRedirectUri: weak.has('redirect-omittable'),
    rotateRefreshToken: !weak.has('no-refresh-rotation'),
    revokeGrantPolicy: () => !weak.has('reuse-no-revoke'),
    issueRefreshToken: async (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    conformIdTokenClaims: false,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    // Weak OPs share a host in the recognition tests (cookies ignore ports): each names its own.
    cookies: {
      keys: ['weak-cookie-key-0123456789'],
      names: { session: `weak_${port}_session`, interaction: `weak_${port}_interaction`, resume: `weak_${port}_resume` },
    },
    ttl: {
      AuthorizationCode: opts.codeTtl ?? 60,
      AccessToken: 600,
      IdToken: 600,
      RefreshToken: 86400,
      Interaction: 600,
      Session: 3600,
      Grant: 86400,
      PushedAuthorizationRequest: 60,
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: !weak.has('no-par') },
      revocation: { enabled: true },
      introspection: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      dPoP: { enabled: !weak.has('dpop-off') },
    },
    enabledJWA: { clientAuthSigningAlgValues: ['ES256', 'PS256'] },
    clientBasedCORS: () => false,
  });
  provider.on('server_error', () => {});
  provider.on('end_session.success', (ctx) => {
    const session = ctx.oidc.session as { accountId?: string; destroyed?: boolean } | undefined;
    if (session?.destroyed && session.accountId) recognizer?.loggedOut(session.accountId);
  });

  const csrfFor = (uid: string) => (weak.has('no-csrf') ? 'unused' : createHash('sha256').update(`csrf:${uid}`).digest('base64url'));

  // ---- federation ---------------------------------------------------------------------------
  const sign = async (claimsSet: Record<string, unknown>, key: JWK, typ: string) =>
    new SignJWT(claimsSet)
      .setProtectedHeader({ alg: 'ES256', kid: key.kid!, typ })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(await importJWK(key, 'ES256'));
  const opMetadata = {
    openid_provider: { issuer },
    federation_entity: { organization_name: 'weak OP', federation_historical_keys_endpoint: `${issuer}/federation/historical-keys` },
  };
  const retired = {
    ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    kid: 'weak-fed-old',
    alg: 'ES256',
  };
  // A trust mark for the OP, issued by the anchor (or, as a weakness, by the OP itself).
  const markType = REAL_NAME_OP;
  const trustMark = () =>
    weak.has('trust-mark-untrusted-issuer')
      ? sign({ iss: issuer, sub: issuer, trust_mark_type: markType, max_loa: maxLoa }, fedKey, 'trust-mark+jwt')
      : sign({ iss: anchor, sub: issuer, trust_mark_type: markType, max_loa: maxLoa }, anchorKey, 'trust-mark+jwt');
  const markStatus = async (jwt: string) => {
    if (weak.has('trust-mark-status-lies')) return 'active';
    try {
      const { payload } = await compactVerify(jwt, await importJWK(pub(anchorKey), 'ES256'));
      return JSON.parse(new TextDecoder().decode(payload)).sub === issuer ? 'active' : 'invalid';
    } catch {
      return 'invalid';
    }
  };
  const entityConfiguration = async () => {
    const jwt = await sign(
      {
        iss: issuer,
        sub: issuer,
        jwks: { keys: [pub(fedKey)] },
        metadata: opMetadata,
        authority_hints: [anchor],
        trust_marks: [{ trust_mark_type: markType, trust_mark: await trustMark() }],
      },
      fedKey,
      weak.has('ec-wrong-typ') ? 'JWT' : 'entity-statement+jwt',
    );
    if (!weak.has('ec-bad-signature')) return jwt;
    const [h, p, s] = jwt.split('.');
    const sig = Buffer.from(s!, 'base64url');
    sig[5] = sig[5]! ^ 0xff;
    return `${h}.${p}.${sig.toString('base64url')}`;
  };
  const anchorConfiguration = () =>
    sign(
      {
        iss: anchor,
        sub: anchor,
        jwks: { keys: [pub(anchorKey)] },
        metadata: {
          federation_entity: {
            federation_fetch_endpoint: `${anchor}/fetch`,
            federation_list_endpoint: `${anchor}/list`,
            federation_resolve_endpoint: `${anchor}/resolve`,
            federation_trust_mark_status_endpoint: `${anchor}/status`,
          },
        },
        trust_mark_issuers: { [markType]: [anchor] },
      },
      anchorKey,
      'entity-statement+jwt',
    );
  const subordinateStatement = async () => {
    const otherKey = {
      ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)),
      kid: 'someone-else',
      alg: 'ES256',
    };
    return sign(
      { iss: anchor, sub: issuer, jwks: { keys: [weak.has('superior-wrong-key') ? otherKey : pub(fedKey)] } },
      anchorKey,
      'entity-statement+jwt',
    );
  };

  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    const path = ctx.path;
    // ---- federation endpoints ----
    if (path === '/.well-known/openid-federation') {
      ctx.type = 'application/entity-statement+jwt';
      ctx.body = await entityConfiguration();
      return;
    }
    if (path === '/federation/historical-keys') {
      ctx.type = 'application/jwk-set+jwt';
      ctx.body = await sign(
        {
          iss: issuer,
          keys: [{ ...(weak.has('historical-keys-private') ? retired : pub(retired)), exp: Math.floor(Date.now() / 1000) - 3600 }],
        },
        fedKey,
        'jwk-set+jwt',
      );
      return;
    }
    if (path === '/anchor/.well-known/openid-federation') {
      ctx.type = 'application/entity-statement+jwt';
      ctx.body = await anchorConfiguration();
      return;
    }
    if (path === '/anchor/fetch') {
      if (ctx.query.sub !== issuer) {
        ctx.status = 404;
        ctx.body = { error: 'not_found', error_description: 'unknown subordinate' };
        return;
      }
      ctx.type = 'application/entity-statement+jwt';
      ctx.body = await subordinateStatement();
      return;
    }
    if (path === '/anchor/status' && ctx.method === 'POST') {
      const form = querystring.parse(await readBody(ctx.req));
      const jwt = String(form.trust_mark ?? '');
      ctx.type = 'application/trust-mark-status-response+jwt';
      ctx.body = await sign({ iss: anchor, trust_mark: jwt, status: await markStatus(jwt) }, anchorKey, 'trust-mark-status-response+jwt');
      return;
    }
    if (path === '/anchor/resolve') {
      const sub = String(ctx.query.sub ?? '');
      if (ctx.query.trust_anchor !== anchor || (sub !== issuer && !weak.has('resolve-accepts-unknown'))) {
        ctx.status = 404;
        ctx.body = { error: ctx.query.trust_anchor !== anchor ? 'invalid_trust_anchor' : 'not_found', error_description: 'cannot resolve' };
        return;
      }
      let metadata: Record<string, unknown> = { openid_provider: { issuer: sub } };
      let trustChain: string[] = [];
      if (sub === issuer) {
        const chain = await resolveTrustChain(issuer, {
          trustAnchors: [{ entityId: anchor, jwks: { keys: [pub(anchorKey)] } }],
          fetcher: httpStatementFetcher(),
          allowHttpEntityIds: true,
        });
        metadata = chain.metadata;
        trustChain = chain.statements;
      }
      if (weak.has('resolve-wrong-metadata'))
        metadata = { ...metadata, openid_provider: { ...(metadata.openid_provider as object), issuer: 'https://someone-else.example' } };
      ctx.type = 'application/resolve-response+jwt';
      ctx.body = await sign({ iss: anchor, sub, metadata, trust_chain: trustChain }, anchorKey, 'resolve-response+jwt');
      return;
    }

    // ---- shims that misbehave like broken deployments ----
    if (ctx.get('x-weak-internal') !== '1') {
      if (
        path === '/.well-known/openid-configuration' &&
        [
          'issuer-mismatch',
          'alg-none-advertised',
          'pkce-plain-advertised',
          'pkce-plain',
          'no-iss',
          'discovery-wrong-type',
          'no-jwks-uri',
          'advertise-recognized',
        ].some((w) => weak.has(w as Weakness))
      ) {
        const d = (await (await fetch(`${issuer}${ctx.url}`, { headers: { 'x-weak-internal': '1' } })).json()) as Record<string, unknown>;
        if (weak.has('no-jwks-uri')) delete d.jwks_uri;
        if (weak.has('advertise-recognized')) d.claims_supported = [...(d.claims_supported as string[]), 'home', 'recognized'];
        if (weak.has('discovery-wrong-type')) {
          ctx.type = 'text/plain';
          ctx.body = JSON.stringify(d);
          return;
        }
        if (weak.has('issuer-mismatch')) d.issuer = `${issuer}/`;
        if (weak.has('alg-none-advertised'))
          d.id_token_signing_alg_values_supported = [...(d.id_token_signing_alg_values_supported as string[]), 'none'];
        if (weak.has('pkce-plain-advertised') || weak.has('pkce-plain')) d.code_challenge_methods_supported = ['S256', 'plain'];
        if (weak.has('no-iss')) d.authorization_response_iss_parameter_supported = false;
        ctx.body = d;
        return;
      }
      if (path === '/jwks' && (weak.has('wrong-jwks') || weak.has('private-jwks'))) {
        const other = {
          ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)),
          kid: signing.kid,
          alg: 'ES256',
          use: 'sig',
        };
        ctx.body = { keys: [weak.has('private-jwks') ? signing : other] };
        return;
      }
    }
    if (path === '/auth') {
      if (weak.has('fragile-parser')) decodeURIComponent(ctx.querystring); // throws URIError → 500
      const q = new URLSearchParams(ctx.querystring);
      if (
        weak.has('open-redirect-auth') &&
        !secrets.has(q.get('client_id') ?? '') &&
        q.get('client_id') !== jwtClient.clientId &&
        q.get('redirect_uri')
      ) {
        return ctx.redirect(`${q.get('redirect_uri')}?error=invalid_client`);
      }
      if (weak.has('pkce-plain') && q.get('code_challenge_method') === 'plain') {
        q.set(
          'code_challenge',
          createHash('sha256')
            .update(q.get('code_challenge') ?? '')
            .digest('base64url'),
        );
        q.set('code_challenge_method', 'S256');
        ctx.querystring = q.toString();
      }
      if (weak.has('pkce-ignored')) {
        q.delete('code_challenge');
        q.delete('code_challenge_method');
        ctx.querystring = q.toString();
      }
    }
    if (path === '/session/end' && weak.has('open-redirect-logout') && ctx.query.post_logout_redirect_uri) {
      return ctx.redirect(String(ctx.query.post_logout_redirect_uri));
    }
    if (path === '/me' && weak.has('userinfo-other-sub') && ctx.get('x-weak-internal') !== '1') {
      const res = await fetch(`${issuer}/me`, { headers: { authorization: ctx.get('authorization'), 'x-weak-internal': '1' } });
      const info = (await res.json()) as Record<string, unknown>;
      ctx.status = res.status;
      ctx.body = res.status === 200 ? { ...info, sub: 'someone-else' } : info;
      return;
    }
    if (path === '/request' && weak.has('par-no-auth') && !ctx.get('authorization')) {
      ctx.req.headers.authorization = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    }
    if (path === '/token' && weak.has('dpop-header-dropped')) delete ctx.req.headers.dpop;
    if (path === '/token/revocation' && weak.has('revocation-noop')) {
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    if (
      path === '/token' &&
      ctx.method === 'POST' &&
      (weak.has('pkce-ignored') || weak.has('any-client-secret') || weak.has('assertion-ignored'))
    ) {
      const body = querystring.parse(await readBody(ctx.req));
      if (weak.has('pkce-ignored')) delete body.code_verifier;
      if (weak.has('assertion-ignored') && body.client_assertion && typeof body.client_id === 'string' && secrets.has(body.client_id)) {
        // A gateway that "helps": it authenticates the client itself and drops the assertion unchecked.
        delete body.client_assertion;
        delete body.client_assertion_type;
        ctx.req.headers.authorization = `Basic ${Buffer.from(`${body.client_id}:${secrets.get(body.client_id)}`).toString('base64')}`;
        delete body.client_id;
      }
      const basic = /^Basic (.+)$/.exec(ctx.get('authorization'))?.[1];
      if (weak.has('any-client-secret') && basic) {
        const id = decodeURIComponent(Buffer.from(basic, 'base64').toString().split(':')[0]!);
        const secret = secrets.get(id);
        if (secret)
          ctx.req.headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
      }
      (ctx.req as IncomingMessage & { body?: unknown }).body = body;
    }

    // ---- the home's answer to a recognized login: continue where the interaction cookie is sent ----
    if (path === UPSTREAM_CALLBACK_PATH && recognizer) {
      const uid = recognizer.interactionOf(new URLSearchParams(ctx.querystring));
      if (!uid) {
        ctx.status = 400;
        ctx.body = page('会话已过期', '', 'session expired');
        return;
      }
      ctx.status = 303;
      ctx.redirect(`/interaction/${uid}/upstream?${ctx.querystring}`);
      return;
    }

    // ---- the login pages (the same forms as gov-id's) ----
    const m = /^\/interaction\/([^/]+)(?:\/(identifier|password|upstream))?$/.exec(path);
    if (m) {
      const [, uid, step] = m;
      let details;
      try {
        details = await provider.interactionDetails(ctx.req, ctx.res);
      } catch {
        ctx.status = 400;
        ctx.body = page('会话已过期', '', 'session expired');
        return;
      }
      if (details.uid !== uid) {
        ctx.status = 400;
        ctx.body = page('会话已过期', '', 'session expired');
        return;
      }
      const form = ctx.method === 'POST' ? (querystring.parse(await readBody(ctx.req)) as Record<string, string>) : {};
      if (ctx.method === 'POST' && !weak.has('no-csrf') && form.csrf !== csrfFor(uid!)) {
        ctx.status = 403;
        ctx.body = page('错误', '', 'csrf');
        return;
      }
      const csrf = `<input type="hidden" name="csrf" value="${csrfFor(uid!)}">`;
      const identifierForm = (error?: string) =>
        page(
          '登录',
          `<form method="post" action="/interaction/${uid}/identifier">${csrf}<input name="identifier" type="text"><button>下一步</button></form>`,
          error,
        );
      const passwordForm = (identifier: string, error?: string) =>
        page(
          '输入密码',
          `<form method="post" action="/interaction/${uid}/password">${csrf}<input type="hidden" name="identifier" value="${esc(identifier)}"><input name="password" type="password"><button>登录</button></form>`,
          error,
        );
      if (details.prompt.name === 'consent') {
        const grant = details.grantId
          ? (await provider.Grant.find(details.grantId))!
          : new provider.Grant({ accountId: details.session!.accountId!, clientId: String(details.params.client_id) });
        const missing = details.prompt.details.missingOIDCScope as string[] | undefined;
        if (missing) grant.addOIDCScope(missing.join(' '));
        const missingClaims = details.prompt.details.missingOIDCClaims as string[] | undefined;
        if (missingClaims) grant.addOIDCClaims(missingClaims);
        const grantId = await grant.save();
        ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true }));
        ctx.status = 303;
        return;
      }
      if (step === 'upstream' && recognizer) {
        const login = await recognizer.finish(new URLSearchParams(ctx.querystring));
        ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false }));
        ctx.status = 303;
        return;
      }
      if (!step) {
        // Another OP sending the person home names them (login_hint): the password page at once.
        const hint = details.params.login_hint;
        ctx.body = typeof hint === 'string' && hint ? passwordForm(hint) : identifierForm();
        return;
      }
      const identifier = String(form.identifier ?? '');
      if (step === 'identifier') {
        // The stand-in for the registry of homes: whoever is not registered here is registered at the home.
        if (recognizer && !users.has(identifier)) {
          ctx.status = 303;
          ctx.redirect(recognizer.start(uid!, identifier));
          return;
        }
        ctx.body = passwordForm(identifier);
        return;
      }
      const user = users.get(identifier);
      if (!weak.has('no-rate-limit') && (failures.get(identifier) ?? 0) >= LOCKOUT_AFTER) {
        ctx.status = 429;
        ctx.body = passwordForm(identifier, '尝试次数过多，账号已锁定');
        return;
      }
      if (!user || user.password !== form.password) {
        failures.set(identifier, (failures.get(identifier) ?? 0) + 1);
        ctx.status = 401;
        ctx.body = passwordForm(identifier, weak.has('enumeration') ? (user ? '密码错误' : '用户不存在') : '账号或密码错误');
        return;
      }
      failures.delete(identifier);
      ctx.redirect(
        await provider.interactionResult(
          ctx.req,
          ctx.res,
          { login: { accountId: user.sub, acr: ACR[0]! } },
          { mergeWithLastSubmission: false },
        ),
      );
      ctx.status = 303;
      return;
    }
    await next();
  });
  app.use(async (ctx) => {
    ctx.respond = false;
    await provider.callback()(ctx.req, ctx.res);
  });
  const koaHandler = app.callback();
  handler = (req, res) => {
    // Rewrites of the authorization response a broken deployment might do.
    if (weak.has('no-iss') || weak.has('state-mangled') || weak.has('token-cacheable')) {
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name: string, value: number | string | readonly string[]) => {
        if (weak.has('token-cacheable') && name.toLowerCase() === 'cache-control' && req.url?.startsWith('/token'))
          value = 'public, max-age=60';
        if (name.toLowerCase() === 'location' && typeof value === 'string' && value.startsWith(REDIRECT_URI)) {
          const u = new URL(value);
          if (weak.has('no-iss')) u.searchParams.delete('iss');
          const state = u.searchParams.get('state');
          if (weak.has('state-mangled') && state) u.searchParams.set('state', state.replace(/\+/g, ' ').replace(/\//g, ''));
          value = u.toString();
        }
        return setHeader(name, value);
      };
    }
    void koaHandler(req, res);
  };

  return {
    issuer,
    anchor,
    client,
    parClient,
    jwtClient,
    user: { username: '13900000001', password: 'Weak-pass-1' },
    lockoutUser: { username: '13900000002', password: 'Weak-pass-2' },
    person,
    maxLoa,
    addClient(metadata) {
      // oidc-provider looks a client up in the adapter when it is not one of the configuration's.
      store.set(`Client:${metadata.client_id}`, metadata as AdapterPayload);
    },
    endSessionsOf(accountId) {
      for (const [key, payload] of store) if (key.startsWith('Session:') && payload.accountId === accountId) store.delete(key);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The suite's configuration for a weak OP: its clients and users, as a tester would give them. */
export function targetOf(op: WeakOp, extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    issuer: op.issuer,
    entityId: op.issuer,
    scope: 'openid profile',
    slow: false,
    maxCodeTtlSeconds: 60,
    timeoutMs: 5000,
    client: { ...op.client, authMethod: 'client_secret_basic' },
    parClient: { ...op.parClient, authMethod: 'client_secret_basic' },
    jwtClient: { ...op.jwtClient, authMethod: 'private_key_jwt' },
    user: op.user,
    lockoutUser: op.lockoutUser,
    ...extra,
  };
}

/** A result in one line, for assertion messages and logs. */
export const line = (r: ModuleResult) => `${r.status} ${r.module}: ${r.reason ?? ''} — ${r.evidence ?? ''}`;
