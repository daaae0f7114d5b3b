/**
 * Which Entity Identifiers the federation lists, read top-down (OpenID Federation 1.0 §8.2, the
 * list endpoint): the trust anchor, every entity its list endpoint names, and, for each listed
 * intermediate (`intermediate=true`), what that intermediate lists, down to the maximum path
 * length. Every fetch of the walk goes to an entity already known to be listed, starting from the
 * configured anchor, so an identifier someone merely names is never fetched to find out.
 *
 * The listing decides where federation fetches may go, not whom to trust: the trust chain is
 * still validated in full. It is kept for a minute, then refreshed in the background while
 * the old one answers. An identifier it does not hold waits for a walk that started after it was
 * asked about (walks are spaced at least a second apart and shared by every waiting
 * question), so a subordinate an administrator just added is found, and asking about many
 * unknown identifiers costs at most one walk per interval.
 */
import { decodeJwt } from 'jose';
import { entityConfigurationUrl } from './trust-chain.ts';

const ENTITY_STATEMENT_MEDIA_TYPE = 'application/entity-statement+jwt';
/** Levels of authorities below the anchor walked (as a trust chain's path length), authorities walked and entities recorded at most. */
const MAX_DEPTH = 5;
const MAX_AUTHORITIES = 1000;
const MAX_MEMBERS = 100_000;
/** A listing answers this long before it is refreshed in the background; walks are at least this far apart. */
const FRESH_MS = 60_000;
const MIN_INTERVAL_MS = 1000;

/** A GET through the address policy; the walk needs nothing else. */
export type ListingGet = (url: string, accept: string) => Promise<{ status: number; contentType: string; body: string }>;

export interface MembershipOptions {
  trustAnchor: string;
  get: ListingGet;
}

interface Listing {
  members: ReadonlySet<string>;
  startedAt: number;
}

export class FederationMembership {
  readonly #opts: MembershipOptions;
  #listing: Listing | undefined;
  #walk: Promise<Listing> | undefined;
  /** When the latest walk starts (or started); questions asked until then share it. */
  #walkStartsAt = -Infinity;
  #walking = false;

  constructor(opts: MembershipOptions) {
    this.#opts = opts;
  }

  get hasListing(): boolean {
    return this.#listing !== undefined;
  }

  /** Whether the listing at hand holds `entityId` (no fetch; a stale listing is refreshed in the background). */
  listed(entityId: string): boolean {
    const listing = this.#listing;
    const stale = listing !== undefined && Date.now() - listing.startedAt > FRESH_MS;
    if (stale && !this.#walking) this.#refresh(Date.now()).catch(() => {});
    return entityId === this.#opts.trustAnchor || (listing?.members.has(entityId) ?? false);
  }

  /** Whether a listing read after this call holds `entityId`; throws when the federation cannot be listed now. */
  async listedNow(entityId: string): Promise<boolean> {
    return (await this.#refresh(Date.now())).members.has(entityId);
  }

  /** A walk that starts no earlier than `asked`, shared with every other question waiting for one. */
  #refresh(asked: number): Promise<Listing> {
    if (this.#walk && this.#walkStartsAt >= asked) return this.#walk;
    const startsAt = Math.max(asked, this.#walkStartsAt + MIN_INTERVAL_MS);
    const walk = (this.#walk ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        const wait = startsAt - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        return this.#walkFromAnchor();
      });
    this.#walkStartsAt = startsAt;
    this.#walk = walk;
    this.#walking = true;
    walk
      .then(
        (listing) => (this.#listing = listing),
        () => {},
      )
      .finally(() => {
        if (this.#walk === walk) this.#walking = false;
      });
    return walk;
  }

  async #walkFromAnchor(): Promise<Listing> {
    const startedAt = Date.now();
    const members = new Set([this.#opts.trustAnchor]);
    const walked = new Set<string>();
    let level = [this.#opts.trustAnchor];
    for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth++) {
      const batch = level.slice(0, MAX_AUTHORITIES - walked.size);
      for (const authority of batch) walked.add(authority);
      const below = await Promise.all(
        batch.map((authority) =>
          this.#subordinatesOf(authority).catch((err: Error) => {
            // The anchor must answer; an intermediate that does not leaves its subtree out until the next walk.
            if (authority === this.#opts.trustAnchor) throw err;
            return { listed: [], intermediates: [] };
          }),
        ),
      );
      const next = new Set<string>();
      for (const { listed, intermediates } of below) {
        for (const id of listed) if (members.size < MAX_MEMBERS) members.add(id);
        // Only an intermediate its superior also lists, and each once (a listing may loop).
        for (const id of intermediates) if (members.has(id) && !walked.has(id)) next.add(id);
      }
      level = [...next];
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
