/**
 * A relying portal (互联网政务服务门户) of the federation: a server-rendered web application and
 * an OpenID Connect relying party of its OP (for a city of a hybrid province: the province's
 * OP). The portal's client_id is its entity ID; the OP accepts it by automatic registration
 * through its trust chain, so the portal pushes every authorization request (PAR) and
 * authenticates with private_key_jwt, signed with its own client key (kept encrypted in its
 * database, apart from its federation keys). It talks to the OP over HTTP only.
 *
 * Routes: `GET /` home (with the catalog's search and browse links), the catalog's pages
 * (catalog-routes.ts, read from the services entity's catalog API), the case pages (case-routes.ts:
 * apply, 我的办件, 办件查询, the staff workbench), ask, rate and my space (voice-routes.ts: /my/…,
 * /rate/…, /ask, /ratings, staff views under /staff/…), the e-license pages
 * (license-routes.ts: 我的证照 and the public verify page), `POST /login` (field `as=legal` asks for the legal_person scope),
 * `GET /callback`, `POST /logout` (RP-initiated logout at the OP), `POST /backchannel-logout`.
 * Pending sign-ins and portal sessions live in the key-value store; the browser holds random
 * ids in HttpOnly, SameSite=Lax cookies whose names carry the entity ID (all demo entities share
 * one host, and cookies ignore ports).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import * as oidc from 'openid-client';
import { answerJson, answerPage } from '../infra/error-responses.ts';
import { createApp, refuseOtherMethods } from '../infra/http-server.ts';
import { parseFormBody } from '../infra/request-body.ts';
import { hmac, randomToken, safeEqual } from '../infra/crypto.ts';
import { loadKeys, publicJwk, type PrivateJwk } from '../infra/entity-keys.ts';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import { isMessageKey, pickLocale, translator, type Locale, type MessageKey } from './i18n.ts';
import { OpConnection } from './op-connection.ts';
import { CatalogClient, type BrowseCounts } from './catalog-client.ts';
import { addCatalogRoutes } from './catalog-routes.ts';
import { addDataUseRoutes } from './data-use-routes.ts';
import { addCaseRoutes } from './case-routes.ts';
import { CaseClient } from './case-client.ts';
import { addLicenseRoutes } from './license-routes.ts';
import { LicenseClient } from './license-client.ts';
import { catalogHome, type CatalogPageContext } from './views/catalog-pages.ts';
import { LOGOUT_TOKEN_MAX_AGE_SECONDS, LogoutTokenError } from '../infra/logout-token.ts';
import { PENDING_TTL_SECONDS, PortalState, SESSION_TTL_SECONDS, type PendingLogin } from './portal-state.ts';
import { errorPage, homePage, type PageContext, type SignedInView } from './views/pages.ts';
import { stylesheet, STYLESHEET_PATH } from './views/stylesheet.ts';
import { formFields } from './form-fields.ts';
import { addVoicePages } from './voice-routes.ts';
import { VoiceClient } from './voice-client.ts';

export const CALLBACK_PATH = '/callback';
export const BACKCHANNEL_LOGOUT_PATH = '/backchannel-logout';
/**
 * OpenID scopes the portal may ask for; `legal_person` only when the person signs in for an
 * organization. It also asks for `services`, the scope of its platform's services entity as a
 * resource server (RFC 8707), which client metadata does not list (it names OpenID scopes only).
 */
export const PORTAL_SCOPE = 'openid profile legal_person';
const ID_TOKEN_ALG = 'ES256';

