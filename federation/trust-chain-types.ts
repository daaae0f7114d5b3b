/**
 * The public types of Trust Chain resolution and validation (OpenID Federation 1.0 §4, §10):
 * what a caller passes in (trust anchors, a statement fetcher, limits) and what it gets back.
 */
import type { JWK } from 'jose';

/** The JWS algorithms accepted for Entity Statements unless ResolveOptions.algorithms says otherwise (never none). */
export const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

export interface StatementFetcher {
  /** Returns the compact JWT served at the entity's configuration endpoint. */
  entityConfiguration(entityId: string, signal?: AbortSignal): Promise<string>;
  /** Returns the compact JWT the issuer's fetch endpoint serves about the subject. */
  subordinateStatement(fetchEndpoint: string, issuer: string, subject: string, signal?: AbortSignal): Promise<string>;
}

export interface TrustAnchor {
  entityId: string;
  jwks: { keys: JWK[] };
}

export interface ResolveOptions {
  trustAnchors: TrustAnchor[];
  fetcher: StatementFetcher;
  /** Most Intermediate Entities allowed between the subject and the Trust Anchor (default: FEDERATION_DEFAULTS.trustChainMaxPathLength). */
  maxPathLength?: number;
  /** Largest statement accepted, in bytes (default: FEDERATION_DEFAULTS.statementMaxBytes). */
  maxJwtBytes?: number;
  /** Current time in seconds since the epoch. */
  now?: () => number;
  /** Entity type the resolved metadata must contain, e.g. openid_relying_party. */
  entityType?: string;
  /** Time allowed for each fetch, in milliseconds (default: FEDERATION_DEFAULTS.statementFetchTimeoutMs). */
  timeoutMs?: number;
  /** Leeway for iat/exp in seconds (default and maximum: FEDERATION_DEFAULTS.maxClockSkewSeconds). */
  clockSkewSeconds?: number;
  /** Accepted JWS algorithms (default: DEFAULT_ALGORITHMS; never none). */
  algorithms?: string[];
  /** authority_hints inspected per entity (default: FEDERATION_DEFAULTS.maxAuthorityHints; §18.1 asks implementations to set a limit). */
  maxAuthorityHints?: number;
  /** Fetches allowed for one resolution (default: FEDERATION_DEFAULTS.maxFetchesPerResolution). */
  maxFetches?: number;
  /**
   * Accept http Entity Identifiers. §1.2 requires https; "Profiles of this specification MAY
   * define other kinds of Entity Identifiers". Only for the loopback demo federation.
   */
  allowHttpEntityIds?: boolean;
}

export interface TrustChain {
  subject: string;
  trustAnchor: string;
  /** Compact JWTs: the subject's entity configuration, the subordinate statements up to the one issued by the anchor, then the anchor's entity configuration. */
  statements: string[];
  /** The minimum exp of all statements (§10.4). */
  expiresAt: number;
  /** The subject's metadata after applying the superior's metadata, constraints and the resolved policy. */
  metadata: Record<string, Record<string, unknown>>;
  /** The subject's trust_marks claim (syntax checked; the marks themselves are not validated here). */
  trustMarks?: unknown[];
}
