/**
 * oidc-provider configuration of a tier OP. Every choice here is a security decision; the
 * reason is given next to it. Reference: RFC 9700 (OAuth 2.0 Security BCP) and FAPI 2.0.
 */
import {
  errors,
  type Configuration,
  type Interaction,
  type KoaContextWithOIDC,
  type RichAuthorizationRequestsActiveConfiguration,
} from 'oidc-provider';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import type { LoaLevel } from '../../federation/loa.ts';
import { isLoopbackUrl } from '../../infra/loopback.ts';
import { HOME_HINT_PARAM, ROUTE_PARAM } from '../../federation/recognition-routing.ts';
import { list, OP_METADATA } from './provider-metadata.ts';

/** RFC 9396 enabled with types of our own (oidc-provider wants every helper replaced when introspection is on). */
export type DataAccessRequests = RichAuthorizationRequestsActiveConfiguration &
  Required<
    Pick<RichAuthorizationRequestsActiveConfiguration, 'authorizationDetailsForAccessToken' | 'authorizationDetailsForIntrospection'>
  >;

export interface ProviderConfigInput {
  entityId: string;
  issuer: string;
  adapter: Configuration['adapter'];
  findAccount: Configuration['findAccount'];
  interactionPolicy: NonNullable<NonNullable<Configuration['interactions']>['policy']>;
  /**
   * Clients whose grant needs no consent page: the OP's own account area, and the brokers of the
   * federation relaying a login (the person consents where they started, to the portal).
   */
  maySkipConsent: (clientId: string) => Promise<boolean>;
  /** The grant a person already gave a client in an earlier session, if any. */
  earlierGrant: (accountId: string, clientId: string) => Promise<string | undefined>;
  signingKeys: PrivateJwk[];
  cookieKeys: string[];
  acrUris: Record<LoaLevel, string>;
  renderError: NonNullable<Configuration['renderError']>;
  /** A services entity of the federation (RFC 8707 resource) this OP issues access tokens for. */
  isResourceServer: (resource: string) => Promise<boolean>;
  /** RFC 9396 authorization details the OP takes (idp/exchange/data-access-authorization.ts); none when absent. */
  richAuthorizationRequests?: DataAccessRequests;
  /**
   * Where the browser goes instead of the interaction's pages, when the request can go on without
   * them (a hop of a cross-tier login routed on at once: login-completion.ts `routedAhead`); null
   * for the pages.
   */
  routedAhead?: (ctx: KoaContextWithOIDC, interaction: Interaction) => Promise<string | null>;
  logoutSource: (ctx: KoaContextWithOIDC, form: string) => Promise<void>;
  postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => Promise<void>;
}

/** Artifact lifetimes in seconds. Codes are short-lived (RFC 9700 §4.5: one minute or less). */
export const TTL = {
  AuthorizationCode: 60,
  PushedAuthorizationRequest: 60,
  AccessToken: 10 * 60,
  ClientCredentials: 10 * 60,
  IdToken: 10 * 60,
  Interaction: 15 * 60,
  Session: 8 * 3600,
  Grant: 30 * 24 * 3600,
  RefreshToken: 7 * 24 * 3600,
};

export const SCOPE_CLAIMS = {
  // acr and amr under openid: every ID token says how the person was authenticated, asked or not.
  openid: ['sub', 'acr', 'amr', 'user_type', 'home', 'recognized'],
  profile: ['name'],
  phone: ['phone_number', 'phone_number_verified'],
  id_number: ['id_number'],
  legal_person: ['uscc', 'org_name', 'act', 'agent_role', 'service_categories'],
};

/**
 * The scope a services entity (resource server) accepts: its APIs act for the person who signed
 * in (applications, cases, e-licenses). Its access tokens are RFC 9068 JWTs the services entity
 * checks itself, through the OP's trust chain, without a call to the OP.
 */
export const SERVICES_SCOPE = 'services';