export interface PortalOptions {
  runtime: EntityRuntime;
  /** Issuer of the OP the portal signs in with (a hybrid city: its province's OP). */
  opIssuer: string;
  /** The OP's display name, for the hint on the home page; its address otherwise. */
  opName?: { 'zh-CN': string; en: string };
  /** Base URL of the services entity whose catalog API the portal's search, browse and guides read. */
  catalogUrl: string;
  /** The tier of the portal's platform (a hybrid city front: `city`). */
  tier: 'national' | 'province' | 'city';
  /** The portal's platform (its code); items of other platforms say which one handles them. */
  platform: string;
  /** The platform's region (GB/T 2260): a city portal lists the city's items by it. */
  region?: string | null;
  /** A hybrid city front's brand colour. */
  brandColor?: string;
  /** Names of the federation's platforms by platform code, region, entity ID and issuer, so people never see raw URLs. */
  platformNames?: Record<string, { 'zh-CN': string; en: string }>;
  /** The portal's OIDC client key; loaded from (or created in) the entity's database when absent. */
  clientKey?: PrivateJwk;
}

export interface PortalInstance {
  app: Koa;
  /** `openid_relying_party` metadata for the portal's entity configuration. */
  metadata: Record<string, unknown>;
  clientId: string;
}

/** The portal's client key: an ES256 key of its own, stored encrypted in its `entity_keys` table. */
export async function loadPortalClientKey(runtime: EntityRuntime): Promise<PrivateJwk> {
  const [key] = await loadKeys(runtime.db, runtime.cipher, 'oidc', [ID_TOKEN_ALG]);
  return key!;
}

/** The `openid_relying_party` metadata of a portal at `url` (no trailing slash). */
export function portalMetadata(url: string, name: string, clientKey: PrivateJwk): Record<string, unknown> {
  return {
    client_name: name,
    client_registration_types: ['automatic'],
    redirect_uris: [url + CALLBACK_PATH],
    post_logout_redirect_uris: [`${url}/`],
    backchannel_logout_uri: url + BACKCHANNEL_LOGOUT_PATH,
    backchannel_logout_session_required: true,
    response_types: ['code'],
    // The portal keeps no refresh token: its session lasts as long as the OP session it came from.
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: ID_TOKEN_ALG,
    id_token_signed_response_alg: ID_TOKEN_ALG,
    require_pushed_authorization_requests: true,
    jwks: { keys: [publicJwk(clientKey)] },
    scope: PORTAL_SCOPE,
  };
}

/** Cookie names carry the entity ID; on https they get the `__Host-` prefix (host-only, Secure, Path=/). */
function cookieJar(entityId: string, secure: boolean) {
  const prefix = secure ? '__Host-' : '';
  const names = {
    session: `${prefix}gov_id_${entityId}_session`,
    login: `${prefix}gov_id_${entityId}_login`,
    csrf: `${prefix}gov_id_${entityId}_csrf`,
  };
  const serialize = (name: string, value: string, maxAge: number | null) =>
    `${name}=${value}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}${maxAge === null ? '' : `; Max-Age=${maxAge}`}`;
  return {
    names,
    get: (ctx: Koa.Context, name: string) => {
      const value = ctx.cookies.get(name);
      return value && /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
    },
    set: (ctx: Koa.Context, name: string, value: string, maxAge: number | null) => ctx.append('Set-Cookie', serialize(name, value, maxAge)),
    clear: (ctx: Koa.Context, name: string) => ctx.append('Set-Cookie', `${serialize(name, '', 0)}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`),
  };
}

/** The query string without its `lang`, as the start of the language switch's link. */
function languageSwitchQuery(querystring: string): string {
  const params = new URLSearchParams(querystring);
  params.delete('lang');
  const rest = params.toString();
  return rest ? `?${rest}` : '';
}

function explicitLang(value: unknown): Locale | undefined {
  return value === 'en' || value === 'zh-CN' ? value : undefined;
}

/** What the home page shows, from the ID token's claims. */
function signedInView(claims: oidc.IDToken): SignedInView {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const act = claims.act && typeof claims.act === 'object' ? (claims.act as Record<string, unknown>) : undefined;
  const view: SignedInView = {
    name: str(claims.name),
    userType: str(claims.user_type),
    home: str(claims.home),
    acr: str(claims.acr),
    orgName: str(claims.org_name),
    agentRole: str(claims.agent_role),
    actName: str(act?.name),
    recognized: claims.recognized === true ? 'yes' : undefined,
  };
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined)) as SignedInView;
}

