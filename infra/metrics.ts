/**
 * Prometheus metrics of one entity (docs/operations.md, "Metrics"). Each entity has a registry
 * of its own, since one process may host several; the process's own figures (CPU, memory, event
 * loop, GC) are kept once per process and served beside every entity's. Label values come from
 * short fixed sets, never from what a request names, so a hostile client cannot grow the series.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './log.ts';
import type { ReplicaReads } from './read-replicas.ts';

/** How a person proved who they are at a login, as the metrics name it. */
export type LoginMethod = 'password' | 'sms' | 'recognized';
/** Why a login was refused before any credential was checked. */
export type LoginRefusal = 'locked' | 'ip_limited';
/** A stage of a cross-tier hop: sent on towards the home, or back from it. */
export type HopStage = 'start' | 'finish';

export interface OutboxBacklog {
  /** Rows still to deliver. */
  pending: number;
  /** Rows kept for the operators (refused for good), if the outbox keeps any. */
  conflicts: number;
  /** Age of the oldest row still to deliver, 0 when there is none. */
  oldestSeconds: number;
}

const GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:openid:params:grant-type:ciba',
  'urn:ietf:params:oauth:grant-type:token-exchange',
]);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Latency buckets (seconds): from a cached statement to a password login under load and a slow neighbour. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processRegistry: Registry | undefined;

/** The process's own figures, collected once however many entities the process hosts. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** How a trust chain came to be resolved: while a request waited, or ahead of need. */
export type ChainResolution = 'on_demand' | 'ahead';

