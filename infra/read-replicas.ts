/**
 * Lag-tolerant reads (docs/operations.md, "PostgreSQL replicas"): a `Queryable` that code may use
 * for reads whose answer may be a few seconds old without harm to anyone (catalog search, public
 * rating figures). It sends them to a streaming replica of the primary when one is configured,
 * reachable and caught up, and to the primary otherwise. Nothing else reads through it: the code
 * that takes this handle is the code that chose to tolerate lag.
 *
 * How far a replica lags is measured once a second per entity, not per query: the primary's WAL
 * position is sampled, and a replica that has replayed the position sampled at time t holds
 * everything committed before t. A replica is stale by at most the age of the newest sample it has
 * reached; one that is unreachable, not a standby, or further behind than the bound serves no
 * reads until a check finds it back. Each change of state is logged once.
 */
import pg from 'pg';
import { isConnectionFailure, type Database, type Queryable, type QueryResult } from './database.ts';
import type { Logger } from './log.ts';

/** How often the primary's position and each replica's replay are checked. */
const CHECK_INTERVAL_MS = 1_000;
/** A replica that does not answer its check within this is down for now. */
const CHECK_TIMEOUT_MS = 2_000;
/** A read a replica has not answered within this is answered by the primary (a replica that stopped answering mid-query). */
const READ_TIMEOUT_MS = 10_000;

export type ReplicaState = 'unchecked' | 'serving' | 'unreachable' | 'lagging' | 'not_standby';

export interface ReplicaStatus {
  /** 1, 2 …: its place in the configured list (URLs carry passwords, so they are named by place in metrics). */
  replica: string;
  state: ReplicaState;
  /** Seconds the replica is stale by at most, or at least when it is behind every sample kept; null when not measured. */
  lagSeconds: number | null;
}

/** What reads were served by: a replica, or the primary (none configured, none serving, or a replica failed mid-query). */
export type ServedBy = 'replica' | 'primary';

/** `X/Y` (pg_lsn as text) as a number that orders like the WAL position. */
function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** host:port of a URL, for log lines (never its password). */
function serverOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    return 'unparsable URL';
  }
}

/**
 * A read the replica did not answer, rather than one it refused: the replica is unreachable, did
 * not answer in time, or cancelled the query because replay had to remove rows it read (SQLSTATE
 * 40001, "conflict with recovery"). The primary answers it instead.
 */
function replicaGaveUp(err: unknown): boolean {
  return isConnectionFailure(err) || isReadTimeout(err) || (err as { code?: unknown } | null)?.code === '40001';
}

/** pg's query_timeout (the client gives up; the pool drops that connection). */
function isReadTimeout(err: unknown): boolean {
  return /^Query read timeout/.test(String((err as { message?: unknown } | null)?.message ?? ''));
}

class Replica {
  state: ReplicaState = 'unchecked';
  lagSeconds: number | null = null;
  constructor(
    readonly name: string,
    readonly server: string,
    readonly pool: pg.Pool,
  ) {}
}

export interface ReplicaReadsOptions {
  primary: Database;
  urls: string[];
  /** Replicas further behind than this serve no reads. */
  maxLagSeconds: number;
  log?: Logger;
}

