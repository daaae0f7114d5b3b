/**
 * The keys an entity of the federation signs its own objects with (licences, status lists, entity
 * assertions), as its trust chain to the anchor vouches for them: the federation keys its superior
 * states about it (OpenID Federation 1.0 §3.1.3; for the anchor, its own). A key the chain no
 * longer holds may be a rotated-out one: the entity's historical keys (§8.7, federation/historical-
 * keys.ts), fetched from the endpoint its chain's metadata names and signed with a key of the
 * chain, say when it was in use. Resolved chains are kept for FEDERATION_DEFAULTS.trustCacheSeconds;
 * an unknown kid makes a fresh resolution (a rotation), at most once a second per entity, and a
 * fresh look at the historical keys, at most once every HISTORICAL_REFETCH_MS.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { materializeTrustAnchor, type TrustAnchorSource } from './authority-endpoints.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import { TrustChainError } from './federation-errors.ts';
import { resolveTrustChain, type StatementFetcher, type TrustAnchor } from './trust-chain.ts';

const HISTORICAL_KEYS_TYP = 'jwk-set+jwt';
const HISTORICAL_REFETCH_MS = 5_000;
const FRESH_RESOLUTION_MS = 1_000;
const MAX_HISTORICAL_BYTES = 64 * 1024;
const MAX_ENTRIES = 1000;

export type SigningKeyAnswer =
  | { ok: true; key: JWK; activeFrom?: number; retiredAt?: number }
  | { ok: false; problem: 'untrusted' | 'unreachable' | 'unknown_key'; detail: string };

export interface EntitySigningKeysOptions {
  trustAnchors: TrustAnchorSource[];
  fetcher: StatementFetcher;
  allowHttpEntityIds: boolean;
  /** The entity type the resolved metadata must have (`oauth_resource`: a services entity). */
  entityType: string;
  /** Longest reuse of a resolved chain (seconds; default: FEDERATION_DEFAULTS.trustCacheSeconds). */
  cacheSeconds?: number;
}

interface Entry {
  keys: JWK[];
  historicalEndpoint: string | null;
  resolvedAt: number;
  until: number;
}

interface Historical {
  keys: (JWK & { iat?: number; exp?: number })[];
  fetchedAt: number;
}

/** A resolution that failed: `unreachable` when statements did not come, `untrusted` when they came wrong. */
class Unresolved extends Error {
  constructor(
    readonly problem: 'untrusted' | 'unreachable',
    detail: string,
  ) {
    super(detail);
  }
}

export class EntitySigningKeys {
  readonly #entries = new Map<string, Entry>();
  readonly #resolving = new Map<string, Promise<Entry>>();
  readonly #historical = new Map<string, Historical>();
  readonly #cacheMs: number;

  constructor(private readonly o: EntitySigningKeysOptions) {
    this.#cacheMs = (o.cacheSeconds ?? FEDERATION_DEFAULTS.trustCacheSeconds) * 1000;
  }