/** The OAuth error of a failed sign-in, and what the person is told. */
function describeFailure(err: unknown): { status: number; message: MessageKey; code: string; description?: string } {
  if (err instanceof oidc.AuthorizationResponseError) {
    return {
      status: 400,
      message: err.error === 'access_denied' ? 'error.access_denied' : 'error.login_failed',
      code: err.error,
      ...(err.error_description ? { description: err.error_description } : {}),
    };
  }
  if (err instanceof oidc.ResponseBodyError) {
    return {
      status: 400,
      message: 'error.login_failed',
      code: err.error,
      ...(err.error_description ? { description: err.error_description } : {}),
    };
  }
  if (err instanceof oidc.ClientError) {
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    if (err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || err.code === 'OAUTH_RESPONSE_IS_NOT_JSON')
      return { status: 502, message: 'error.op_unavailable', code: 'temporarily_unavailable', description: err.message };
    return { status: 400, message: 'error.login_failed', code: 'invalid_response', description: cause ?? err.message };
  }
  // fetch() failures (the OP down or unreachable) and timeouts.
  if (err instanceof TypeError || (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))) {
    return { status: 502, message: 'error.op_unavailable', code: 'temporarily_unavailable' };
  }
  return { status: 400, message: 'error.login_failed', code: 'invalid_response' };
}

