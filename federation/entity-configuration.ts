/**
 * Entity configuration (OpenID Federation 1.0, section 3): a self-signed statement at
 * `/.well-known/openid-federation` that carries the entity's federation keys and metadata.
 * Reading one checks the self-signature with the keys it carries; whether those keys are to be
 * trusted is the trust chain's question (the topology vouches for entities until then).
 */
import { createLocalJWKSet, decodeJwt, importJWK, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import type Koa from 'koa';
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { publicJwk } from '../infra/entity-keys.ts';
import type { StatementFetcher } from './trust-chain.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';

export const ENTITY_CONFIGURATION_PATH = '/.well-known/openid-federation';
export const ENTITY_STATEMENT_TYP = 'entity-statement+jwt';
const LIFETIME_SECONDS = FEDERATION_DEFAULTS.entityConfigurationLifetimeSeconds;

export interface EntityConfigurationInput {
  entityId: string;
  keys: PrivateJwk[];
  metadata: Record<string, Record<string, unknown>>;
  authorityHints: string[];
  /** The Trust Marks the entity holds (§3.1.2 `trust_marks`), e.g. TrustMarkHolder.trustMarks(); left out when empty. */
  trustMarks?: { trust_mark_type: string; trust_mark: string }[];
  /** Trust Anchor only: Trust Mark type → the issuers the federation accepts (§3.1.2 `trust_mark_issuers`). */
  trustMarkIssuers?: Record<string, string[]>;
}

export async function signEntityConfiguration(input: EntityConfigurationInput): Promise<string> {
  const key = input.keys[0]!;
  return new SignJWT({
    jwks: { keys: input.keys.map(publicJwk) },
    metadata: input.metadata,
    ...(input.authorityHints.length ? { authority_hints: input.authorityHints } : {}),
    ...(input.trustMarks?.length ? { trust_marks: input.trustMarks } : {}),
    ...(input.trustMarkIssuers && Object.keys(input.trustMarkIssuers).length ? { trust_mark_issuers: input.trustMarkIssuers } : {}),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ENTITY_STATEMENT_TYP })
    .setIssuer(input.entityId)
    .setSubject(input.entityId)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(await importJWK(key, key.alg));
}

/** Serves the entity configuration, re-signed when the cached one nears expiry, the keys change or the trust marks change. */
export function entityConfigurationMiddleware(input: () => EntityConfigurationInput): Koa.Middleware {
  let cached: { jwt: string; until: number; fingerprint: string } | undefined;
  return async (ctx, next) => {
    if (ctx.path !== ENTITY_CONFIGURATION_PATH || ctx.method !== 'GET') return next();
    const current = input();
    const fingerprint = JSON.stringify([current.keys.map((k) => k.kid), current.trustMarks ?? []]);
    if (!cached || cached.until < Date.now() || cached.fingerprint !== fingerprint) {
      cached = { jwt: await signEntityConfiguration(current), until: Date.now() + (LIFETIME_SECONDS / 2) * 1000, fingerprint };
    }
    ctx.type = 'application/entity-statement+jwt';
    ctx.body = cached.jwt;
  };
}

export class EntityConfigurationError extends Error {
  constructor(entityId: string, reason: string) {
    super(`entity configuration of ${entityId}: ${reason}`);
    this.name = 'EntityConfigurationError';
  }
}

/** Fetches (through `fetcher`: a running entity's is its fetch policy's) and checks an entity configuration; returns its federation keys. */
export async function fetchEntityKeys(
  entityId: string,
  fetcher: StatementFetcher,
  timeoutMs: number = FEDERATION_DEFAULTS.fetchTimeoutMs,
): Promise<JSONWebKeySet> {
  let jwt: string;
  try {
    jwt = (await fetcher.entityConfiguration(entityId, AbortSignal.timeout(timeoutMs))).trim();
  } catch (err) {
    throw new EntityConfigurationError(entityId, `unreachable (${(err as Error).message})`);
  }
  let claims;
  try {
    claims = decodeJwt(jwt);
  } catch {
    throw new EntityConfigurationError(entityId, 'not a JWT');
  }
  const jwks = claims.jwks as JSONWebKeySet | undefined;
  if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new EntityConfigurationError(entityId, 'no jwks');
  try {
    await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: entityId, subject: entityId, typ: ENTITY_STATEMENT_TYP });
  } catch (err) {
    throw new EntityConfigurationError(entityId, `bad self-signature (${(err as Error).message})`);
  }
  return jwks;
}

/**
 * Remembers verified keys for a while so that every call does not cost a fetch; `fresh` asks
 * again (at most once a second per entity, so that forged kids cannot make us hammer it).
 */
export function cachedKeyResolver(
  trusted: (entityId: string) => boolean,
  fetcher: StatementFetcher,
  ttlMs = FEDERATION_DEFAULTS.entityKeysCacheSeconds * 1000,
) {
  const cache = new Map<string, { keys: JSONWebKeySet; until: number; fetchedAt: number }>();
  return async (entityId: string, opts: { fresh?: boolean } = {}): Promise<JSONWebKeySet | null> => {
    if (!trusted(entityId)) return null;
    const hit = cache.get(entityId);
    const refetchAllowed = !hit || Date.now() - hit.fetchedAt > 1_000;
    if (hit && hit.until > Date.now() && !(opts.fresh && refetchAllowed)) return hit.keys;
    try {
      const keys = await fetchEntityKeys(entityId, fetcher);
      cache.set(entityId, { keys, until: Date.now() + ttlMs, fetchedAt: Date.now() });
      return keys;
    } catch {
      return null;
    }
  };
}
