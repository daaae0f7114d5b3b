/**
 * A tier OP: oidc-provider for the protocol, our interaction pages for login, registration and
 * consent, and the admin API, in one Koa application per OP entity.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { createApp, parseBody } from '../infra/http-server.ts';
import { requireAdmin } from '../infra/admin-auth.ts';
import { loadKeys } from '../infra/entity-keys.ts';
import { recordAudit } from '../infra/audit-log.ts';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import { isMessageKey, pickLocale, translator } from './i18n.ts';
import { NaturalPersonAccounts } from './accounts/natural-person-accounts.ts';
import { LegalPersonAccounts } from './accounts/legal-person-accounts.ts';
import { accountFinder } from './oidc/find-account.ts';
import { interactionPolicyFor } from './oidc/interaction-policy.ts';
import { LoginThrottle } from './accounts/login-throttle.ts';
import { OneTimeCodes } from './accounts/one-time-codes.ts';
import { ServicesClient } from './services-client.ts';
import { ClientStore } from './oidc/client-store.ts';
import { artifactAdapter, latestGrantId, type FederationClientResolver } from './oidc/artifact-adapter.ts';
import { providerConfiguration } from './oidc/provider-config.ts';
import { DEFAULT_ACR_URIS, type LoaLevel } from './loa.ts';
import { errorPage, loggedOutPage, logoutPage, type PageContext } from './views/pages.ts';
import { STYLESHEET, STYLESHEET_PATH } from './views/stylesheet.ts';
import { loginRoutes } from './interactions/login-routes.ts';
import { registrationRoutes } from './interactions/registration-routes.ts';
import { consentRoutes } from './interactions/consent-routes.ts';
import { organizationRoutes } from './interactions/organization-routes.ts';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID, accountRoutes } from './account/account-routes.ts';
import type { OpDependencies } from './interactions/interaction-context.ts';

export interface OpOptions {
  runtime: EntityRuntime;
  /** Base URL of the services entity (population registry, message outbox). */
  servicesUrl: string;
  acrUris?: Record<LoaLevel, string>;
  /** Accepts relying parties of the federation by their entity ID (automatic registration). */
  federationClients?: FederationClientResolver;
  /** Hybrid mode: the city portals whose people sign in here, by client ID (entity ID). */
  cityPortals?: ReadonlyMap<string, { 'zh-CN': string; en: string }>;
}

export interface OpInstance {
  app: Koa;
  provider: Provider;
  clients: ClientStore;
  /** The `openid_provider` metadata of the OP's entity configuration. */
  federationMetadata: Record<string, unknown>;
}

function pageContext(ctx: Koa.Context, runtime: EntityRuntime): PageContext {
  const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
  const locale = pickLocale(typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined, String(oidc?.params?.ui_locales ?? ''), ctx.get('accept-language'));
  return { t: translator(locale), locale, siteName: runtime.self.name[locale] };
}

export async function createOp({ runtime, servicesUrl, acrUris = DEFAULT_ACR_URIS, federationClients, cityPortals = new Map() }: OpOptions): Promise<OpInstance> {
  const { db, kv, log } = runtime;
  const issuer = runtime.self.url;
  const accounts = new NaturalPersonAccounts(db, runtime.cipher, runtime.blindIndex);
  const legalPersons = new LegalPersonAccounts(db, runtime.cipher, runtime.blindIndex);
  const clients = new ClientStore(db, runtime.cipher);
  const services = new ServicesClient(issuer, servicesUrl, () => runtime.keyRing.signingKey());
  const signingKeys = await loadKeys(db, runtime.cipher, 'oidc', ['ES256', 'RS256']);

  const provider = new Provider(
    issuer,
    providerConfiguration({
      entityId: runtime.self.id,
      issuer,
      adapter: artifactAdapter(db, kv, clients, federationClients),
      signingKeys,
      cookieKeys: runtime.cookieKeys,
      acrUris,
      earlierGrant: (accountId, clientId) => latestGrantId(db, accountId, clientId),
      firstPartyClients: new Set([ACCOUNT_CLIENT_ID]),
      findAccount: accountFinder(issuer, accounts, legalPersons),
      interactionPolicy: interactionPolicyFor(async (subject) => (await legalPersons.findBySubject(subject)) !== null),
      renderError: async (ctx, out) => {
        const p = pageContext(ctx, runtime);
        ctx.type = 'html';
        ctx.body = errorPage(p, String(out.error_description ?? out.error), String(out.error));
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
  provider.on('backchannel.error', (_ctx, err, client) => log.warn('back-channel logout failed', { err, client_id: client.clientId }));
  provider.on('end_session.success', (ctx) => {
    void recordAudit(db, { event: 'logout', subject: ctx.oidc.session?.accountId ?? null, clientId: ctx.oidc.client?.clientId ?? null }).catch((err) => log.error('audit failed', { err }));
  });

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
  router.use('/interaction', parseBody);
  router.use('/account', parseBody);
  loginRoutes(router, deps);
  registrationRoutes(router, deps);
  consentRoutes(router, deps);
  organizationRoutes(router, deps);
  accountRoutes(router, deps);
  router.post('/admin/clients', requireAdmin(runtime.adminToken), parseBody, async (ctx) => {
    ctx.status = 201;
    ctx.body = await clients.add(ctx.request.body);
  });

  const app = createApp(log, {
    renderError: (ctx, status, code, message) => {
      ctx.status = status;
      if (ctx.path.startsWith('/admin/')) {
        ctx.body = { error: code, error_description: message };
        return;
      }
      const p = pageContext(ctx, runtime);
      const key = `error.${code}`;
      ctx.type = 'html';
      ctx.body = errorPage(p, isMessageKey(key) ? p.t(key) : status >= 500 ? p.t('error.server') : `${p.t('error.generic')} ${message}`, code);
    },
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  const protocol = provider.callback();
  app.use(async (ctx) => {
    ctx.respond = false;
    await protocol(ctx.req, ctx.res);
  });
  const federationMetadata = {
    issuer,
    authorization_endpoint: provider.urlFor('authorization'),
    pushed_authorization_request_endpoint: provider.urlFor('pushed_authorization_request'),
    token_endpoint: provider.urlFor('token'),
    userinfo_endpoint: provider.urlFor('userinfo'),
    jwks_uri: provider.urlFor('jwks'),
    end_session_endpoint: provider.urlFor('end_session'),
    revocation_endpoint: provider.urlFor('revocation'),
    introspection_endpoint: provider.urlFor('introspection'),
    // OpenID Federation §12: relying parties of the federation need no prior registration.
    client_registration_types_supported: ['automatic', 'explicit'],
    request_authentication_methods_supported: { par: ['private_key_jwt'] },
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'none'],
    scopes_supported: ['openid', 'offline_access', 'profile', 'phone', 'id_number', 'legal_person'],
    acr_values_supported: Object.values(acrUris),
    authorization_response_iss_parameter_supported: true,
  };
  return { app, provider, clients, federationMetadata };
}