export async function createPortalApp(opts: PortalOptions): Promise<PortalInstance> {
  const { runtime } = opts;
  const { log } = runtime;
  const url = runtime.self.url;
  const clientId = url;
  const clientKey = opts.clientKey ?? (await loadPortalClientKey(runtime));
  const op = new OpConnection({ issuer: opts.opIssuer, clientId, clientKey, idTokenAlg: ID_TOKEN_ALG });
  const state = new PortalState(runtime.kv);
  const secure = new URL(url).protocol === 'https:';
  const cookies = cookieJar(runtime.self.id, secure);
  const { names } = cookies;
  const opName = (locale: Locale) => opts.opName?.[locale] ?? new URL(opts.opIssuer).host;
  const platformName = (id: string, locale: Locale) => opts.platformNames?.[id]?.[locale];
  const catalog = new CatalogClient(opts.catalogUrl);

  const page = (ctx: Koa.Context, lang?: string): PageContext => {
    const locale = pickLocale(lang, ctx.get('accept-language'));
    return { t: translator(locale), locale, siteName: runtime.self.name[locale] };
  };

  // A city portal's own items are its region's; a province's (a unified one's cities included) and national's, its platform's.
  const local =
    opts.tier === 'city' && opts.region
      ? { facet: 'region' as const, value: opts.region }
      : { facet: 'platform' as const, value: opts.platform };
  const catalogContext = (p: PageContext, lang: Locale | undefined) => ({
    ...p,
    lang,
    tier: opts.tier,
    platform: opts.platform,
    platformName: (code: string) => platformName(code, p.locale),
    local,
  });
  const catalogPage = (ctx: Koa.Context): CatalogPageContext => {
    const lang = explicitLang(ctx.query.lang);
    return { ...catalogContext(page(ctx, lang), lang), switchLanguagePath: ctx.path + languageSwitchQuery(ctx.querystring) };
  };

  type ErrorPageExtra = {
    code?: string;
    description?: string;
    lang?: string;
    title?: MessageKey;
    vars?: Record<string, string | number>;
  };
  const errorPageOf = (ctx: Koa.Context, status: number, message: MessageKey, extra: ErrorPageExtra = {}) => {
    const p = page(ctx, extra.lang);
    return errorPage({
      ...p,
      title: extra.title ?? (status === 404 ? 'page.not_found' : 'page.error'),
      message: p.t(message, extra.vars),
      code: extra.code,
      description: extra.description,
    });
  };
  const showError = (ctx: Koa.Context, status: number, message: MessageKey, extra: ErrorPageExtra = {}) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = errorPageOf(ctx, status, message, extra);
  };

  /** The browser's CSRF secret (a cookie), created on first sight; forms carry its MAC. */
  const csrfFor = (ctx: Koa.Context): string => {
    let secret = cookies.get(ctx, names.csrf);
    if (!secret) {
      secret = randomToken(32);
      cookies.set(ctx, names.csrf, secret, null);
    }
    return hmac(runtime.macKey, `portal-csrf:${secret}`);
  };

  /**
   * A state-changing form: the right token for this browser, and same-origin when the browser
   * says where the request comes from. (Under `Referrer-Policy: no-referrer` browsers send
   * `Origin: null` on form posts; Sec-Fetch-Site is sent regardless.)
   */
  const csrfOk = (ctx: Koa.Context, body: Record<string, string>): boolean => {
    const origin = ctx.get('origin');
    if (origin && origin !== 'null' && origin !== new URL(url).origin) return false;
    const site = ctx.get('sec-fetch-site');
    if (site && site !== 'same-origin' && site !== 'none') return false;
    const secret = cookies.get(ctx, names.csrf);
    return !!secret && safeEqual(body.csrf ?? '', hmac(runtime.macKey, `portal-csrf:${secret}`));
  };

  const sessionOf = async (ctx: Koa.Context) => {
    const id = cookies.get(ctx, names.session);
    return id ? state.getSession(id) : null;
  };

  const router = new Router();
  const css = stylesheet(opts.brandColor);

  addVoicePages(router, { client: new VoiceClient(opts.catalogUrl), page, session: sessionOf, csrfFor, csrfOk, log });
  addCatalogRoutes(router, {
    catalog,
    page: catalogPage,
    log,
    refuse: (ctx, status, message, vars) =>
      showError(ctx, status, message, {
        lang: explicitLang(ctx.query.lang),
        title: status === 404 ? 'page.not_found' : 'page.search_error',
        vars,
      }),
  });

  addDataUseRoutes(router, {
    nodeUrl: opts.catalogUrl,
    session: sessionOf,
    csrf: csrfFor,
    csrfOk,
    form: (ctx) => formFields(ctx.request.body),
    page,
    platformName,
    refuse: (ctx, status, message, lang) => showError(ctx, status, message, { lang, title: 'page.data_use' }),
  });

  addCaseRoutes(router, {
    cases: new CaseClient(opts.catalogUrl),
    page,
    csrfFor,
    csrfOk,
    log,
    session: sessionOf,
  });
  addLicenseRoutes(router, {
    client: new LicenseClient(opts.catalogUrl),
    self: url,
    demo: runtime.demo,
    page,
    platformName,
    csrfFor,
    csrfOk,
    session: sessionOf,
    log,
  });

  router.get(STYLESHEET_PATH, (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });

  router.get('/', async (ctx) => {
    const lang = explicitLang(ctx.query.lang);
    const p = page(ctx, lang);
    const sessionId = cookies.get(ctx, names.session);
    const session = sessionId ? await state.getSession(sessionId) : null;
    // Ended here or by the OP (back-channel logout), or expired: forget the cookie too.
    if (sessionId && !session) cookies.clear(ctx, names.session);
    // The home page works without the catalog: it then shows the sign-in only.
    const counts = await catalog.browse().catch((err: Error): BrowseCounts | null => {
      log.warn('the catalog cannot be reached', { reason: err.message });
      return null;
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Vary', 'Accept-Language, Cookie');
    ctx.type = 'html';
    ctx.body = homePage({
      ...p,
      switchLanguagePath: '/',
      csrf: csrfFor(ctx),
      lang,
      opName: opName(p.locale),
      person: session?.person ?? null,
      homeName: session?.person.home ? platformName(session.person.home, p.locale) : undefined,
      catalog: catalogHome(catalogContext(p, lang), counts),
    });
  });

  router.post('/login', parseFormBody, async (ctx) => {
    const body = formFields(ctx.request.body);
    if (!body) return showError(ctx, 400, 'error.bad_request', { code: 'invalid_request' });
    const lang = explicitLang(body.lang);
    if (!csrfOk(ctx, body)) return showError(ctx, 403, 'error.csrf', { code: 'csrf', lang });
    if (body.as !== undefined && body.as !== '' && body.as !== 'natural' && body.as !== 'legal')
      return showError(ctx, 400, 'error.bad_request', { code: 'invalid_request', lang });
    const legal = body.as === 'legal';
    const locale = page(ctx, lang).locale;
    const pending: PendingLogin = {
      verifier: oidc.randomPKCECodeVerifier(),
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      legal,
      lang: lang ?? null,
    };
    let authorizationUrl: URL;
    try {
      const config = await op.configuration();
      authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: url + CALLBACK_PATH,
        scope: legal ? 'openid profile legal_person services' : 'openid profile services',
        resource: opts.catalogUrl,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
        ui_locales: locale,
      });
    } catch (err) {
      if (err instanceof oidc.ResponseBodyError) {
        log.warn('pushed authorization request refused', { error: err.error, reason: err.error_description, op: opts.opIssuer });
        return showError(ctx, 502, 'error.op_refused', { code: err.error, lang });
      }
      log.warn('the OP cannot be reached', { op: opts.opIssuer, reason: (err as Error).message });
      return showError(ctx, 502, 'error.op_unavailable', { code: 'temporarily_unavailable', lang });
    }
    const id = await state.savePending(pending);
    cookies.set(ctx, names.login, id, PENDING_TTL_SECONDS);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(authorizationUrl.toString());
    ctx.status = 303;
  });

  router.get(CALLBACK_PATH, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const id = cookies.get(ctx, names.login);
    if (id) cookies.clear(ctx, names.login);
    const pending = id ? await state.takePending(id) : null;
    if (!pending) {
      log.warn('sign-in callback without a pending sign-in');
      return showError(ctx, 400, 'error.login_expired', {
        code: typeof ctx.query.error === 'string' ? ctx.query.error : 'invalid_request',
      });
    }
    const lang = pending.lang ?? undefined;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      const config = await op.configuration();
      // Our own URL, never the Host header: the redirect_uri sent with the code must be the registered one.
      tokens = await oidc.authorizationCodeGrant(
        config,
        new URL(url + CALLBACK_PATH + ctx.search),
        { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true },
        { resource: opts.catalogUrl },
      );
    } catch (err) {
      const failure = describeFailure(err);
      // Never the URL or its code: only what went wrong.
      log.warn('sign-in failed', { error: failure.code, reason: failure.description ?? (err as Error).message });
      return showError(ctx, failure.status, failure.message, { code: failure.code, description: failure.description, lang });
    }
    const claims = tokens.claims()!;
    const previous = cookies.get(ctx, names.session);
    if (previous) await state.deleteSession(previous);
    const sessionId = await state.createSession({
      iss: claims.iss,
      sub: claims.sub,
      sid: typeof claims.sid === 'string' ? claims.sid : null,
      idToken: tokens.id_token!,
      servicesToken: { value: tokens.access_token, expiresAt: Date.now() + (tokens.expiresIn() ?? 0) * 1000 },
      person: signedInView(claims),
      createdAt: Date.now(),
    });
    cookies.set(ctx, names.session, sessionId, SESSION_TTL_SECONDS);
    log.info('signed in', { user_type: claims.user_type, acr: claims.acr, legal: pending.legal });
    ctx.redirect(lang ? `/?lang=${lang}` : '/');
    ctx.status = 303;
  });

  router.post('/logout', parseFormBody, async (ctx) => {
    const body = formFields(ctx.request.body);
    if (!body) return showError(ctx, 400, 'error.bad_request', { code: 'invalid_request' });
    const lang = explicitLang(body.lang);
    if (!csrfOk(ctx, body)) return showError(ctx, 403, 'error.csrf', { code: 'csrf', lang });
    ctx.set('Cache-Control', 'no-store');
    const sessionId = cookies.get(ctx, names.session);
    const session = sessionId ? await state.getSession(sessionId) : null;
    if (sessionId) {
      await state.deleteSession(sessionId);
      cookies.clear(ctx, names.session);
    }
    if (!session) {
      ctx.redirect(lang ? `/?lang=${lang}` : '/');
      ctx.status = 303;
      return;
    }
    let endSession: URL;
    try {
      endSession = oidc.buildEndSessionUrl(await op.configuration(), {
        id_token_hint: session.idToken,
        post_logout_redirect_uri: `${url}/`,
        ui_locales: page(ctx, lang).locale,
      });
    } catch (err) {
      log.warn('the OP cannot be reached for logout', { op: opts.opIssuer, reason: (err as Error).message });
      return showError(ctx, 502, 'error.op_unavailable', { code: 'temporarily_unavailable', lang });
    }
    log.info('signed out at the portal');
    ctx.redirect(endSession.toString());
    ctx.status = 303;
  });

  // OpenID Connect Back-Channel Logout 1.0 §2.5–2.8: 200 when done, 400 with an OAuth error otherwise.
  router.post(BACKCHANNEL_LOGOUT_PATH, parseFormBody, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const refuse = (description: string) => {
      log.warn('back-channel logout refused', { reason: description });
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: description };
    };
    const body = formFields(ctx.request.body);
    const token = body?.logout_token;
    if (!token) return refuse('logout_token is required, once');
    try {
      const claims = await op.verifyLogoutToken(token);
      const now = Math.floor(Date.now() / 1000);
      const window = Math.max(LOGOUT_TOKEN_MAX_AGE_SECONDS, (claims.exp ?? 0) - now) + 60;
      if (!(await state.firstUseOfJti(claims.iss, claims.jti, window))) return refuse('logout token replayed');
      const ended = await state.endSessions(claims.iss, {
        ...(claims.sid ? { sid: claims.sid } : {}),
        ...(claims.sub ? { sub: claims.sub } : {}),
      });
      log.info('back-channel logout', { sessions: ended });
      ctx.status = 200;
      ctx.body = '';
    } catch (err) {
      if (err instanceof LogoutTokenError) return refuse(err.message);
      // The OP's keys could not be fetched, or the store failed: the logout failed (§2.8: 400).
      log.error('back-channel logout failed', { err });
      return refuse('the logout could not be completed');
    }
  });

  const answerWithPage = answerPage((ctx, { status, code, message }) => {
    // The edge guard refuses a search text with control characters before the search page sees it: say so as the page would.
    if (code === 'invalid_request' && message.startsWith('q:'))
      return errorPageOf(ctx, status, 'error.query_control', { code, title: 'page.search_error' });
    const key = `error.${code}`;
    return errorPageOf(ctx, status, isMessageKey(key) ? key : status >= 500 ? 'error.server' : 'error.bad_request', { code });
  });
  const app = createApp(log, {
    // Back-Channel Logout §2.8 knows two errors only.
    answerError: (ctx, r) =>
      ctx.path === BACKCHANNEL_LOGOUT_PATH
        ? answerJson(ctx, { ...r, code: r.status >= 500 ? 'server_error' : 'invalid_request' })
        : answerWithPage(ctx, r),
  });
  app.use(router.routes());
  app.use(refuseOtherMethods);
  app.use(async (ctx) => {
    if (ctx.status === 404 && ctx.body === undefined) showError(ctx, 404, 'error.not_found');
  });

  return { app, metadata: portalMetadata(url, runtime.self.name['zh-CN'], clientKey), clientId };
}