  /** The key `kid` of `entityId`, with the time it was in use when it is a retired one. */
  async key(entityId: string, kid: string): Promise<SigningKeyAnswer> {
    try {
      let entry = await this.#entry(entityId, false);
      let key = entry.keys.find((k) => k.kid === kid);
      if (!key && Date.now() - entry.resolvedAt > FRESH_RESOLUTION_MS) {
        entry = await this.#entry(entityId, true);
        key = entry.keys.find((k) => k.kid === kid);
      }
      if (key) return { ok: true, key };
      const retired = (await this.#historicalKeys(entityId, entry, kid)).find((k) => k.kid === kid);
      if (!retired) return { ok: false, problem: 'unknown_key', detail: `no key ${kid} in its trust chain or among its historical keys` };
      const { iat, exp, ...jwk } = retired;
      return { ok: true, key: jwk, ...(typeof iat === 'number' ? { activeFrom: iat } : {}), retiredAt: typeof exp === 'number' ? exp : 0 };
    } catch (err) {
      if (err instanceof Unresolved) return { ok: false, problem: err.problem, detail: err.message };
      throw err;
    }
  }

  /** The entity's federation keys as its chain vouches for them, or null when it has no valid chain (an EntityKeyResolver). */
  async jwks(entityId: string, opts: { fresh?: boolean } = {}): Promise<JSONWebKeySet | null> {
    try {
      return { keys: (await this.#entry(entityId, opts.fresh === true)).keys };
    } catch (err) {
      if (err instanceof Unresolved) return null;
      throw err;
    }
  }

  async #entry(entityId: string, fresh: boolean): Promise<Entry> {
    const hit = this.#entries.get(entityId);
    if (hit && hit.until > Date.now() && !(fresh && Date.now() - hit.resolvedAt > FRESH_RESOLUTION_MS)) return hit;
    let pending = this.#resolving.get(entityId);
    if (!pending) {
      pending = this.#resolve(entityId).finally(() => this.#resolving.delete(entityId));
      this.#resolving.set(entityId, pending);
    }
    const entry = await pending;
    this.#entries.delete(entityId);
    this.#entries.set(entityId, entry);
    while (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    return entry;
  }

  async #resolve(entityId: string): Promise<Entry> {
    if (!URL.canParse(entityId)) throw new Unresolved('untrusted', `${entityId} is not an entity identifier`);
    const anchors = (await Promise.all(this.o.trustAnchors.map(materializeTrustAnchor))).filter((a): a is TrustAnchor => a !== null);
    if (anchors.length === 0) throw new Unresolved('unreachable', "the trust anchor's keys cannot be obtained");
    let chain;
    try {
      chain = await resolveTrustChain(entityId, {
        trustAnchors: anchors,
        fetcher: this.o.fetcher,
        allowHttpEntityIds: this.o.allowHttpEntityIds,
        entityType: this.o.entityType,
      });
    } catch (err) {
      if (!(err instanceof TrustChainError)) throw err;
      throw new Unresolved(err.unanswered ? 'unreachable' : 'untrusted', err.message);
    }
    // The superior's statement about the entity; the anchor's own configuration when it is the anchor.
    const vouching = decodeJwt(chain.statements[chain.statements.length > 1 ? 1 : 0]!);
    const endpoint = chain.metadata.federation_entity?.federation_historical_keys_endpoint;
    const now = Date.now();
    return {
      keys: (vouching.jwks as { keys: JWK[] }).keys,
      historicalEndpoint: typeof endpoint === 'string' && endpoint.startsWith(`${entityId}/`) ? endpoint : null,
      resolvedAt: now,
      until: Math.min(chain.expiresAt * 1000, now + this.#cacheMs),
    };
  }

  /** The entity's historical keys, signed by a key of its chain; fetched again when `kid` is not among them. */
  async #historicalKeys(entityId: string, entry: Entry, kid: string): Promise<Historical['keys']> {
    const held = this.#historical.get(entityId);
    if (held && (held.keys.some((k) => k.kid === kid) || Date.now() - held.fetchedAt < HISTORICAL_REFETCH_MS)) return held.keys;
    if (!entry.historicalEndpoint) return [];
    let jwt: string;
    try {
      const res = await fetch(entry.historicalEndpoint, {
        headers: { accept: `application/${HISTORICAL_KEYS_TYP}` },
        redirect: 'error',
        signal: AbortSignal.timeout(FEDERATION_DEFAULTS.fetchTimeoutMs),
      });
      jwt = (await res.text()).trim();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      if (jwt.length > MAX_HISTORICAL_BYTES) throw new Error('too large');
    } catch (err) {
      throw new Unresolved('unreachable', `its historical keys cannot be fetched (${(err as Error).message})`);
    }
    let keys: Historical['keys'];
    try {
      const { payload } = await jwtVerify(jwt, createLocalJWKSet({ keys: entry.keys }), { issuer: entityId, typ: HISTORICAL_KEYS_TYP });
      keys = Array.isArray((payload as { keys?: unknown }).keys) ? (payload as { keys: Historical['keys'] }).keys : [];
    } catch (err) {
      throw new Unresolved('untrusted', `its historical keys are not signed with a key of its trust chain (${(err as Error).message})`);
    }
    this.#historical.set(entityId, { keys, fetchedAt: Date.now() });
    while (this.#historical.size > MAX_ENTRIES) this.#historical.delete(this.#historical.keys().next().value!);
    return keys;
  }
}
