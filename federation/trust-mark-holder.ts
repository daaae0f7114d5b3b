/**
 * The holder's side of Trust Marks: every entity obtains its own marks from the Trust Mark Issuer
 * (the national platform) at its Trust Mark endpoint (OpenID Federation 1.0 §8.6) and publishes
 * them in the `trust_marks` claim of its entity configuration (§3.1.2) as
 * `[{ trust_mark_type, trust_mark }]`.
 *
 * - The first attempt runs in the background when the holder starts; the entity starts at once,
 *   without marks if the issuer cannot be reached, and tries again (5 s, then doubling up to five
 *   minutes) until it can.
 * - Afterwards the issuer is asked again every `checkIntervalMs` (default ten minutes), and before a
 *   held mark passes half its lifetime. A fetched mark replaces the held one only when it says
 *   something different (another `max_loa`) or the held one is past half its lifetime, so the
 *   entity configuration does not change with every check.
 * - A 404 from the issuer means the entity does not (or no longer) have that mark: it is dropped
 *   from the entity configuration at once. Any other failure keeps the held mark until it expires.
 * - Every fetched mark is validated (federation/trust-marks.ts verifyTrustMark: typ, signature with
 *   the issuer's federation keys, type, subject, times) before it is published.
 *
 * The issuer's endpoint and keys come from its entity configuration (its self-signature checked;
 * the topology vouches for the national platform's URL, as for topologyTrustAnchor), unless given.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import type { Logger } from '../infra/log.ts';
import { ENTITY_CONFIGURATION_PATH, ENTITY_STATEMENT_TYP } from './entity-configuration.ts';
import {
  TRUST_MARK_MEDIA_TYPE,
  TRUST_MARK_TYPES,
  TrustMarkError,
  verifyTrustMark,
  type TrustMarkClaims,
  type TrustMarkEntry,
} from './trust-marks.ts';

type Jwks = { keys: JWK[] };

export interface TrustMarkHolderOptions {
  /** The holder's own Entity Identifier (the `sub` of its marks). */
  entityId: string;
  /** The Trust Mark Issuer's Entity Identifier. */
  issuer: string;
  /** The issuer's Trust Mark endpoint (default: `federation_trust_mark_endpoint` of its entity configuration). */
  trustMarkEndpoint?: string;
  /** The issuer's federation keys (default: those of its entity configuration). */
  issuerKeys?: Jwks | (() => Jwks);
  /** The types to ask for (default: all gov-id types; the issuer answers 404 for those not granted). */
  types?: readonly string[];
  /**
   * Obtains a mark without HTTP, e.g. when the holder is the issuer itself:
   * `(type, sub) => issuer.issue(type, sub)`; null means "not granted". Give `issuerKeys` with it
   * (`() => issuer.jwks()`), or the issuer's entity configuration is fetched for them.
   */
  obtain?: (trustMarkType: string, sub: string) => Promise<string | null>;
  /** Time between regular checks, in milliseconds (default ten minutes). */
  checkIntervalMs?: number;
  /** First retry after a failure, in milliseconds (default 5 s; doubles up to min(5 min, checkIntervalMs)). */
  retryMs?: number;
  /** Time allowed for each HTTP request, in milliseconds (default 5 s). */
  timeoutMs?: number;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
  /** Called after the published marks changed (e.g. to log, or to drop a cached entity configuration). */
  onChange?: (marks: TrustMarkEntry[]) => void;
  log?: Logger;
}

interface Held {
  jwt: string;
  claims: TrustMarkClaims;
}

export interface RefreshResult {
  /** Every type was answered (a mark, or 404). */
  ok: boolean;
  /** Types whose published mark changed in this round. */
  changed: string[];
  /** Why some types could not be refreshed. */
  errors: string[];
}

class NotGranted extends Error {}

