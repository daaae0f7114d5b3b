/**
 * A subordinate platform's services entity reading the catalog feed of the platform above it
 * (catalog-feed.ts) over HTTP, authenticated with its entity assertion: at start, every
 * `intervalMs`, and on demand (`POST /admin/catalog/feed/pull`). Each page is applied whole with
 * the cursor, so a pull that fails part way resumes where it stopped; a superior that is down is
 * tried again at the next pass. One pull at a time: a pull asked for during another waits for it
 * and then runs once more.
 */
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { getAsEntity } from '../../infra/entity-request.ts';
import { BadRequest, UpstreamUnavailable } from '../../infra/errors.ts';
import type { Logger } from '../../infra/log.ts';
import { validate } from '../../infra/validation.ts';
import { FEED_PATH, feedPageSchema } from './catalog-feed.ts';
import type { CatalogService } from './catalog-service.ts';
import { feedCursor } from './catalog-store.ts';

const TIMEOUT_MS = 15_000;
/** Pages read in one pull at most (the rest comes at the next). */
const MAX_PAGES = 500;

export interface FeedPullerOptions {
  catalog: CatalogService;
  /** This services entity's ID, and its current federation key. */
  self: string;
  signingKey: () => PrivateJwk;
  /** The services entity of the platform above. */
  source: string;
  log: Logger;
  intervalMs: number;
}

export interface PullResult {
  source: string;
  /** The feed number applied up to. */
  after: number;
  applied: number;
  /** Changes this platform's own items received from a directory item's new version. */
  propagated: { id: string; item_code: string; version: number; state: string; flags: string[] }[];
  skipped: string[];
}

export class FeedPuller {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<PullResult> | null = null;
  private again: Promise<PullResult> | null = null;
  private stopped = false;

  constructor(private readonly o: FeedPullerOptions) {}

  /** Pulls now (in the background) and every interval. */
  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.background(), this.o.intervalMs);
    this.timer.unref();
    this.background();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.running, this.again]);
  }

  private background(): void {
    this.pull().catch((err: Error) =>
      this.o.log.warn('the catalog feed could not be pulled; trying again later', { source: this.o.source, reason: err.message }),
    );
  }

  /** Pulls until the feed has nothing more; what it applied. */
  pull(): Promise<PullResult> {
    if (!this.running) {
      this.running = this.pullAll().finally(() => (this.running = null));
      return this.running;
    }
    // One more pass after the one under way, shared by everyone who asks meanwhile.
    this.again ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.again = null;
        return this.pull();
      });
    return this.again;
  }

  private async pullAll(): Promise<PullResult> {
    const { catalog, source } = this.o;
    const result: PullResult = { source, after: 0, applied: 0, propagated: [], skipped: [] };
    result.after = await feedCursor(catalog.db, source);
    for (let pages = 0; pages < MAX_PAGES && !this.stopped; pages++) {
      const page = await this.fetchPage(result.after);
      const done = await catalog.receive(source, page).catch(malformed(source));
      result.after = page.next;
      result.applied += done.applied;
      result.skipped.push(...done.skipped);
      result.propagated.push(
        ...done.propagated.map((c) => ({ id: c.id, item_code: c.item_code, version: c.version, state: c.state, flags: c.flags })),
      );
      if (!page.more) break;
    }
    if (result.applied || result.propagated.length)
      this.o.log.info('catalog feed pulled', {
        source,
        after: result.after,
        applied: result.applied,
        propagated: result.propagated.length,
        flagged: result.propagated.filter((c) => c.flags.length).length,
      });
    return result;
  }

  private async fetchPage(after: number) {
    const { status, json } = await getAsEntity({
      from: this.o.self,
      key: this.o.signingKey(),
      to: this.o.source,
      path: FEED_PATH,
      query: { after: String(after) },
      timeoutMs: TIMEOUT_MS,
    });
    if (status !== 200)
      throw new UpstreamUnavailable(
        `the catalog feed of ${this.o.source} answered ${status} ${String(json.error ?? '')} ${String(json.error_description ?? '')}`.trim(),
      );
    // A malformed page is the superior's fault: refused whole, named by its element.
    try {
      return validate(feedPageSchema, json);
    } catch (err) {
      return malformed(this.o.source)(err);
    }
  }
}

/** A page the receiver cannot use (badly formed, or out of order) is the superior's fault: try later, saying what was wrong. */
const malformed =
  (source: string) =>
  (err: unknown): never => {
    if (err instanceof BadRequest) throw new UpstreamUnavailable(`the catalog feed of ${source} cannot be applied: ${err.message}`);
    throw err;
  };
