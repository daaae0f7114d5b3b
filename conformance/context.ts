/**
 * What the modules share while a run lasts: the target's configuration, its discovery document
 * and keys, the test user's browser session, and the building blocks of OAuth exchanges
 * (authorization requests through the browser, token requests with client authentication).
 *
 * Shared steps are "prerequisites": done once, by the first module that needs them. When one
 * fails, that module fails with the reason, and every later module that needs it is skipped
 * with "prerequisite failed … (reported by MODULE)", so a broken step is reported exactly once
 * as a failure and never lets another module pass.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, importJWK, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose';
import { Browser, type Page } from './browser.ts';
import { basicAuth, describe, request, shortJson, shortUrl, type HttpResponse } from './http.ts';
import { completeInteraction, type Credentials } from './login-driver.ts';
import { Fail, Skip } from './types.ts';

export interface ClientConfig {
  clientId: string;
  clientSecret?: string;
  /** How the client authenticates at the token, PAR, revocation and introspection endpoints. */
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  /** For private_key_jwt: the client's private key (a JWK with alg or kty EC/RSA/OKP). */
  privateJwk?: JWK;
  /** A redirect URI registered for the client, exactly. Nothing needs to listen there: the browser stops before it. */
  redirectUri: string;
  /** A post-logout redirect URI registered for the client, if any. */
  postLogoutRedirectUri?: string;
}

/** Mutual recognition: a person registered at another OP of the federation, their home. */
export interface HomeConfig {
  /** The home OP's issuer, which is also its Entity Identifier and the `home` the target must assert. */
  issuer: string;
  /** The person, with the identifier the target's login page takes for someone registered elsewhere (gov-id: the ID number). */
  user: Credentials;
}

export interface TargetConfig {
  issuer: string;
  /** The main test client. */
  client?: ClientConfig;
  /** A client registered to require PAR (par-fapi2). */
  parClient?: ClientConfig;
  /** A client registered with private_key_jwt (par-fapi2). */
  jwtClient?: ClientConfig;
  /** The test user (a real account at the target). */
  user?: Credentials;
  /** A second account the rate-limit probe may lock out. */
  lockoutUser?: Credentials;
  /** The person the recognition plan logs in at the target, and their home. */
  home?: HomeConfig;
  /** The Entity Identifier checked by the federation plan (default: the issuer). */
  entityId: string;
  trustAnchor?: string;
  trustAnchorJwks?: { keys: JWK[] };
  /** Scope of the test logins (default "openid profile"). */
  scope: string;
  /** Allow modules that wait (the code lifetime check). */
  slow: boolean;
  /** The longest authorization code lifetime accepted, in seconds (default 60). */
  maxCodeTtlSeconds: number;
  /** Per-request timeout in milliseconds. */
  timeoutMs: number;
}

export interface AuthResult {
  /** The authorization request URL. */
  requestUrl: string;
  /** Where the navigation ended: off the OP (left: true, url = where it was sent), or a page of the OP. */
  page: Page;
  /** The redirect back to the client, when the browser was sent to its redirect URI. */
  callback: URL | null;
  verifier: string;
  state: string;
  nonce: string;
}

export interface TokenSet {
  access_token: string;
  token_type: string;
  id_token?: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  [member: string]: unknown;
}

export interface Session {
  browser: Browser;
  first: AuthResult;
}

const b64url = (buf: Buffer) => buf.toString('base64url');
export const randomToken = (bytes = 16) => b64url(randomBytes(bytes));
export const pkceChallenge = (verifier: string) => b64url(createHash('sha256').update(verifier).digest());

export type Discovery = Record<string, unknown> & { issuer?: unknown };