/** What the holder publishes: a comparison key that ignores iat and exp. */
function essence(claims: TrustMarkClaims): string {
  const { iat: _iat, exp: _exp, ...rest } = claims;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class TrustMarkHolder {
  readonly entityId: string;
  readonly #opts: TrustMarkHolderOptions;
  readonly #types: readonly string[];
  readonly #held = new Map<string, Held>();
  readonly #now: () => number;
  readonly #checkInterval: number;
  readonly #retryMin: number;
  readonly #retryMax: number;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #running: Promise<RefreshResult> | undefined;
  #issuerInfo: { endpoint: string; keys: Jwks; until: number } | undefined;
  #resolveFirst!: () => void;
  /** Settles after the first attempt, successful or not (tests, logs). Never rejects. */
  readonly firstAttempt: Promise<void>;

  constructor(opts: TrustMarkHolderOptions) {
    this.entityId = opts.entityId;
    this.#opts = opts;
    this.#types = opts.types ?? TRUST_MARK_TYPES;
    this.#now = opts.now ?? Date.now;
    this.#checkInterval = opts.checkIntervalMs ?? 600_000;
    this.#retryMin = opts.retryMs ?? 5000;
    this.#retryMax = Math.max(this.#retryMin, Math.min(300_000, this.#checkInterval));
    this.firstAttempt = new Promise((resolve) => (this.#resolveFirst = resolve));
  }

  /** The `trust_marks` claim for the entity configuration: the held marks that have not expired. */
  trustMarks(): TrustMarkEntry[] {
    const now = Math.floor(this.#now() / 1000);
    return [...this.#held.entries()]
      .filter(([, h]) => h.claims.exp === undefined || h.claims.exp > now)
      .map(([type, h]) => ({ trust_mark_type: type, trust_mark: h.jwt }));
  }

  /** Starts refreshing in the background; returns at once (never waits for, or fails because of, the issuer). */
  start(): this {
    this.#stopped = false;
    this.#schedule(0);
    return this;
  }

  /** Stops the background refreshing. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One round: asks the issuer for every type. Never throws. Concurrent calls share one round. */
  refresh(): Promise<RefreshResult> {
    this.#running ??= this.#refresh().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.refresh().then((result) => {
        this.#resolveFirst();
        this.#schedule(this.#nextDelay(result));
      });
    }, delayMs);
    this.#timer.unref?.();
  }

  #nextDelay(result: RefreshResult): number {
    if (!result.ok) {
      this.#failures++;
      return Math.min(this.#retryMin * 2 ** (this.#failures - 1), this.#retryMax);
    }
    this.#failures = 0;
    // Come back before any held mark passes half its lifetime.
    let next = this.#checkInterval;
    for (const { claims } of this.#held.values()) {
      if (claims.exp === undefined) continue;
      const halfLife = (claims.iat + (claims.exp - claims.iat) / 2) * 1000;
      next = Math.min(next, Math.max(halfLife - this.#now(), 1000));
    }
    return next;
  }

  async #refresh(): Promise<RefreshResult> {
    const result: RefreshResult = { ok: true, changed: [], errors: [] };
    for (const type of this.#types) {
      try {
        const jwt = await this.#obtain(type);
        const claims = await this.#verify(jwt, type);
        const held = this.#held.get(type);
        const now = Math.floor(this.#now() / 1000);
        const pastHalfLife = held?.claims.exp !== undefined && now >= held.claims.iat + (held.claims.exp - held.claims.iat) / 2;
        if (
          !held ||
          pastHalfLife ||
          essence(held.claims) !== essence(claims) ||
          (held.claims.exp !== undefined && held.claims.exp <= now)
        ) {
          if (!held || essence(held.claims) !== essence(claims)) result.changed.push(type);
          this.#held.set(type, { jwt, claims });
          if (!held)
            this.#opts.log?.info('trust mark obtained', {
              trust_mark_type: type,
              issuer: this.#opts.issuer,
              ...(claims.max_loa ? { max_loa: claims.max_loa } : {}),
            });
        }
      } catch (err) {
        if (err instanceof NotGranted) {
          if (this.#held.delete(type)) {
            result.changed.push(type);
            this.#opts.log?.warn('trust mark withdrawn by the issuer; no longer published', {
              trust_mark_type: type,
              issuer: this.#opts.issuer,
            });
          }
          continue;
        }
        result.ok = false;
        const reason = (err as Error).message;
        result.errors.push(`${type}: ${reason}`);
        // The issuer's endpoint or keys may have changed: look them up again next time.
        this.#issuerInfo = undefined;
        this.#opts.log?.warn('trust mark could not be refreshed; will retry', { trust_mark_type: type, issuer: this.#opts.issuer, reason });
      }
    }
    if (result.changed.length) this.#opts.onChange?.(this.trustMarks());
    return result;
  }

  /** The mark from the issuer; NotGranted when the issuer says the entity does not have it. */
  async #obtain(type: string): Promise<string> {
    if (this.#opts.obtain) {
      const jwt = await this.#opts.obtain(type, this.entityId);
      if (jwt === null) throw new NotGranted();
      return jwt;
    }
    const { endpoint } = await this.#issuer();
    const url = new URL(endpoint);
    url.searchParams.set('trust_mark_type', type);
    url.searchParams.set('sub', this.entityId);
    const res = await fetch(url, {
      redirect: 'error',
      headers: { accept: TRUST_MARK_MEDIA_TYPE },
      signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 5000),
    });
    const body = await res.text();
    if (res.status === 404) throw new NotGranted();
    if (res.status !== 200) throw new Error(`${url.href}: HTTP ${res.status} ${body.slice(0, 200)}`);
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== TRUST_MARK_MEDIA_TYPE)
      throw new Error(`${url.href}: content type ${contentType || 'missing'}, expected ${TRUST_MARK_MEDIA_TYPE}`);
    return body.trim();
  }

  async #verify(jwt: string, type: string): Promise<TrustMarkClaims> {
    const keys = await this.#keys();
    try {
      return await verifyTrustMark(jwt, {
        issuerKeys: keys,
        expectedIssuer: this.#opts.issuer,
        expectedType: type,
        subject: this.entityId,
        now: Math.floor(this.#now() / 1000),
      });
    } catch (err) {
      if (err instanceof TrustMarkError) throw new Error(`the issuer sent a mark that does not validate: ${err.message}`);
      throw err;
    }
  }

  async #keys(): Promise<Jwks> {
    const given = this.#opts.issuerKeys;
    if (given) return typeof given === 'function' ? given() : given;
    return (await this.#issuer()).keys;
  }

  /** The issuer's Trust Mark endpoint and keys, from its entity configuration (remembered five minutes). */
  async #issuer(): Promise<{ endpoint: string; keys: Jwks }> {
    const given = this.#opts.trustMarkEndpoint;
    if (given && this.#opts.issuerKeys) return { endpoint: given, keys: await this.#keys() };
    if (this.#issuerInfo && this.#issuerInfo.until > this.#now()) return this.#issuerInfo;
    const issuer = this.#opts.issuer;
    const res = await fetch(issuer.replace(/\/$/, '') + ENTITY_CONFIGURATION_PATH, {
      redirect: 'error',
      signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 5000),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`entity configuration of ${issuer}: HTTP ${res.status}`);
    }
    const jwt = (await res.text()).trim();
    let claims;
    try {
      claims = decodeJwt(jwt);
    } catch {
      throw new Error(`entity configuration of ${issuer}: not a JWT`);
    }
    const jwks = claims.jwks as Jwks | undefined;
    if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error(`entity configuration of ${issuer}: no jwks`);
    try {
      await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer, subject: issuer, typ: ENTITY_STATEMENT_TYP });
    } catch (err) {
      throw new Error(`entity configuration of ${issuer}: bad self-signature (${(err as Error).message})`);
    }
    const metadata = claims.metadata as Record<string, Record<string, unknown>> | undefined;
    const endpoint = given ?? metadata?.federation_entity?.federation_trust_mark_endpoint;
    if (typeof endpoint !== 'string')
      throw new Error(`entity configuration of ${issuer}: no federation_trust_mark_endpoint in its federation_entity metadata`);
    const keys = this.#opts.issuerKeys ? await this.#keys() : jwks;
    this.#issuerInfo = { endpoint, keys, until: this.#now() + 300_000 };
    return this.#issuerInfo;
  }
}
