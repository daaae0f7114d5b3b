/**
 * A tier OP: oidc-provider for the protocol, our interaction pages for login, registration and
 * consent, and the admin API, in one Koa application per OP entity.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { answerJson, answerPage } from '../infra/error-responses.ts';
import { createApp, refuseOtherMethods } from '../infra/http-server.ts';
import { noteMatchedRoute } from '../infra/request-metrics.ts';
import { checkedFormRequest, parseBody, parseFormBody } from '../infra/request-body.ts';
import { stringify as formEncode } from 'node:querystring';
import { requireAdmin } from '../infra/admin-auth.ts';
import { loadKeys, publicJwk } from '../infra/entity-keys.ts';
import { recordAudit } from '../infra/audit-log.ts';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import { isMessageKey, pickLocale, translator } from './i18n.ts';
import { NaturalPersonAccounts, type HomePublication } from './accounts/natural-person-accounts.ts';
import { LegalPersonAccounts } from './accounts/legal-person-accounts.ts';
import { accountFinder } from './oidc/find-account.ts';
import { interactionPolicyFor } from './oidc/interaction-policy.ts';
import { sessionFacts } from './oidc/session-facts.ts';
import { LoginThrottle } from './accounts/login-throttle.ts';
import { OneTimeCodes } from './accounts/one-time-codes.ts';
import { ServicesClient } from './services-client.ts';
import { ClientStore } from './oidc/client-store.ts';
import { artifactAdapter, latestGrantId, ProtocolStateUnavailable, type FederationClientResolver } from './oidc/artifact-adapter.ts';
import { rotationAllOrNothing } from './oidc/refresh-rotation.ts';
import { currentProviderRequest } from './oidc/provider-request.ts';
import { providerConfiguration, TTL } from './oidc/provider-config.ts';
import { openidProviderMetadata } from './oidc/provider-metadata.ts';
import { DEFAULT_ACR_URIS, type LoaLevel } from '../federation/loa.ts';
import { RecognizedAccounts } from './accounts/recognized-accounts.ts';
import { AccountDirectory, accountJson } from './accounts/account-directory.ts';
import { BROKER_BACKCHANNEL_LOGOUT_PATH, CrossTierLogin } from './broker/cross-tier-login.ts';
import { BROKER_CALLBACK_PATH } from './login/cross-tier-hops.ts';
import { routedAhead } from './login/login-completion.ts';
import { SessionTermination } from './broker/session-termination.ts';
import { UpstreamLogout } from './broker/upstream-logout.ts';
import { BROKER_PATHS, brokerRoutes } from './broker/broker-routes.ts';
import { crossTierRoutes } from './interactions/cross-tier-routes.ts';
import { moveBody, Relocation } from './broker/relocation.ts';
import { validate } from '../infra/validation.ts';
import { BadRequest, HttpError } from '../infra/errors.ts';
import type { TrustedOps } from '../federation/trusted-op.ts';
import type { TrustedResources } from '../federation/trusted-resources.ts';
import { SERVICES_PERSON_PATH, servicesPersonRoute } from './service-access/services-person-route.ts';
import { ResourceCalls } from './service-access/resource-calls.ts';
import { DataConsents } from './exchange/data-consents.ts';
import { DatasetCatalogs } from './exchange/dataset-catalogs.ts';
import { dataAccessAuthorization, withDataConsentCheck } from './exchange/data-access-authorization.ts';
import { NODE_CONSENT_PATHS, nodeConsentRoutes } from './exchange/node-consent-routes.ts';
import { consentAccountRoutes } from './account/consent-account-routes.ts';
import type { FederationTrust } from '../federation/federation-trust.ts';
import { errorPage, loggedOutPage, logoutPage, type PageContext } from './views/pages.ts';
import { brandStylesheetPath, STYLESHEET, STYLESHEET_PATH } from './views/stylesheet.ts';
import { loginRoutes } from './interactions/login-routes.ts';
import { registrationRoutes } from './interactions/registration-routes.ts';
import { consentRoutes } from './interactions/consent-routes.ts';
import { organizationRoutes } from './interactions/organization-routes.ts';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID, accountRoutes } from './account/account-routes.ts';
import type { CityPortal, OpDependencies, RecognitionDependencies } from './op-dependencies.ts';

export interface OpOptions {
  runtime: EntityRuntime;
  /** Base URL of the services entity (population registry, message outbox). */
  servicesUrl: string;
  acrUris?: Record<LoaLevel, string>;
  /** Accepts relying parties of the federation by their entity ID (automatic registration). */
  federationClients?: FederationClientResolver;
  /** The services entities of the federation this OP issues access tokens for (RFC 8707). */
  resources?: TrustedResources;
  /** Hybrid mode: the city portals whose people sign in here, by client ID (entity ID). */
  cityPortals?: ReadonlyMap<string, CityPortal>;
  /** Mutual recognition: this OP's place in the federation. Without it the OP knows its own accounts only. */
  recognition?: {
    superior: string | null;
    /** Resolves other OPs of the federation through their trust chains. */
    trustedOps: TrustedOps;
    /** The registry of homes. */
    homes: RecognitionDependencies['homes'];
    /** Whom this OP trusts in the federation: OPs, its brokers, clients that skip consent. */
    trust: FederationTrust;
    /** Publishes the home of every account registered here. */
    publishHome?: HomePublication;
    siteName: RecognitionDependencies['siteName'];
    platforms: RecognitionDependencies['platforms'];
  };
}

