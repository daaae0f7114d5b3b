/**
 * The trust chains a cross-tier login needs, resolved ahead of it (issue 17): at start, and again
 * before the remembered ones expire (at half to three quarters of the cache period, with jitter so
 * that the entities of one host do not refresh together), an entity resolves and validates
 *
 * - the chain of every OP of the federation it knows of (for an OP: the homes the registry may
 *   route a login to, its superior and the OPs below it among them), and an OP its own (its
 *   superior, for routing);
 * - at an OP, as relying parties (automatic registration), its brokers: the superior on its own
 *   chain and the OPs whose chains run directly through it; and for each what a hop needs besides
 *   the chain (CrossTierLogin.prepare: the neighbour's ID-token keys);
 * - the federation keys of those who call it signed during a login: at a broker the OPs below it
 *   (registry lookups), at the services entity every OP (messages).
 *
 * The neighbours are derived each round from what the entity knows (the OPs of its topology) and
 * from the chains just resolved (authority hints), never from a list kept by hand. A round
 * fetches each statement once (the chains of a federation share most of theirs), and the rounds
 * of a process's entities made within seconds of each other share theirs (OneRoundAtATime). A failure is
 * logged once (again only after that neighbour succeeded in between) and retried with backoff; a
 * login never waits for a round and falls back to resolving on demand.
 */
import type { Logger } from '../infra/log.ts';
import type { FederationClients } from './automatic-registration.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import type { StatementFetcher } from './trust-chain.ts';
import { UntrustedOp, type TrustedOps } from './trusted-op.ts';

export interface NeighbourChainsOptions {
  self: string;
  /** The OPs of the federation this entity knows of (its topology's): the homes a login may be routed to, and its callers. */
  ops: () => readonly string[];
  trustedOps: TrustedOps;
  /** Membership is all this entity asks of the OPs (the services entity): their real-name-op marks are not checked. */
  membershipOnly?: boolean;
  /** An OP's side of the hops: its brokers as relying parties, and readying a neighbour a login may be sent to (CrossTierLogin.prepare). */
  hops?: { clients: FederationClients; prepare: (entityId: string) => Promise<void> };
  /** Who calls this entity signed during a login: the OPs below it (a broker's registry) or every OP (the services entity's messages). */
  callers: 'below' | 'every op';
  /** Refreshes a caller's federation keys. */
  refreshCallerKeys: (entityId: string) => Promise<unknown>;
  fetcher: StatementFetcher;
  log: Pick<Logger, 'warn' | 'info'>;
  /** The cache period the rounds keep ahead of (seconds; default: FEDERATION_DEFAULTS.trustCacheSeconds). */
  cacheSeconds?: number;
  /** First retry after a failed round (milliseconds; default 1000), doubling up to half the cache period. */
  retryMs?: number;
  /** Shared by the entities of one process: their rounds run one after another, never all at once (at start above all). */
  turns?: OneRoundAtATime;
  /**
   * A pause between two steps of a round (milliseconds; default 25): the refresh takes a small
   * share of the process, so that the requests it is ahead of (a burst of logins right after
   * start above all) do not wait behind it.
   */
  stepPauseMs?: number;
}

/**
 * Runs the rounds of the entities it is shared by one at a time, and lets rounds close together
 * share the statements they fetched: at start every entity of a process makes its first round
 * within seconds of the others, and their chains share most statements (the anchor's, the
 * brokers'). Statements are public and the same whoever asks; shared for `shareMs` (default 30 s,
 * a tenth of the five-minute cache period), after which a round fetches everything anew.
 */
export class OneRoundAtATime {
  #last: Promise<unknown> = Promise.resolve();
  #fetched = new Map<string, Promise<string>>();
  #since = 0;

  constructor(private readonly shareMs = 30_000) {}

  run<T>(round: (fetched: Map<string, Promise<string>>) => Promise<T>): Promise<T> {
    const turn = () => {
      if (Date.now() - this.#since > this.shareMs) {
        this.#fetched = new Map();
        this.#since = Date.now();
      }
      return round(this.#fetched);
    };
    const next = this.#last.then(turn, turn);
    this.#last = next.catch(() => {});
    return next;
  }
}

/** Within one round (or rounds close together): each statement fetched once, however many chains share it. */
function fetchingOnce(fetcher: StatementFetcher, fetched = new Map<string, Promise<string>>()): StatementFetcher {
  const once = (key: string, fetch: () => Promise<string>) => {
    let p = fetched.get(key);
    if (!p) {
      p = fetch();
      // A failure is not remembered: the next chain that needs the statement asks again.
      p.catch(() => fetched.delete(key));
      fetched.set(key, p);
    }
    return p;
  };
  return {
    entityConfiguration: (entityId, signal) => once(`ec ${entityId}`, () => fetcher.entityConfiguration(entityId, signal)),
    subordinateStatement: (endpoint, issuer, subject, signal) =>
      once(`sub ${endpoint} ${subject}`, () => fetcher.subordinateStatement(endpoint, issuer, subject, signal)),
  };
}

export class NeighbourChains {
  readonly #o: NeighbourChainsOptions;
  readonly #periodMs: number;
  readonly #retryMs: number;
  readonly #stepPauseMs: number;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | null = null;
  #stopped = false;
  #retries = 0;
  #nextFullRoundAt = 0;
  /** The paths of the OPs (and its own) as last resolved: who is above and below it. */
  readonly #paths = new Map<string, string[]>();
  /** Neighbours whose last refresh failed, with the reason (each logged once). */
  readonly #failing = new Map<string, string>();
  #warm!: () => void;
  readonly #whenWarm = new Promise<void>((resolve) => (this.#warm = resolve));