/** The redirect back to the client, when the browser was sent to its redirect URI. */
export function callbackOf(page: Page, client: ClientConfig): URL | null {
  return page.left && page.url.split(/[?#]/)[0] === client.redirectUri.split(/[?#]/)[0] ? new URL(page.url) : null;
}

export class ConformanceContext {
  /** The module running now (set by the runner). */
  currentModule = '';
  private readonly prereqs = new Map<string, { promise: Promise<unknown>; owner: string }>();

  constructor(readonly config: TargetConfig) {}

  /** A step shared by modules, done once; see the file comment for how its failure is reported. */
  async prereq<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let entry = this.prereqs.get(key);
    if (!entry) {
      entry = { promise: fn(), owner: this.currentModule };
      entry.promise.catch(() => {});
      this.prereqs.set(key, entry);
    }
    try {
      return (await entry.promise) as T;
    } catch (err) {
      if (err instanceof Skip || entry.owner === this.currentModule) throw err;
      throw new Skip(`prerequisite failed: ${key} (reported by ${entry.owner})`);
    }
  }

  // ---- discovery and keys -------------------------------------------------------------------

  get discoveryUrl(): string {
    return `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  }

  /** The discovery response as fetched (prerequisite "discovery"). */
  discoveryResponse(): Promise<HttpResponse> {
    return this.prereq('discovery', async () => {
      const res = await request(this.discoveryUrl, { timeoutMs: this.config.timeoutMs });
      if (res.status !== 200) throw new Fail(`the discovery document is not served (HTTP ${res.status})`, describe(res));
      if (!res.json || typeof res.json !== 'object' || Array.isArray(res.json))
        throw new Fail('the discovery document is not a JSON object', describe(res));
      return res;
    });
  }

  async discovery(): Promise<Discovery> {
    return (await this.discoveryResponse()).json as Discovery;
  }

  /** An endpoint from discovery; Skip when `optional` and absent, Fail otherwise. */
  async endpoint(name: string, optional = false): Promise<string> {
    const d = await this.discovery();
    const v = d[name];
    if (typeof v === 'string' && URL.canParse(v)) return v;
    if (optional) throw new Skip(`the target does not advertise ${name}`);
    throw new Fail(`discovery has no ${name}`, `${name}: ${JSON.stringify(v)}`);
  }

  /** The OP's signing keys from jwks_uri (prerequisite "jwks"). */
  jwks(): Promise<{ keys: JWK[]; getKey: JWTVerifyGetKey; response: HttpResponse }> {
    return this.prereq('jwks', async () => {
      const uri = await this.endpoint('jwks_uri');
      const res = await request(uri, { timeoutMs: this.config.timeoutMs });
      const body = res.json as { keys?: unknown } | undefined;
      if (res.status !== 200 || !body || !Array.isArray(body.keys)) throw new Fail('jwks_uri does not serve a JWK Set', describe(res));
      const keys = body.keys as JWK[];
      return { keys, getKey: createLocalJWKSet({ keys }), response: res };
    });
  }

  // ---- configuration ------------------------------------------------------------------------

  requireClient(): ClientConfig {
    if (!this.config.client) throw new Skip('needs a test client (--client-id/--client-secret, or --register)');
    return this.config.client;
  }

  requireUser(): Credentials {
    if (!this.config.user) throw new Skip('needs a test user (--username/--password, or --register)');
    return this.config.user;
  }

  /** The origins the browser treats as the OP (it follows redirects within them). */
  async opOrigins(): Promise<Set<string>> {
    const origins = new Set([new URL(this.config.issuer).origin]);
    const d = await this.discovery().catch(() => ({}) as Discovery);
    for (const k of ['authorization_endpoint', 'end_session_endpoint']) {
      const v = d[k];
      if (typeof v === 'string' && URL.canParse(v)) origins.add(new URL(v).origin);
    }
    return origins;
  }

  async newBrowser(): Promise<Browser> {
    return new Browser(await this.opOrigins());
  }

  // ---- authorization requests ---------------------------------------------------------------

  /** The parameters of an authorization request (PKCE S256, state, nonce); `params` override or remove (undefined). */
  requestParameters(params: Record<string, string | undefined> = {}, client = this.requireClient()) {
    const verifier = randomToken(32);
    const all: Record<string, string | undefined> = {
      client_id: client.clientId,
      response_type: 'code',
      scope: this.config.scope,
      redirect_uri: client.redirectUri,
      state: randomToken(),
      nonce: randomToken(),
      code_challenge: pkceChallenge(verifier),
      code_challenge_method: 'S256',
      ...params,
    };
    return { all, verifier };
  }

  /**
   * An authorization request URL for `client` with PKCE S256, state and nonce; `params` override
   * or (with undefined) remove parameters.
   */
  async authorizationRequest(params: Record<string, string | undefined> = {}, client = this.requireClient()) {
    const { all, verifier } = this.requestParameters(params, client);
    const url = new URL(await this.endpoint('authorization_endpoint'));
    for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
    return { url: url.toString(), verifier, state: all.state ?? '', nonce: all.nonce ?? '' };
  }

  /**
   * Sends the browser (default: the test user's logged-in session) to the authorization
   * endpoint and, unless `interact` is false, completes login and consent if the OP asks.
   */
  async authorize(
    params: Record<string, string | undefined> = {},
    opts: { browser?: Browser; client?: ClientConfig; interact?: boolean; user?: Credentials } = {},
  ): Promise<AuthResult> {
    const client = opts.client ?? this.requireClient();
    const req = await this.authorizationRequest(params, client);
    return this.openAuthorization(req.url, { verifier: req.verifier, state: req.state, nonce: req.nonce }, client, opts);
  }

  /** Opens an authorization URL (e.g. one with a request_uri) in a browser; see authorize. */
  async openAuthorization(
    url: string,
    secrets: { verifier: string; state: string; nonce: string },
    client: ClientConfig,
    opts: { browser?: Browser; interact?: boolean; user?: Credentials } = {},
  ): Promise<AuthResult> {
    const browser = opts.browser ?? (await this.session()).browser;
    let page = await browser.navigate(url);
    if (opts.interact !== false && !page.left) page = await completeInteraction(browser, page, opts.user ?? this.config.user);
    return { requestUrl: url, page, callback: callbackOf(page, client), ...secrets };
  }

  /** The test user's browser, logged in once with a full authorization (prerequisite "login"). */
  session(): Promise<Session> {
    return this.prereq('login', async () => {
      const user = this.requireUser();
      const client = this.requireClient();
      const browser = await this.newBrowser();
      const req = await this.authorizationRequest({}, client);
      const first = await this.openAuthorization(req.url, req, client, { browser, user });
      if (!first.callback)
        throw new Fail('the login did not end at the redirect URI', `${shortUrl(first.page.url)} (${first.page.status})`);
      return { browser, first };
    });
  }

  /** A fresh authorization code from the logged-in session (Fail if none is issued). */
  async code(params: Record<string, string | undefined> = {}, client?: ClientConfig): Promise<AuthResult & { code: string }> {
    const a = await this.authorize(params, client ? { client } : {});
    const code = a.callback?.searchParams.get('code');
    if (!code)
      throw new Fail(
        'no authorization code was issued for a valid request',
        `${shortUrl(a.requestUrl)} → ${a.page.left ? shortUrl(a.page.url) : `${a.page.status} ${a.page.url}`}`,
      );
    return { ...a, code };
  }

  // ---- token endpoint and friends -----------------------------------------------------------

  /** Adds the client's authentication to a request body and headers. */
  async authenticate(client: ClientConfig, body: URLSearchParams, headers: Record<string, string>, audience: string): Promise<void> {
    switch (client.authMethod) {
      case 'client_secret_basic':
        headers.authorization = basicAuth(client.clientId, client.clientSecret ?? '');
        break;
      case 'client_secret_post':
        body.set('client_id', client.clientId);
        body.set('client_secret', client.clientSecret ?? '');
        break;
      case 'private_key_jwt': {
        const jwk = client.privateJwk!;
        const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : jwk.kty === 'OKP' ? 'EdDSA' : 'PS256');
        const assertion = await new SignJWT({})
          .setProtectedHeader({ alg, ...(jwk.kid ? { kid: jwk.kid } : {}) })
          .setIssuer(client.clientId)
          .setSubject(client.clientId)
          .setAudience(audience)
          .setJti(randomToken())
          .setIssuedAt()
          .setExpirationTime('60s')
          .sign(await importJWK(jwk, alg));
        body.set('client_id', client.clientId);
        body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        body.set('client_assertion', assertion);
        break;
      }
      case 'none':
        body.set('client_id', client.clientId);
        break;
    }
  }

  /**
   * POSTs a form to an endpoint with client authentication (`client: null` sends none;
   * `headers` may override, e.g. a wrong Authorization header).
   */
  async post(
    endpoint: string,
    params: Record<string, string> | URLSearchParams,
    opts: { client?: ClientConfig | null; headers?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    const body = new URLSearchParams(params);
    const headers: Record<string, string> = {};
    const client = opts.client === undefined ? this.requireClient() : opts.client;
    if (client) await this.authenticate(client, body, headers, this.config.issuer);
    Object.assign(headers, opts.headers);
    return request(endpoint, { form: body, headers, timeoutMs: this.config.timeoutMs });
  }

  async tokenRequest(
    params: Record<string, string> | URLSearchParams,
    opts: { client?: ClientConfig | null; headers?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    return this.post(await this.endpoint('token_endpoint'), params, opts);
  }

  /** Redeems a code; Fail unless the token endpoint answers 200 with an access token. */
  async redeem(code: string, verifier: string, client = this.requireClient()): Promise<{ tokens: TokenSet; response: HttpResponse }> {
    const res = await this.tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
      { client },
    );
    const tokens = res.json as TokenSet | undefined;
    if (res.status !== 200 || !tokens || typeof tokens.access_token !== 'string')
      throw new Fail('the token endpoint did not redeem a valid code', describe(res));
    return { tokens, response: res };
  }

  /** New tokens for the test user through the logged-in session. */
  async freshTokens(params: Record<string, string | undefined> = {}): Promise<{ tokens: TokenSet; auth: AuthResult & { code: string } }> {
    const auth = await this.code(params);
    const { tokens } = await this.redeem(auth.code, auth.verifier);
    return { tokens, auth };
  }

  async introspect(token: string, hint?: string): Promise<HttpResponse> {
    return this.post(await this.endpoint('introspection_endpoint', true), { token, ...(hint ? { token_type_hint: hint } : {}) });
  }

  /** Whether an access token still works: by introspection when offered, otherwise at userinfo. */
  async accessTokenActive(token: string, tokenType = 'Bearer'): Promise<{ active: boolean; evidence: string }> {
    const d = await this.discovery();
    if (typeof d.introspection_endpoint === 'string') {
      const res = await this.introspect(token, 'access_token');
      const body = res.json as { active?: unknown } | undefined;
      if (res.status !== 200 || typeof body?.active !== 'boolean')
        throw new Fail('the introspection endpoint did not answer', describe(res));
      return { active: body.active, evidence: `introspection → ${shortJson({ active: body.active })}` };
    }
    const res = await request(await this.endpoint('userinfo_endpoint'), {
      headers: { authorization: `${tokenType} ${token}` },
      timeoutMs: this.config.timeoutMs,
    });
    return { active: res.status === 200, evidence: describe(res) };
  }
}