export class EntityMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly latency: Histogram<'route' | 'method'>;
  private readonly logins: Counter<'method' | 'outcome'>;
  private readonly loginRefusals: Counter<'reason'>;
  private readonly lockouts: Counter;
  private readonly grants: Counter<'grant_type' | 'outcome'>;
  private readonly hops: Counter<'stage' | 'outcome'>;
  private readonly exchangeAccesses: Counter<'outcome'>;
  private readonly chainResolutions: Counter<'how'>;
  private readonly outboxes = new Map<string, () => Promise<OutboxBacklog>>();

  constructor(
    entity: string,
    private readonly log?: Pick<Logger, 'warn'>,
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ entity });
    this.requests = new Counter({
      name: 'gov_id_http_requests_total',
      help: 'Requests answered, by route template, method and status (aborted: the client left first)',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'gov_id_http_request_duration_seconds',
      help: 'Time from a request reaching the entity to its answer being sent, by route template and method',
      labelNames: ['route', 'method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.logins = new Counter({
      name: 'gov_id_logins_total',
      help: 'Logins at this OP by method (password, sms, recognized: back from the home through a cross-tier hop) and outcome',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.loginRefusals = new Counter({
      name: 'gov_id_login_refusals_total',
      help: 'Login attempts refused before any credential was checked: the account is locked, or the client IP has failed too often',
      labelNames: ['reason'],
      registers,
    });
    this.lockouts = new Counter({
      name: 'gov_id_lockouts_total',
      help: 'Accounts locked after their last allowed failed login',
      registers,
    });
    this.grants = new Counter({
      name: 'gov_id_grants_total',
      help: 'Token endpoint grants by grant type and outcome',
      labelNames: ['grant_type', 'outcome'],
      registers,
    });
    this.hops = new Counter({
      name: 'gov_id_cross_tier_hops_total',
      help: 'Cross-tier login hops through this OP: start (sent on towards the home), finish (answer back from it); outcome ok or the refusal reason',
      labelNames: ['stage', 'outcome'],
      registers,
    });
    this.chainResolutions = new Counter({
      name: 'gov_id_trust_chain_resolutions_total',
      help: "Trust chains of other entities resolved: on_demand (a request waited for it: none was remembered), ahead (the background refresh of an OP's neighbours)",
      labelNames: ['how'],
      registers,
    });
    this.exchangeAccesses = new Counter({
      name: 'gov_id_exchange_accesses_total',
      help: 'Accesses to shared data through the exchange, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    const outboxes = this.outboxes;
    const report = (err: unknown, outbox: string) => this.log?.warn('outbox backlog not measured', { outbox, err });
    const backlogs = async () =>
      Promise.all(
        [...outboxes].map(async ([name, measure]) => {
          try {
            return { name, backlog: await measure() };
          } catch (err) {
            report(err, name);
            return { name, backlog: null };
          }
        }),
      );
    // One measurement per scrape serves both gauges.
    let measuring: ReturnType<typeof backlogs> | null = null;
    const measured = () => (measuring ??= backlogs().finally(() => setImmediate(() => (measuring = null))));
    new Gauge({
      name: 'gov_id_outbox_backlog',
      help: 'Rows of an outbox by state: pending (still to deliver) or conflict (refused for good, kept for the operators)',
      labelNames: ['outbox', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const { name, backlog } of await measured()) {
          if (!backlog) continue;
          this.set({ outbox: name, state: 'pending' }, backlog.pending);
          this.set({ outbox: name, state: 'conflict' }, backlog.conflicts);
        }
      },
    });
    new Gauge({
      name: 'gov_id_outbox_oldest_pending_seconds',
      help: 'Age of the oldest row of an outbox still to deliver (0 when none)',
      labelNames: ['outbox'],
      registers,
      async collect() {
        this.reset();
        for (const { name, backlog } of await measured()) if (backlog) this.set({ outbox: name }, backlog.oldestSeconds);
      },
    });
  }

  /** A request answered (or abandoned by its client) after `seconds`. */
  request(route: string, method: string, status: number | 'aborted', seconds: number): void {
    const m = METHODS.has(method) ? method : 'other';
    this.requests.inc({ route, method: m, status: String(status) });
    this.latency.observe({ route, method: m }, seconds);
  }

  login(method: LoginMethod, outcome: 'success' | 'failure'): void {
    this.logins.inc({ method, outcome });
  }

  loginRefused(reason: LoginRefusal): void {
    this.loginRefusals.inc({ reason });
  }

  lockout(): void {
    this.lockouts.inc();
  }

  /** `grantType` as the client sent it: one the OP does not know is counted as `other`. */
  grant(grantType: unknown, outcome: 'success' | 'failure'): void {
    this.grants.inc({ grant_type: typeof grantType === 'string' && GRANT_TYPES.has(grantType) ? grantType : 'other', outcome });
  }

  /** `outcome`: `ok`, or the refusal reason (idp/login/cross-tier-hops.ts, a fixed set). */
  hop(stage: HopStage, outcome: string): void {
    this.hops.inc({ stage, outcome });
  }

  /** A trust chain resolved while a request waited (`on_demand`) or ahead of need (`ahead`, federation/neighbour-chains.ts). */
  chainResolved(how: ChainResolution): void {
    this.chainResolutions.inc({ how });
  }

  /**
   * The hook of the data-sharing exchange: one call per access to a person's data through it
   * (`granted`, or why it was refused: a short fixed reason such as `no_consent`).
   */
  exchangeAccess(outcome: string): void {
    this.exchangeAccesses.inc({ outcome });
  }

  /** Measures an outbox's backlog at every scrape (a query: keep it to an indexed count). */
  watchOutbox(name: string, measure: () => Promise<OutboxBacklog>): void {
    this.outboxes.set(name, measure);
  }

  /**
   * The entity's lag-tolerant reads (infra/read-replicas.ts): each replica's state and lag, and
   * reads served by a replica or the primary. Read from memory at each scrape (the lag is measured
   * once a second, not per scrape).
   */
  watchReplicas(reads: Pick<ReplicaReads, 'statuses' | 'servedCounts'>): void {
    const registers = [this.registry];
    new Gauge({
      name: 'gov_id_read_replica_serving',
      help: 'Whether a read replica (by its place in DATABASE_REPLICA_URLS) serves lag-tolerant reads now (1), or not (0: state says why)',
      labelNames: ['replica', 'state'],
      registers,
      collect() {
        this.reset();
        for (const r of reads.statuses()) this.set({ replica: r.replica, state: r.state }, r.state === 'serving' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gov_id_read_replica_lag_seconds',
      help: "How stale a read replica is at most, from the primary's WAL position sampled each second (absent while unmeasured)",
      labelNames: ['replica'],
      registers,
      collect() {
        this.reset();
        for (const r of reads.statuses()) if (r.lagSeconds !== null) this.set({ replica: r.replica }, r.lagSeconds);
      },
    });
    new Counter({
      name: 'gov_id_lag_tolerant_reads_total',
      help: 'Lag-tolerant reads (catalog, public rating figures) by what served them: a replica, or the primary',
      labelNames: ['served_by'],
      registers,
      collect() {
        this.reset();
        for (const [servedBy, n] of Object.entries(reads.servedCounts())) this.inc({ served_by: servedBy }, n);
      },
    });
  }

  /** The exposition: this entity's metrics, then the process's. */
  async exposition(): Promise<string> {
    const [own, shared] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return `${own.trimEnd()}\n${shared.trimEnd()}\n`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
