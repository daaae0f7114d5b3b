/**
 * Subordinate Statements (OpenID Federation 1.0 §3.1.3): what an authority (the national trust
 * anchor or a province) signs about one of its Immediate Subordinates — the subordinate's
 * federation keys, and the metadata policy, constraints and metadata the authority imposes.
 * Served by the authority's fetch endpoint (federation/authority-endpoints.ts).
 *
 * The subordinate's keys are those pinned in the authority configuration, or else the ones it
 * publishes in its own entity configuration (fetched, checked for a valid self-signature, and
 * remembered for a while by a SubordinateDirectory).
 */
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { publicJwk } from '../infra/entity-keys.ts';
import { EntityConfigurationError, ENTITY_STATEMENT_TYP } from './entity-configuration.ts';
import type { MetadataPolicy, EntityMetadata } from './metadata-policy.ts';
import { httpStatementFetcher, DEFAULT_ALGORITHMS, type StatementFetcher } from './trust-chain.ts';
import type { SubordinateConstraints } from './authority-config.ts';

export const SUBORDINATE_STATEMENT_LIFETIME_SECONDS = 24 * 3600;

export interface SubordinateStatementInput {
  /** The authority's Entity Identifier (iss). */
  issuer: string;
  /** The subordinate's Entity Identifier (sub). */
  subject: string;
  /** The authority's federation keys; the first one signs. */
  keys: PrivateJwk[];
  /** The subordinate's federation keys (public; private members are dropped). */
  jwks: { keys: JWK[] };
  metadataPolicy?: MetadataPolicy;
  constraints?: SubordinateConstraints;
  metadata?: EntityMetadata;
  /** The fetch endpoint this statement is served from. */
  sourceEndpoint?: string;
  /** Default one day. */
  lifetimeSeconds?: number;
  /** Seconds since the epoch (default: now). */
  now?: number;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
function publicOnly(key: JWK): JWK {
  const pub: Record<string, unknown> = { ...key };
  for (const m of PRIVATE_MEMBERS) delete pub[m];
  return pub as JWK;
}

/** Signs a Subordinate Statement (typ entity-statement+jwt) with the authority's first key. */
export async function signSubordinateStatement(input: SubordinateStatementInput): Promise<string> {
  const key = input.keys[0];
  if (!key) throw new Error(`${input.issuer} has no federation key to sign with`);
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const lifetime = input.lifetimeSeconds ?? SUBORDINATE_STATEMENT_LIFETIME_SECONDS;
  const claims: Record<string, unknown> = {
    iss: input.issuer,
    sub: input.subject,
    iat: now,
    exp: now + lifetime,
    jwks: { keys: input.jwks.keys.map(publicOnly) },
  };
  if (input.metadataPolicy && Object.keys(input.metadataPolicy).length) claims.metadata_policy = input.metadataPolicy;
  if (input.constraints && Object.keys(input.constraints).length) claims.constraints = input.constraints;
  if (input.metadata && Object.keys(input.metadata).length) claims.metadata = input.metadata;
  if (input.sourceEndpoint) claims.source_endpoint = input.sourceEndpoint;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ENTITY_STATEMENT_TYP })
    .sign(await importJWK(key, key.alg));
}

/** The public keys of an authority, as its entity configuration publishes them. */
export function authorityJwks(keys: PrivateJwk[]): { keys: JWK[] } {
  return { keys: keys.map(publicJwk) };
}

// ---------------------------------------------------------------------------------------------
// What the authority knows about its subordinates
// ---------------------------------------------------------------------------------------------

export interface SubordinateInfo {
  /** The federation keys of the subordinate's entity configuration. */
  jwks: { keys: JWK[] };
  /** The metadata of its entity configuration. */
  metadata: EntityMetadata;
  authorityHints: string[];
}

/**
 * Fetches a subordinate's entity configuration and checks it: the content type, iss = sub = the
 * entity, typ, an accepted algorithm and a signature by a key of its own jwks. Throws
 * EntityConfigurationError with the reason.
 */
export async function fetchSubordinateInfo(
  entityId: string,
  opts: { fetcher?: StatementFetcher; timeoutMs?: number } = {},
): Promise<SubordinateInfo> {
  const fetcher = opts.fetcher ?? httpStatementFetcher();
  let jwt: string;
  try {
    jwt = (await fetcher.entityConfiguration(entityId, AbortSignal.timeout(opts.timeoutMs ?? 3000))).trim();
  } catch (err) {
    throw new EntityConfigurationError(entityId, `unreachable (${(err as Error).message})`);
  }
  let payload: Record<string, unknown>;
  try {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const jwks = claims.jwks as { keys?: unknown } | undefined;
    if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new EntityConfigurationError(entityId, 'no jwks');
    ({ payload } = await jwtVerify(jwt, createLocalJWKSet(jwks as { keys: JWK[] }), {
      issuer: entityId,
      subject: entityId,
      typ: ENTITY_STATEMENT_TYP,
      algorithms: [...DEFAULT_ALGORITHMS],
    }));
  } catch (err) {
    if (err instanceof EntityConfigurationError) throw err;
    throw new EntityConfigurationError(entityId, `not a valid self-signed entity configuration (${(err as Error).message})`);
  }
  const metadata = payload.metadata;
  const hints = payload.authority_hints;
  return {
    jwks: payload.jwks as { keys: JWK[] },
    metadata: typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as EntityMetadata) : {},
    authorityHints: Array.isArray(hints) ? hints.filter((h): h is string => typeof h === 'string') : [],
  };
}

/**
 * Remembers what subordinates publish for `ttlMs` (default five minutes). When a refresh fails, the
 * last known information is used for up to `staleMs` more (default one hour), so that a
 * subordinate's brief outage does not make its superior's fetch endpoint fail.
 */
export class SubordinateDirectory {
  readonly #ttlMs: number;
  readonly #staleMs: number;
  readonly #fetch: (entityId: string) => Promise<SubordinateInfo>;
  readonly #entries = new Map<string, { info: SubordinateInfo; at: number }>();
  readonly #pending = new Map<string, Promise<SubordinateInfo>>();

  constructor(
    opts: { ttlMs?: number; staleMs?: number; fetch?: (entityId: string) => Promise<SubordinateInfo>; fetcher?: StatementFetcher } = {},
  ) {
    this.#ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.#staleMs = opts.staleMs ?? 60 * 60_000;
    const fetcher = opts.fetcher;
    this.#fetch = opts.fetch ?? ((id) => fetchSubordinateInfo(id, fetcher ? { fetcher } : {}));
  }

  async get(entityId: string): Promise<SubordinateInfo> {
    const now = Date.now();
    const hit = this.#entries.get(entityId);
    if (hit && now - hit.at < this.#ttlMs) return hit.info;
    let pending = this.#pending.get(entityId);
    if (!pending) {
      pending = this.#fetch(entityId).finally(() => this.#pending.delete(entityId));
      this.#pending.set(entityId, pending);
    }
    try {
      const info = await pending;
      this.#entries.set(entityId, { info, at: Date.now() });
      return info;
    } catch (err) {
      if (hit && now - hit.at < this.#ttlMs + this.#staleMs) return hit.info;
      throw err;
    }
  }

  /** Forgets one subordinate (e.g. after it was removed from the configuration), or all. */
  forget(entityId?: string): void {
    if (entityId === undefined) this.#entries.clear();
    else this.#entries.delete(entityId);
  }
}