export function providerConfiguration(c: ProviderConfigInput): Configuration {
  const cookiePrefix = `gov_id_${c.entityId}`;
  // oidc-provider refuses outgoing requests (back-channel logout, client JWKS) to special-use
  // addresses against SSRF. An OP that itself lives on loopback (the demo) must reach its
  // loopback clients; any other deployment keeps the protection.
  const loopbackDeployment = isLoopbackUrl(c.issuer);
  return {
    fetch: (url, options) => {
      if (loopbackDeployment && isLoopbackUrl(url instanceof Request ? url.url : String(url)))
        delete (options as { dispatcher?: unknown }).dispatcher;
      return globalThis.fetch(url, options);
    },
    adapter: c.adapter,
    findAccount: c.findAccount,
    jwks: { keys: c.signingKeys },
    // Top-level null entries are claims available without a scope (oidc-provider's convention).
    claims: { auth_time: null, iss: null, sid: null, ...SCOPE_CLAIMS },
    // What the OP offers comes from OP_METADATA, as its federation metadata does.
    scopes: list(OP_METADATA.scopes),
    acrValues: Object.values(c.acrUris),
    subjectTypes: list(OP_METADATA.subjectTypes),
    clientAuthMethods: list(OP_METADATA.clientAuthMethods),
    // Claims a scope grants are put in the ID token too: relying portals and brokers read them there.
    conformIdTokenClaims: false,
    responseTypes: list(OP_METADATA.responseTypes),
    // A cross-tier login's hops pass on the home the registry named and the route so far (pushed only).
    extraParams: [HOME_HINT_PARAM, ROUTE_PARAM],
    // PKCE with S256 for every client, confidential ones included (RFC 9700 §2.1.1).
    pkce: { required: () => true },
    // Exact redirect URI matching, always stated in the request.
    allowOmittingSingleRegisteredRedirectUri: false,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
      // Every client may ask for the authorization details types the OP takes (the person consents to each).
      ...(c.richAuthorizationRequests ? { authorization_details_types: Object.keys(c.richAuthorizationRequests.types) } : {}),
    },
    enabledJWA: {
      idTokenSigningAlgValues: list(OP_METADATA.idTokenSigningAlgValues),
      userinfoSigningAlgValues: ['ES256', 'RS256'],
      requestObjectSigningAlgValues: ['ES256', 'RS256', 'PS256'],
      clientAuthSigningAlgValues: list(OP_METADATA.clientAuthSigningAlgValues),
    },
    cookies: {
      // Entities share a host in the demo (cookies ignore ports), so every cookie name is the entity's own.
      names: { session: `${cookiePrefix}_session`, interaction: `${cookiePrefix}_interaction`, resume: `${cookiePrefix}_resume` },
      keys: c.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false, allowUnregisteredRedirectUris: false },
      // RFC 7009 §2.1: a client revokes only its own tokens; a public client learns nothing about others'.
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      // RFC 7662 §4: a client learns about its own tokens only.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      clientCredentials: { enabled: OP_METADATA.grantTypes.includes('client_credentials') },
      backchannelLogout: { enabled: true },
      // RFC 8707: an access token for a services entity of the federation is a JWT for it alone.
      // Without a `resource`, tokens stay opaque and serve userinfo only.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (!(await c.isResourceServer(resource)))
            throw new errors.InvalidTarget(`${resource} is not a services entity of the federation`);
          return {
            scope: SERVICES_SCOPE,
            audience: resource,
            accessTokenTTL: TTL.AccessToken,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
      richAuthorizationRequests: c.richAuthorizationRequests ?? { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource: c.logoutSource, postLogoutSuccessSource: c.postLogoutSuccessSource },
    },
    // Refresh tokens for every client allowed the grant; each use rotates it and a reused one revokes the grant.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // No token depends on the browser session's record, which lives in the key-value store: a
    // refresh token and its grant (PostgreSQL) outlive the session's expiry and the store's loss.
    // Logging out of a session still revokes its grant (op-app.ts keeps oidc-provider's logout rule).
    expiresWithSession: async () => false,
    // Each browser session has a grant of its own, so that a logout revokes the tokens of that
    // session only; consent given in an earlier session is carried over, until it expires.
    loadExistingGrant: async (ctx) => {
      const { Grant } = ctx.oidc.provider;
      const clientId = ctx.oidc.client!.clientId;
      const accountId = ctx.oidc.session!.accountId!;
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(clientId);
      if (grantId) return Grant.find(grantId);
      // A client that needs no consent (a broker relaying a login, at every hop) gets what it asks
      // for: no earlier consent to look up.
      const skipsConsent = await c.maySkipConsent(clientId);
      const earlierId = skipsConsent ? undefined : await c.earlierGrant(accountId, clientId);
      const found = earlierId ? await Grant.find(earlierId) : undefined;
      // A consent about to expire is asked for again rather than carried over for seconds.
      const earlier = found && found.remainingTTL > 60 ? found : undefined;
      if (!earlier && !skipsConsent) return undefined;
      const grant = new Grant({ accountId, clientId });
      if (earlier) {
        grant.addOIDCScope(earlier.getOIDCScope());
        grant.addOIDCClaims(earlier.getOIDCClaims());
        grant.exp = earlier.exp;
      } else grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      await grant.save();
      return grant;
    },
    ttl: TTL,
    // RFC 9068 §2.2.1: a resource server learns how the person was authenticated (an item's
    // minimum LoA). `gid` names the grant, so that the OP answers who acts for an organization
    // under this very token (services-person-route.ts), with the mandate checked live.
    extraTokenClaims: (ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.resourceServer) return undefined;
      const { AuthorizationCode, RefreshToken } = ctx.oidc.entities;
      const acr = (AuthorizationCode ?? RefreshToken)?.acr;
      return { ...(acr ? { acr } : {}), ...(token.grantId ? { gid: token.grantId } : {}) };
    },
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false,
    // oidc-provider scopes its interaction cookie to the destination's path: a hop routed on at once
    // leaves it on the next hop's path at this origin (`/auth`), where nothing reads it; the hop's
    // answer is bound to the browser by a cookie of its own (login/hop-binding.ts).
    interactions: {
      policy: c.interactionPolicy,
      url: async (ctx, interaction) => (await c.routedAhead?.(ctx, interaction)) ?? `/interaction/${interaction.uid}`,
    },
    discovery: {
      ui_locales_supported: list(OP_METADATA.uiLocales),
      claims_locales_supported: list(OP_METADATA.claimsLocales),
    },
    renderError: c.renderError,
  };
}
