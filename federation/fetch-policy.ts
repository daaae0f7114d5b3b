/**
 * What a federation entity fetches, and from where (docs/federation.md, "What the federation
 * fetches"). One policy per entity; every statement it fetches (entity configurations, for trust
 * chains, automatic registration, callers' keys and trust mark issuers; subordinate statements)
 * goes through its fetcher, which asks in this order:
 *
 * 1. Negative cache: an identifier refused in the last minute (one not listed: in the last ten
 *    seconds) is refused again at once.
 * 2. Listing: the identifier must be the trust anchor, an entity the topology names, one of this
 *    entity's own subordinates, or listed top-down by the federation's authorities
 *    (federation-membership.ts). An identifier the listing does not hold costs its source one of
 *    its lookups a minute, then waits for a fresh listing; if that does not hold it either, it is
 *    refused and remembered.
 * 3. Address: the connection may reach only public addresses and the topology's own
 *    (address-policy.ts); no redirects, a size and a time limit.
 *
 * A refusal is a TrustChainError `fetch_refused`, which every caller already answers as its
 * normal refusal (invalid_client, 400, 401, 404 not_found), never a 500 and never a fetch.
 * The source of a request (its client address) is set once per request by the host with
 * {@link withFetchSource}; fetches outside a request (background work) have none and are not
 * rate-limited, as they only ever concern identifiers of the configuration.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { KeyValueStore } from '../infra/key-value-store.ts';
import { AddressRefused, addressPolicy, guardedGet } from './address-policy.ts';
import { FederationMembership } from './federation-membership.ts';
import { entityConfigurationLabel, subordinateStatementLabel, TrustChainError } from './federation-errors.ts';
import {
  entityConfigurationUrl,
  fetchStatementUrl,
  httpStatementFetcher,
  type StatementFetcher,
  type StatementTransport,
} from './trust-chain.ts';

/** Lookups of identifiers the listing does not hold, per source per minute. */
const UNKNOWN_LOOKUPS_PER_MINUTE = 30;
/**
 * How long a refused identifier is refused without asking again, and how many are remembered. An
 * identifier the listing did not hold is asked about again sooner: an administrator may have just
 * added it, and asking again costs its source a lookup and shares a walk at most once a second.
 */
const REFUSED_MS = 60_000;
const NOT_LISTED_REFUSED_MS = 10_000;
const REFUSED_MAX_ENTRIES = 10_000;
/** Per fetch; per statement the trust chain's own limit (64 KiB) applies, per list 1 MiB. */
const TIMEOUT_MS = 3000;
const MAX_LIST_BYTES = 1024 * 1024;

const sources = new AsyncLocalStorage<string>();

/** Runs `run` (a request's handling) with `source` (its client address) as the source of the federation fetches it causes. */
export function withFetchSource<T>(source: string | undefined, run: () => T): T {
  return source ? sources.run(source, run) : run();
}

export interface FetchPolicyOptions {
  trustAnchor: string;
  /** The entities the deployment's configuration (the topology) names. */
  configured?: string[];
  /** This entity's own subordinates (its live configuration): fetched without consulting the listing. */
  ownSubordinates?: () => Iterable<string>;
  /** Addresses allowed although private or loopback: the demo topology's host. */
  allowedAddresses: Iterable<string>;
  /** Accept http identifiers and endpoints (the loopback demo); otherwise https only. */
  allowHttp: boolean;
  /** This entity's store, for the per-source limit. */
  kv: KeyValueStore;
}

export class FederationFetchPolicy {
  /** The fetcher every federation fetch of this entity goes through. */
  readonly fetcher: StatementFetcher;
  readonly #opts: FetchPolicyOptions;
  readonly #membership: FederationMembership;
  readonly #unknownLookups;
  readonly #refused = new Map<string, { reason: string; until: number }>();