export class ReplicaReads implements Queryable {
  private readonly replicas: Replica[];
  /** (time, primary WAL position) samples, newest last, kept for as long as they can decide a replica's lag. */
  private readonly samples: { at: number; lsn: bigint }[] = [];
  private readonly served: Record<ServedBy, number> = { replica: 0, primary: 0 };
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: ReplicaReadsOptions) {
    // Each process prefers its own replica in turn (instances spread over them), and stays with it
    // while it serves, so that one person's consecutive reads never go back in time.
    const offset = process.pid % o.urls.length;
    const ordered = [...o.urls.slice(offset), ...o.urls.slice(0, offset)];
    this.replicas = ordered.map((url) => {
      const pool = new pg.Pool({
        connectionString: url,
        max: 4,
        options: `-c search_path=${o.primary.schema}`,
        application_name: `gov-id reads ${o.primary.schema}`,
        idleTimeoutMillis: 10_000,
        connectionTimeoutMillis: CHECK_TIMEOUT_MS,
        query_timeout: READ_TIMEOUT_MS,
      });
      pool.on('error', () => undefined);
      return new Replica(String(o.urls.indexOf(url) + 1), serverOf(url), pool);
    });
  }

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    // Checks start with the first read: an entity that never reads through here never connects to a replica.
    this.timer ??= this.watch();
    const replica = this.replicas.find((r) => r.state === 'serving');
    if (replica) {
      try {
        const r = await replica.pool.query(sql, params as unknown[]);
        this.served.replica++;
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      } catch (err) {
        if (!replicaGaveUp(err)) throw err;
        if (isConnectionFailure(err) || isReadTimeout(err)) this.become(replica, 'unreachable', { err });
      }
    }
    this.served.primary++;
    return this.o.primary.query<R>(sql, params);
  }

  /** Every replica's state, for /metrics. */
  statuses(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ replica: r.name, state: r.state, lagSeconds: r.lagSeconds }));
  }

  /** Reads served so far, by where. */
  servedCounts(): Readonly<Record<ServedBy, number>> {
    return this.served;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.checking;
    await Promise.all(this.replicas.map((r) => r.pool.end()));
  }

  private watch(): NodeJS.Timeout {
    const tick = () => {
      if (!this.checking && !this.closed) this.checking = this.check().finally(() => (this.checking = null));
    };
    tick();
    return setInterval(tick, CHECK_INTERVAL_MS).unref();
  }

  private async check(): Promise<void> {
    const now = Date.now();
    try {
      const { rows } = await this.o.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      this.samples.push({ at: now, lsn: lsnValue(rows[0]!.lsn) });
      // A sample older than the bound can no longer make a replica fit to serve; the newest is always kept.
      while (this.samples.length > 1 && now - this.samples[0]!.at > this.o.maxLagSeconds * 1000 + CHECK_INTERVAL_MS) this.samples.shift();
    } catch {
      // The primary is down (its own log says so): nothing is being committed, so a serving replica
      // is no staler than the data that exists; it goes on serving, and its lag is judged once the primary is back.
      this.samples.length = 0;
    }
    await Promise.all(this.replicas.map((r) => this.checkReplica(r, now)));
  }

  private async checkReplica(replica: Replica, now: number): Promise<void> {
    let standby: boolean;
    let replay: string | null;
    try {
      const { rows } = await replica.pool.query<{ standby: boolean; replay: string | null }>({
        text: 'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay',
        query_timeout: CHECK_TIMEOUT_MS,
        // pg honours query_timeout per query; its types know it per client only.
      } as pg.QueryConfig);
      ({ standby, replay } = rows[0]!);
    } catch (err) {
      return this.become(replica, 'unreachable', { err });
    }
    if (!standby || replay === null) return this.become(replica, 'not_standby', {});
    if (this.samples.length === 0) return; // the primary did not answer: judged at the next check
    const position = lsnValue(replay);
    const reached = this.samples.findLast((s) => s.lsn <= position);
    replica.lagSeconds = (now - (reached ?? this.samples[0]!).at) / 1000;
    const caughtUp = reached !== undefined && replica.lagSeconds <= this.o.maxLagSeconds;
    this.become(replica, caughtUp ? 'serving' : 'lagging', { lag_seconds: replica.lagSeconds, max_lag_seconds: this.o.maxLagSeconds });
  }

  private become(replica: Replica, state: ReplicaState, detail: Record<string, unknown>): void {
    if (replica.state === state) return;
    const was = replica.state;
    replica.state = state;
    if (state !== 'serving' && state !== 'lagging') replica.lagSeconds = null;
    const fields = { replica: replica.name, server: replica.server, ...detail };
    if (state === 'serving') this.o.log?.info('read replica serving lag-tolerant reads', fields);
    else this.o.log?.warn(`read replica ${state.replace('_', ' ')}: its lag-tolerant reads go to the primary`, { ...fields, was });
  }
}
