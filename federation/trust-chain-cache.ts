/**
 * A cache of resolved Trust Chains (OpenID Federation 1.0 §10.4: a chain is valid until the
 * earliest exp of its statements).
 */
import type { TrustChain } from './trust-chain-types.ts';

/**
 * Resolved Trust Chains by key (e.g. subject + anchor), until chain.expiresAt (§10.4), with
 * least-recently-used eviction beyond maxEntries. get and set are O(1): a Map keeps insertion
 * order, and a hit is re-inserted to become the most recent.
 */
export class TrustChainCache {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, TrustChain>();

  constructor(opts: { maxEntries: number }) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = opts.maxEntries;
  }

  /** The chain if present and not expired at `now` (seconds since the epoch). */
  get(key: string, now: number): TrustChain | undefined {
    const chain = this.#entries.get(key);
    if (!chain) return undefined;
    this.#entries.delete(key);
    if (chain.expiresAt <= now) return undefined;
    this.#entries.set(key, chain);
    return chain;
  }

  set(key: string, chain: TrustChain): void {
    this.#entries.delete(key);
    this.#entries.set(key, chain);
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