  constructor(opts: FetchPolicyOptions) {
    this.#opts = opts;
    const permitted = addressPolicy(opts.allowedAddresses);
    const transport: StatementTransport = (url, { accept, maxBytes, signal }) => {
      const scheme = new URL(url).protocol;
      if (scheme !== 'https:' && !(opts.allowHttp && scheme === 'http:'))
        return Promise.reject(new AddressRefused(`${url}: federation fetches use https${opts.allowHttp ? ' or http' : ''}`));
      return guardedGet(url, { permitted, accept, maxBytes, timeoutMs: TIMEOUT_MS, ...(signal ? { signal } : {}) });
    };
    this.#membership = new FederationMembership({
      trustAnchor: opts.trustAnchor,
      get: (url, accept) => transport(url, { accept, maxBytes: MAX_LIST_BYTES }),
    });
    this.#unknownLookups = opts.kv.rateLimiter({
      keyPrefix: 'federation:unknown-entity',
      points: UNKNOWN_LOOKUPS_PER_MINUTE,
      durationSeconds: 60,
    });
    const statements = httpStatementFetcher({ transport });
    this.fetcher = {
      entityConfiguration: async (entityId, signal) => {
        const at = { label: entityConfigurationLabel(entityId), url: entityConfigurationUrl(entityId) };
        await this.#admit(entityId, at);
        return this.#refusingAddresses(entityId, at, () => statements.entityConfiguration(entityId, signal));
      },
      subordinateStatement: async (endpoint, issuer, subject, signal) => {
        const at = { label: subordinateStatementLabel(issuer, subject), url: fetchStatementUrl(endpoint, subject) };
        await this.#admit(issuer, at);
        return this.#refusingAddresses(issuer, at, () => statements.subordinateStatement(endpoint, issuer, subject, signal));
      },
    };
  }

  /** Throws `fetch_refused` unless `entityId` may be fetched (see the module comment). */
  async #admit(entityId: string, at: { label: string; url: string }): Promise<void> {
    const refuse = (reason: string, remember: boolean, forMs = REFUSED_MS): never => {
      if (remember) this.#remember(entityId, reason, forMs);
      throw new TrustChainError(at.label, 'fetch_refused', reason, { url: at.url });
    };
    // What this entity's own configuration names is fetched even if it was refused a moment ago
    // (a subordinate just added must be served at once).
    const own = this.#opts.configured?.includes(entityId) || [...(this.#opts.ownSubordinates?.() ?? [])].includes(entityId);
    if (own && isEntityIdentifier(entityId, this.#opts.allowHttp)) return;
    const now = Date.now();
    const refused = this.#refused.get(entityId);
    if (refused && refused.until > now) refuse(refused.reason, false);
    if (refused) this.#refused.delete(entityId);
    if (!isEntityIdentifier(entityId, this.#opts.allowHttp)) refuse(`${entityId} is not an entity identifier`, true);
    if (this.#membership.listed(entityId)) return;

    // Until the first listing is read every identifier is unknown: only later ones cost a lookup.
    const source = sources.getStore();
    if (source && this.#membership.hasListing) {
      try {
        await this.#unknownLookups.consume(source);
      } catch (r) {
        // A store that cannot count (e.g. Redis down) refuses rather than lets lookups through uncounted.
        if (!(r instanceof RateLimiterRes)) refuse(`lookups of unlisted entities cannot be counted now (${(r as Error).message})`, false);
        refuse(
          `too many lookups of unlisted entities from ${source}; retry in ${Math.ceil((r as RateLimiterRes).msBeforeNext / 1000)} s`,
          false,
        );
      }
    }
    let listed: boolean;
    try {
      listed = await this.#membership.listedNow(entityId);
    } catch (err) {
      return refuse(`the federation's listing cannot be read now (${(err as Error).message})`, false);
    }
    if (!listed) refuse(`${entityId} is not listed by any authority of the federation`, true, NOT_LISTED_REFUSED_MS);
  }

  async #refusingAddresses(entityId: string, at: { label: string; url: string }, fetch: () => Promise<string>): Promise<string> {
    try {
      return await fetch();
    } catch (err) {
      if (!(err instanceof AddressRefused)) throw err;
      this.#remember(entityId, err.message, REFUSED_MS);
      throw new TrustChainError(at.label, 'fetch_refused', err.message, { url: at.url });
    }
  }

  #remember(entityId: string, reason: string, forMs: number): void {
    this.#refused.delete(entityId);
    this.#refused.set(entityId, { reason, until: Date.now() + forMs });
    while (this.#refused.size > REFUSED_MAX_ENTRIES) this.#refused.delete(this.#refused.keys().next().value!);
  }
}

/** §1.2: a URL with a host, no query, no fragment; https, or http in the loopback demo. */
function isEntityIdentifier(id: string, allowHttp: boolean): boolean {
  if (id.includes('?') || id.includes('#') || !URL.canParse(id)) return false;
  const url = new URL(id);
  return url.hostname.length > 0 && (url.protocol === 'https:' || (allowHttp && url.protocol === 'http:'));
}
