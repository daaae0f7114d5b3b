/**
 * What a tier OP offers, said once. oidc-provider is configured from these values
 * (provider-config.ts) and answers discovery (`/.well-known/openid-configuration`) from them; the
 * `openid_provider` metadata of the OP's entity configuration is built from the same values by
 * openidProviderMetadata. A relying party reading either finds the same endpoints, scopes,
 * algorithms and client authentication methods (test/integration/published-metadata.test.ts).
 */
import type Provider from 'oidc-provider';

export const OP_METADATA = {
  scopes: ['openid', 'offline_access', 'profile', 'phone', 'id_number', 'legal_person'],
  /** The authorization code flow only (RFC 9700 §2.1.2: no implicit or hybrid response types). */
  responseTypes: ['code'],
  /** Refresh tokens come with offline_access; client_credentials is for the tier's back-end parts. */
  grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  /**
   * The methods a client can be registered with here, no others: federation entities and clients
   * given keys use private_key_jwt, other confidential clients get a secret for HTTP Basic
   * (client-store.ts), public clients none. client_secret_post and client_secret_jwt are never
   * issued, so they are not accepted either.
   */
  clientAuthMethods: ['private_key_jwt', 'client_secret_basic', 'none'],
  clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256'],
  idTokenSigningAlgValues: ['ES256', 'RS256'],
  /** PKCE with S256 for every client (RFC 9700 §2.1.1); plain is never accepted. */
  codeChallengeMethods: ['S256'],
  /** A person's `sub` is the same for every client of this OP. */
  subjectTypes: ['public'],
  uiLocales: ['zh-CN', 'en'],
  claimsLocales: ['zh-CN'],
} as const;

/** A mutable copy, for configuration types that take string[]. */
export const list = <T extends string>(values: readonly T[]): T[] => [...values];

/**
 * The OP's `openid_provider` metadata for its entity configuration: the values its discovery
 * document states, plus what only the federation asks (automatic registration, §12).
 */
export function openidProviderMetadata(provider: Provider, acrUris: Record<string, string>): Record<string, unknown> {
  return {
    issuer: provider.issuer,
    authorization_endpoint: provider.urlFor('authorization'),
    pushed_authorization_request_endpoint: provider.urlFor('pushed_authorization_request'),
    token_endpoint: provider.urlFor('token'),
    userinfo_endpoint: provider.urlFor('userinfo'),
    jwks_uri: provider.urlFor('jwks'),
    end_session_endpoint: provider.urlFor('end_session'),
    revocation_endpoint: provider.urlFor('revocation'),
    introspection_endpoint: provider.urlFor('introspection'),
    scopes_supported: list(OP_METADATA.scopes),
    response_types_supported: list(OP_METADATA.responseTypes),
    grant_types_supported: list(OP_METADATA.grantTypes),
    code_challenge_methods_supported: list(OP_METADATA.codeChallengeMethods),
    subject_types_supported: list(OP_METADATA.subjectTypes),
    id_token_signing_alg_values_supported: list(OP_METADATA.idTokenSigningAlgValues),
    token_endpoint_auth_methods_supported: list(OP_METADATA.clientAuthMethods),
    token_endpoint_auth_signing_alg_values_supported: list(OP_METADATA.clientAuthSigningAlgValues),
    acr_values_supported: Object.values(acrUris),
    ui_locales_supported: list(OP_METADATA.uiLocales),
    claims_locales_supported: list(OP_METADATA.claimsLocales),
    // RFC 9207: every authorization response names its issuer (oidc-provider always sends iss).
    authorization_response_iss_parameter_supported: true,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    // OpenID Federation §12: relying parties of the federation need no prior registration, and
    // an automatically registered one authenticates its pushed request with its federation keys.
    client_registration_types_supported: ['automatic', 'explicit'],
    request_authentication_methods_supported: { par: ['private_key_jwt'] },
  };
}