export interface OpInstance {
  app: Koa;
  provider: Provider;
  clients: ClientStore;
  /** The `openid_provider` metadata of the OP's entity configuration. */
  federationMetadata: Record<string, unknown>;
  /** The `openid_relying_party` metadata: the OP as a client of its neighbours in cross-tier logins. */
  relyingPartyMetadata: Record<string, unknown>;
  /** Its side of cross-tier logins (with `recognition`): the host readies its neighbours ahead of logins through it. */
  crossTierLogin: CrossTierLogin | null;
}

/** A POSTed authorization or logout request becomes a URL no longer than this (browsers and proxies cope with 8 KiB). */
const MAX_REDIRECTED_FORM = 8 * 1024;

function pageContext(ctx: Koa.Context, runtime: EntityRuntime): PageContext {
  const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
  const locale = pickLocale(
    typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined,
    String(oidc?.params?.ui_locales ?? ''),
    ctx.get('accept-language'),
  );
  return { t: translator(locale), locale, siteName: runtime.self.name[locale] };
}

export async function createOp({
  runtime,
  servicesUrl,
  acrUris = DEFAULT_ACR_URIS,
  federationClients,
  cityPortals = new Map(),
  recognition,
  resources,
}: OpOptions): Promise<OpInstance> {
  const { db, kv, log } = runtime;
  const issuer = runtime.self.url;
  const accounts = new NaturalPersonAccounts(db, runtime.cipher, runtime.blindIndex, recognition?.publishHome);
  const legalPersons = new LegalPersonAccounts(db, runtime.cipher, runtime.blindIndex, recognition?.publishHome);
  const recognized = new RecognizedAccounts(db, runtime.cipher, runtime.blindIndex);
  const [rpKey] = await loadKeys(db, runtime.cipher, 'rp', ['ES256']);
  const directory = new AccountDirectory(accounts, legalPersons, recognized, currentProviderRequest);
  const clients = new ClientStore(db, runtime.cipher);
  const services = new ServicesClient(issuer, servicesUrl, () => runtime.keyRing.signingKey());
  const signingKeys = await loadKeys(db, runtime.cipher, 'oidc', ['ES256', 'RS256']);
  const findAccount = accountFinder(issuer, directory, accounts, legalPersons, recognized);
  // The data-sharing exchange: consents to the federation's nodes, which are resource servers.
  const exchange = resources ? { consents: new DataConsents(db), catalogs: new DatasetCatalogs(resources), directory } : undefined;
  const policy = interactionPolicyFor(sessionFacts({ directory, accounts, kv, acrUris }));

  const provider = new Provider(
    issuer,
    providerConfiguration({
      entityId: runtime.self.id,
      issuer,
      // A refresh token or a grant is read with the natural person or recognized account it names: the account lookup after it needs no statement of its own.
      adapter: artifactAdapter(db, kv, clients, federationClients, {
        sql: accountJson,
        take: (subject, json) => directory.readInThisRequest(subject, json),
      }),
      signingKeys,
      cookieKeys: runtime.cookieKeys,
      acrUris,
      earlierGrant: (accountId, clientId) => latestGrantId(db, accountId, clientId),
      // Outside a federation, only the OP's own account area.
      maySkipConsent: (clientId) => recognition?.trust.maySkipConsent(clientId) ?? Promise.resolve(clientId === ACCOUNT_CLIENT_ID),
      findAccount,
      isResourceServer: (resource) => resources?.isResource(resource) ?? Promise.resolve(false),
      interactionPolicy: exchange ? withDataConsentCheck(policy, exchange.consents) : policy,
      // deps is complete before the provider serves any request.
      routedAhead: (ctx, interaction) => routedAhead(ctx, deps, interaction),
      ...(exchange && resources ? { richAuthorizationRequests: dataAccessAuthorization({ ...exchange, resources }) } : {}),
      renderError: async (ctx, out) => {
        const p = pageContext(ctx, runtime);
        const key = `error.${out.error}`;
        ctx.type = 'html';
        ctx.body = errorPage(p, isMessageKey(key) ? p.t(key) : String(out.error_description ?? out.error), String(out.error));
      },
      logoutSource: async (ctx, form) => {
        ctx.type = 'html';
        ctx.body = logoutPage(pageContext(ctx, runtime), form);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.type = 'html';
        ctx.body = loggedOutPage(pageContext(ctx, runtime));
      },
    }),
  );
  provider.on('server_error', (_ctx, err) => log.error('oidc-provider server error', { err }));
  provider.use(rotationAllOrNothing(db, log));
  provider.use(noteMatchedRoute);
  provider.on('grant.success', (ctx) => runtime.metrics.grant(ctx.oidc.params?.grant_type, 'success'));
  provider.on('grant.error', (ctx) => runtime.metrics.grant(ctx.oidc.params?.grant_type, 'failure'));
  // Tokens outlive the browser session's record (expiresWithSession is false), yet logging out of
  // this session still revokes what this login gave the client, unless it was given offline_access.
  provider.on('authorization.success', (ctx) => {
    const { session, client, entities } = ctx.oidc;
    if (session && client)
      session.authorizationFor(client.clientId).persistsLogout = entities.AuthorizationCode?.scopes.has('offline_access') ?? false;
  });
  provider.on('backchannel.error', (_ctx, err, client) => log.warn('back-channel logout failed', { err, client_id: client.clientId }));
  const sessions = new SessionTermination(provider, kv, log);
  const upstreamLogout = new UpstreamLogout({ self: issuer, recognized, signingKey: () => runtime.keyRing.signingKey(), log });
  /** Confirmations whose logout already went up the chain before oidc-provider ended the session here. */
  const passedUp = new WeakSet<object>();
  provider.on('end_session.success', (ctx) => {
    const subject = ctx.oidc.session?.accountId ?? null;
    void recordAudit(db, { event: 'logout', subject, clientId: ctx.oidc.client?.clientId ?? null }).catch((err) =>
      log.error('audit failed', { err }),
    );
    // A recognized account's sessions along the chain end too (each broker passes it further up).
    if (subject && !passedUp.has(ctx.req)) void upstreamLogout.propagate(subject);
  });

  const crossTierLogin = recognition
    ? new CrossTierLogin({
        self: issuer,
        superior: recognition.superior,
        ops: recognition.trustedOps,
        clientKey: rpKey!,
        kv,
        acrUris,
        pendingSeconds: TTL.Interaction,
      })
    : null;
  const deps: OpDependencies = {
    provider,
    runtime,
    accounts,
    legalPersons,
    throttle: new LoginThrottle(kv),
    otp: new OneTimeCodes(kv, runtime.macKey, services, runtime.self.name['zh-CN']),
    services,
    acrUris,
    cityPortals,
    recognized,
    ...(exchange ? { exchange } : {}),
    ...(recognition
      ? {
          recognition: {
            homes: recognition.homes,
            trust: recognition.trust,
            siteName: recognition.siteName,
            platforms: recognition.platforms,
            login: crossTierLogin!,
            relocation: new Relocation({
              self: issuer,
              accounts,
              legalPersons,
              trustedOps: recognition.trustedOps,
              sessions,
              signingKey: () => runtime.keyRing.signingKey(),
            }),
          },
        }
      : {}),
  };

  await clients.ensure({
    client_id: ACCOUNT_CLIENT_ID,
    client_name: runtime.self.name['zh-CN'],
    public: true,
    redirect_uris: [issuer + ACCOUNT_CALLBACK_PATH],
    post_logout_redirect_uris: [`${issuer}/account`],
    scope: 'openid profile',
  });

  const router = new Router();
  router.get(STYLESHEET_PATH, (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = STYLESHEET;
  });
  for (const city of cityPortals.values()) {
    if (!city.color) continue;
    const css = `:root { --brand: ${city.color}; }\n`;
    router.get(brandStylesheetPath(city.code), (ctx) => {
      ctx.type = 'text/css';
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = css;
    });
  }
  // The pages post forms; the broker paths take forms (back-channel logout) and JSON (entity calls).
  router.use('/interaction', parseFormBody);
  router.use('/account', parseFormBody);
  loginRoutes(router, deps);
  registrationRoutes(router, deps);
  consentRoutes(router, deps);
  organizationRoutes(router, deps);
  accountRoutes(router, deps);
  crossTierRoutes(router, deps);
  if (resources) {
    const calls = new ResourceCalls(runtime, signingKeys, resources);
    servicesPersonRoute(router, { runtime, calls, findAccount });
    if (exchange) nodeConsentRoutes(router, { runtime, calls, consents: exchange.consents });
  }
  consentAccountRoutes(router, deps);
  if (recognition) {
    router.use(BROKER_PATHS, parseBody);
    brokerRoutes(router, { ...deps, sessions, upstreamLogout, trustedOps: recognition.trustedOps });
  }
  router.post('/admin/clients', requireAdmin(runtime.adminToken), parseBody, async (ctx) => {
    ctx.status = 201;
    ctx.body = await clients.add(ctx.request.body);
  });
  const { relocation } = deps.recognition ?? {};
  if (relocation) {
    router.post('/admin/accounts/move', requireAdmin(runtime.adminToken), parseBody, async (ctx) => {
      const { id_number: idNumber, to } = validate(moveBody, ctx.request.body);
      ctx.body = { moved: true, to, ...(await relocation.moveAway(idNumber, to)) };
    });
    router.post('/admin/accounts/close-duplicate', requireAdmin(runtime.adminToken), parseBody, async (ctx) => {
      const { id_number: idNumber, to } = validate(moveBody, ctx.request.body);
      ctx.body = { closed: true, kept_at: to, ...(await relocation.closeDuplicate(idNumber, to)) };
    });
  }

  // Endpoints called by servers, never by a browser: their errors are JSON (RFC 6749 §5.2).
  const backChannelPaths = new Set([
    ...['token', 'introspection', 'revocation', 'pushed_authorization_request', 'userinfo', 'jwks'].map((name) => provider.pathFor(name)),
    ...BROKER_PATHS,
    SERVICES_PERSON_PATH,
    ...NODE_CONSENT_PATHS,
  ]);
  const answerWithPage = answerPage((ctx, { status, code, message }) => {
    const p = pageContext(ctx, runtime);
    const key = `error.${code}`;
    return errorPage(p, isMessageKey(key) ? p.t(key) : status >= 500 ? p.t('error.server') : `${p.t('error.generic')} ${message}`, code);
  });
  const app = createApp(log, {
    answerError: (ctx, response) =>
      (ctx.path.startsWith('/admin/') || ctx.path.startsWith('/.well-known/') || backChannelPaths.has(ctx.path)
        ? answerJson
        : answerWithPage)(ctx, response),
  });
  // oidc-provider's models, called from our routes, report a store outage in oidc-provider's terms:
  // our routes answer it as the store's own error (503 temporarily_unavailable).
  app.use(async (_ctx, next) => {
    try {
      await next();
    } catch (err) {
      throw err instanceof ProtocolStateUnavailable ? err.cause : err;
    }
  });
  app.use(router.routes());
  app.use(refuseOtherMethods);
  // Logout along the chain completes before the person sees "logged out": on a same-origin
  // confirmation (Sec-Fetch-Site, or Origin, stands in for oidc-provider's xsrf token, which is in
  // the body it reads itself; under Referrer-Policy no-referrer browsers send Origin: null), the
  // upstream sessions end first, then oidc-provider ends this one.
  const sameOrigin = (ctx: Koa.Context) => ctx.get('sec-fetch-site') === 'same-origin' || ctx.get('origin') === new URL(issuer).origin;
  app.use(async (ctx, next) => {
    if (recognition && ctx.method === 'POST' && ctx.path === '/session/end/confirm' && sameOrigin(ctx)) {
      const session = await provider.Session.get(ctx as unknown as Parameters<typeof provider.Session.get>[0]);
      if (session.accountId && session.state) {
        passedUp.add(ctx.req);
        await upstreamLogout.propagate(session.accountId);
      }
    }
    await next();
  });
  const protocol = provider.callback();
  // OpenID Connect Core §3.1.2.1 (and RP-Initiated Logout §2): these endpoints take POST too.
  // oidc-provider serves POST there only with a SameSite=None session cookie (a cross-site POST
  // carries no Lax cookie, so the person's session would not be seen); instead the form is
  // answered with a redirect to the same request by GET, which carries the session cookie.
  const getOnlyEndpoints = new Set([provider.pathFor('authorization'), provider.pathFor('end_session')]);
  app.use(async (ctx) => {
    // oidc-provider reads form bodies itself: they pass the edge guard first.
    const { req, form } = await checkedFormRequest(ctx);
    if (ctx.method === 'POST' && getOnlyEndpoints.has(ctx.path)) {
      if (!form && ctx.get('content-type'))
        throw new HttpError(415, 'invalid_request', 'only application/x-www-form-urlencoded bodies are accepted here');
      // Encoded afresh: the query carries exactly the fields read, whatever the body's own encoding.
      const query = form ? formEncode(form) : '';
      if (query.length > MAX_REDIRECTED_FORM)
        throw new BadRequest(
          'invalid_request',
          'the request is too large for this endpoint: push it (PAR) or pass it by reference (request_uri)',
        );
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(query ? `${ctx.path}?${query}` : ctx.path);
      return;
    }
    ctx.respond = false;
    await protocol(req, ctx.res);
  });
  const federationMetadata = openidProviderMetadata(provider, acrUris);
  const relyingPartyMetadata = {
    client_name: runtime.self.name['zh-CN'],
    client_registration_types: ['automatic'],
    redirect_uris: [issuer + BROKER_CALLBACK_PATH],
    backchannel_logout_uri: issuer + BROKER_BACKCHANNEL_LOGOUT_PATH,
    backchannel_logout_session_required: true,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: rpKey!.alg,
    id_token_signed_response_alg: 'ES256',
    require_pushed_authorization_requests: true,
    jwks: { keys: [publicJwk(rpKey!)] },
    scope: 'openid profile phone id_number legal_person',
  };
  return { app, provider, clients, federationMetadata, relyingPartyMetadata, crossTierLogin };
}