  constructor(opts: NeighbourChainsOptions) {
    this.#o = opts;
    this.#periodMs = (opts.cacheSeconds ?? FEDERATION_DEFAULTS.trustCacheSeconds) * 1000;
    this.#retryMs = opts.retryMs ?? 1000;
    this.#stepPauseMs = opts.stepPauseMs ?? 25;
  }

  /** The first round at once, then rounds ahead of expiry until stopped. */
  start(): void {
    this.#schedule(0);
  }

  /** Stops the rounds; a round under way ends after its current step. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }

  /** Settles once a round refreshed every neighbour it could reach (tests, benchmarks). */
  whenWarm(): Promise<void> {
    return this.#whenWarm;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      // Every neighbour when the period is due (at half to three quarters of the cache period:
      // ahead of expiry); in between, after a failure, only what failed, sooner and backing off.
      const full = Date.now() >= this.#nextFullRoundAt;
      if (full) this.#nextFullRoundAt = Date.now() + this.#periodMs * (0.5 + 0.25 * Math.random());
      const round = (fetched?: Map<string, Promise<string>>) => this.#refresh(full, fetched);
      this.#round = (this.#o.turns ? this.#o.turns.run(round) : round())
        .catch((err: unknown) => {
          this.#o.log.warn('neighbour chains: refresh round failed', { err });
          return false;
        })
        .then((ok) => {
          this.#round = null;
          this.#retries = ok ? 0 : this.#retries + 1;
          const untilFull = Math.max(0, this.#nextFullRoundAt - Date.now());
          const retry = Math.min(this.#retryMs * 2 ** (this.#retries - 1), this.#periodMs / 2) * (0.75 + 0.5 * Math.random());
          this.#schedule(ok ? untilFull : Math.min(retry, untilFull));
        });
    }, ms);
    // Never keeps a process alive.
    this.#timer.unref();
  }

  /** One round (`full`: every neighbour, else only those that failed last); true when none failed. */
  async #refresh(full: boolean, fetched?: Map<string, Promise<string>>): Promise<boolean> {
    const { self, trustedOps } = this.#o;
    const fetcher = fetchingOnce(this.#o.fetcher, fetched);
    const failures = new Map<string, string>();
    /** Failed because the neighbour could not be reached: retried, but no reason not to call the others warm. */
    let unreachable = 0;
    const step = async (what: string, run: () => Promise<unknown>) => {
      if (this.#stopped || (!full && !this.#failing.has(what))) return;
      if (this.#stepPauseMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#stepPauseMs).unref());
      try {
        await run();
        if (this.#failing.delete(what)) this.#o.log.info('neighbour chains: refreshed again', { neighbour: what });
      } catch (err) {
        failures.set(what, (err as Error)?.message ?? String(err));
        if (err instanceof UntrustedOp && err.unreachable) unreachable++;
      }
    };
    const { hops } = this.#o;
    // Its own chain names its superior; the OPs' chains name those directly below it.
    const paths = this.#paths;
    if (hops) await step(`chain ${self}`, async () => paths.set(self, await trustedOps.refresh(self, { fetcher, membershipOnly: true })));
    const ops = [...new Set(this.#o.ops())].filter((id) => id !== self);
    const membershipOnly = this.#o.membershipOnly ?? false;
    for (const op of ops) await step(`op ${op}`, async () => paths.set(op, await trustedOps.refresh(op, { fetcher, membershipOnly })));
    const below = ops.filter((op) => paths.get(op)?.[1] === self);
    if (hops) {
      const superior = paths.get(self)?.[1];
      for (const broker of [...(superior ? [superior] : []), ...below]) {
        await step(`client ${broker}`, () => hops.clients.refresh(broker, fetcher));
        await step(`hop ${broker}`, () => hops.prepare(broker));
      }
    }
    const callers = this.#o.callers === 'below' ? below : ops.filter((op) => paths.has(op) && !failures.has(`op ${op}`));
    for (const caller of callers) await step(`caller keys ${caller}`, () => this.#o.refreshCallerKeys(caller));
    if (this.#stopped) return true;
    const fresh = [...failures].filter(([what]) => !this.#failing.has(what));
    // After a full round, what failed is exactly what failed in it (a neighbour no longer known is forgotten).
    if (full) this.#failing.clear();
    for (const [what, reason] of failures) this.#failing.set(what, reason);
    if (fresh.length > 0)
      this.#o.log.warn('neighbour chains: not refreshed, retrying in the background (logins resolve them on demand meanwhile)', {
        failed: Object.fromEntries(fresh),
      });
    if (failures.size === unreachable) this.#warm();
    return failures.size === 0;
  }
}
