/**
 * Which Entity Identifiers the federation lists, read top-down (OpenID Federation 1.0 §8.2, the
 * list endpoint): the trust anchor, every entity its list endpoint names, and, for each listed
 * intermediate (`intermediate=true`), what that intermediate lists, down to the maximum path
 * length. Every fetch of the walk goes to an entity already known to be listed, starting from the
 * configured anchor, so an identifier someone merely names is never fetched to find out.
 *
 * The listing decides where federation fetches may go, not whom to trust: the trust chain is
 * still validated in full. It is kept for `freshSeconds`, then refreshed in the background while
 * the old one answers. An identifier it does not hold waits for a walk that started after it was
 * asked about (walks are spaced at least `minIntervalMs` apart and shared by every waiting
 * question), so a subordinate an administrator just added is found, and asking about many
 * unknown identifiers costs at most one walk per interval.
 */
import { decodeJwt } from 'jose';
import { entityConfigurationUrl } from './trust-chain.ts';

const ENTITY_STATEMENT_MEDIA_TYPE = 'application/entity-statement+jwt';

/** A GET through the address policy; the walk needs nothing else. */
export type ListingGet = (url: string, accept: string) => Promise<{ status: number; contentType: string; body: string }>;

export interface MembershipOptions {
  trustAnchor: string;
  get: ListingGet;
  /** Authorities below the anchor walked at most (default 5, as the trust chain's path length). */
  maxDepth?: number;
  /** Entities recorded at most (default 100,000) and authorities walked at most (default 1,000). */
  maxMembers?: number;
  maxAuthorities?: number;
  freshSeconds?: number;
  minIntervalMs?: number;
  now?: () => number;
}

interface Listing {
  members: ReadonlySet<string>;
  startedAt: number;
}

export class FederationMembership {
  readonly #opts: Required<Omit<MembershipOptions, 'now'>> & { now: () => number };
  #listing: Listing | undefined;
  #walk: Promise<Listing> | undefined;
  /** When the latest walk starts (or started); questions asked until then share it. */
  #walkStartsAt = -Infinity;
  #walking = false;

  constructor(opts: MembershipOptions) {
    this.#opts = { maxDepth: 5, maxMembers: 100_000, maxAuthorities: 1000, freshSeconds: 60, minIntervalMs: 1000, now: Date.now, ...opts };
  }

  get hasListing(): boolean {
    return this.#listing !== undefined;
  }

  /** Whether the listing at hand holds `entityId` (no fetch; a stale listing is refreshed in the background). */
  listed(entityId: string): boolean {
    const listing = this.#listing;
    const stale = listing !== undefined && this.#opts.now() - listing.startedAt > this.#opts.freshSeconds * 1000;
    if (stale && !this.#walking) this.#refresh(this.#opts.now()).catch(() => {});
    return entityId === this.#opts.trustAnchor || (listing?.members.has(entityId) ?? false);
  }

  /** Whether a listing read after this call holds `entityId`; throws when the federation cannot be listed now. */
  async listedNow(entityId: string): Promise<boolean> {
    return (await this.#refresh(this.#opts.now())).members.has(entityId);
  }

  /** A walk that starts no earlier than `asked`, shared with every other question waiting for one. */
  #refresh(asked: number): Promise<Listing> {
    if (this.#walk && this.#walkStartsAt >= asked) return this.#walk;
    const startsAt = Math.max(asked, this.#walkStartsAt + this.#opts.minIntervalMs);
    const walk = (this.#walk ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        const wait = startsAt - this.#opts.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        return this.#walkFromAnchor();
      });
    this.#walkStartsAt = startsAt;
    this.#walk = walk;
    this.#walking = true;
    walk.then(
      (listing) => (this.#listing = listing),
      () => {},
    ).finally(() => {
      if (this.#walk === walk) this.#walking = false;
    });
    return walk;
  }

  async #walkFromAnchor(): Promise<Listing> {
    const startedAt = this.#opts.now();
    const members = new Set([this.#opts.trustAnchor]);
    let level = [this.#opts.trustAnchor];
    let walked = 0;
    for (let depth = 0; depth <= this.#opts.maxDepth && level.length > 0; depth++) {
      const batch = level.slice(0, this.#opts.maxAuthorities - walked);
      walked += batch.length;
      const below = await Promise.all(batch.map((authority) => this.#subordinatesOf(authority).catch((err: Error) => {
        // The anchor must answer; an intermediate that does not leaves its subtree out until the next walk.
        if (authority === this.#opts.trustAnchor) throw err;
        return { listed: [], intermediates: [] };
      })));
      level = [];
      for (const { listed, intermediates } of below) {
        for (const id of listed) if (members.size < this.#opts.maxMembers) members.add(id);
        for (const id of intermediates) if (members.has(id) && !level.includes(id)) level.push(id);
      }
    }
    return { members, startedAt };
  }

  /** What an authority's list endpoint names, and which of those are intermediates. */
  async #subordinatesOf(authority: string): Promise<{ listed: string[]; intermediates: string[] }> {
    const configuration = await this.#opts.get(entityConfigurationUrl(authority), ENTITY_STATEMENT_MEDIA_TYPE);
    if (configuration.status !== 200) throw new Error(`entity configuration of ${authority}: HTTP ${configuration.status}`);
    const metadata = decodeJwt(configuration.body.trim()).metadata as Record<string, Record<string, unknown>> | undefined;
    const endpoint = metadata?.federation_entity?.federation_list_endpoint;
    if (typeof endpoint !== 'string') return { listed: [], intermediates: [] };
    const intermediateUrl = new URL(endpoint);
    intermediateUrl.searchParams.set('intermediate', 'true');
    const [listed, intermediates] = await Promise.all([this.#list(endpoint), this.#list(intermediateUrl.href)]);
    return { listed, intermediates };
  }

  async #list(url: string): Promise<string[]> {
    const res = await this.#opts.get(url, 'application/json');
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    const ids: unknown = JSON.parse(res.body);
    if (!Array.isArray(ids)) throw new Error(`${url}: not a JSON array`);
    return ids.filter((id): id is string => typeof id === 'string');
  }
}
