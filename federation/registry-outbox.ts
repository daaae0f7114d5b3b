/**
 * The transactional outbox of publications to the superior broker's registry of homes. A
 * publication is written in the transaction of the registration (or entry) it announces, so
 * neither exists without the other; the publisher delivers it afterwards until it is
 * acknowledged, then deletes it. Rows are never dropped: a failed delivery is retried with
 * exponential backoff (capped), and its error kept for the administrator.
 *
 * Rows are claimed with FOR UPDATE SKIP LOCKED and a lease, then delivered outside any
 * transaction: no lock is held across a network call (on the embedded engine, one connection
 * shared by every entity of the process, the superior's own handling would wait for it). A lease
 * belongs to one publisher instance, which holds its owner key as a session advisory lock while it
 * lives: a restarted process reclaims the rows of a dead one at once (its connection, and so its
 * lock, died with it) and leaves those of a live peer alone. The publications of one identifier are
 * delivered in order (a move never overtakes the registration it moves); other identifiers never
 * wait for them.
 *
 * A publication refused because the identifier already has another home is not retried: it is kept
 * as a conflict, audited and logged, for the operators to resolve (docs/recognition.md); a later
 * publication of the same identifier that the superior accepts resolves it.
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { appendAudit } from '../infra/audit-log.ts';
import { crashPoint } from '../infra/crash-points.ts';
import { DatabaseUnavailable } from '../infra/errors.ts';
import type { BlindIndex, FieldCipher } from '../infra/crypto.ts';
import type { Database, Queryable } from '../infra/database.ts';
import type { Logger } from '../infra/log.ts';
import type { OutboxBacklog } from '../infra/metrics.ts';
import { HomeConflict, identifierIndex, normalizeIdentifier, type HomeKind } from './registry-of-homes.ts';

const AAD = 'registry_outbox.identifier';
const BATCH_SIZE = 20;
/**
 * Longer than any delivery takes (the client's timeout), so a claimed row is not claimed twice;
 * short, because it is all that protects a lease whose owner cannot be checked.
 */
const LEASE_SECONDS = 15;
const MAX_BACKOFF_SECONDS = 300;

export interface Publication {
  kind: HomeKind;
  identifier: string;
  home: string;
  /** Set on a relocation: the home the account leaves. */
  previousHome: string | null;
}

/** The entity's own keys: the identifier is encrypted, and indexed to keep its publications in order. */
export interface OutboxKeys {
  cipher: FieldCipher;
  blindIndex: BlindIndex;
}

/** Call inside the transaction that creates (or moves) the account or entry being published. */
export async function enqueueRegistryPublication(
  tx: Queryable,
  keys: OutboxKeys,
  p: { kind: HomeKind; identifier: string; home: string; previousHome?: string | null },
): Promise<void> {
  const identifier = normalizeIdentifier(p.kind, p.identifier);
  await tx.query('INSERT INTO registry_outbox (kind, identifier_index, identifier_enc, home, previous_home) VALUES ($1, $2, $3, $4, $5)', [
    p.kind,
    identifierIndex(keys.blindIndex, p.kind, identifier),
    keys.cipher.encrypt(identifier, AAD),
    p.home,
    p.previousHome ?? null,
  ]);
}

export interface RegistryPublisherOptions {
  db: Database;
  cipher: FieldCipher;
  /** Resolves once the superior acknowledged; errors must not carry the identifier. */
  deliver: (p: Publication) => Promise<void>;
  log: Logger;
  /** Called once a publication is kept as a conflict (the host tells both homes); must not throw. */
  onConflict?: (p: Publication, existingHome: string) => Promise<void>;
  /** The entity's ID, its URL (for the crash points of the crash tests). */
  entity?: string;
  intervalMs?: number;
}

interface OutboxRow {
  id: string;
  kind: HomeKind;
  identifier_index: string;
  identifier_enc: string;
  home: string;
  previous_home: string | null;
  attempts: number;
}

/** 1 s after the first failure, doubling, at most five minutes. */
function backoffSeconds(attempts: number): number {
  return Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(attempts - 1, 16));
}

function describe(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 200);
}

/** A random positive bigint: a publisher instance's lease owner and advisory lock key. */
function newOwner(): string {
  return (randomBytes(8).readBigUInt64BE() >> 1n).toString();
}

/**
 * The lease owners of this process's live publishers. On the embedded engine, which one process
 * holds, every other owner is dead; on PostgreSQL, another owner is alive while its lock is held.
 */
const liveOwners = new Set<string>();

export class RegistryPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private requested = false;
  private stopped = false;
  private owner = newOwner();
  private releaseLiveness: (() => Promise<void>) | undefined;
  /** The newest row enqueued before start: the backlog a crash may have left. */
  private backlogMark: string | null = null;
  private backlogDone = false;
  /** Deliveries under way, per identifier, so that an in-request delivery can wait for them. */
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(private readonly opts: RegistryPublisherOptions) {
    liveOwners.add(this.owner);
  }

  /**
   * Takes the liveness lock, then delivers what is due now (the backlog a crash left included: its
   * leases died with their owner) and every `intervalMs`. Resolves after that first pass.
   */
  async start(): Promise<void> {
    if (this.timer) return;
    if (this.stopped) {
      this.owner = newOwner();
      liveOwners.add(this.owner);
    }
    this.stopped = false;
    this.releaseLiveness ??= await this.opts.db.holdSessionLock(this.owner);
    const { rows } = await this.opts.db.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM registry_outbox');
    this.backlogMark = rows[0]!.id;
    this.timer = setInterval(() => this.kick(), this.opts.intervalMs ?? 2000);
    this.timer.unref();
    this.kick();
    await this.running;
  }

  /** Stops the loop, waits for the delivery under way and gives up the leases' owner. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await Promise.all(this.inFlight.values());
    liveOwners.delete(this.owner);
    await this.releaseLiveness?.();
    this.releaseLiveness = undefined;
  }

  /** Whether every publication enqueued before start was delivered (or is kept as a conflict). */
  async backlogCleared(): Promise<boolean> {
    if (this.backlogDone) return true;
    if (this.backlogMark === null) return false;
    const { rows } = await this.opts.db.query('SELECT 1 FROM registry_outbox WHERE id <= $1::bigint AND conflict_at IS NULL LIMIT 1', [
      this.backlogMark,
    ]);
    this.backlogDone = rows.length === 0;
    return this.backlogDone;
  }

  /** What waits in the outbox (for the metrics): rows to deliver, conflicts kept, the oldest row's age. */
  readonly backlog = async (): Promise<OutboxBacklog> => {
    const { rows } = await this.opts.db.query<{ pending: string; conflicts: string; oldest: number | null }>(
      `SELECT count(*) FILTER (WHERE conflict_at IS NULL)::text AS pending, count(*) FILTER (WHERE conflict_at IS NOT NULL)::text AS conflicts,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE conflict_at IS NULL))::float8 AS oldest
       FROM registry_outbox`,
    );
    const r = rows[0]!;
    return { pending: Number(r.pending), conflicts: Number(r.conflicts), oldestSeconds: Math.max(0, r.oldest ?? 0) };
  };

  /** Delivers soon; kicks during a delivery are coalesced into one more pass. */
  kick(): void {
    if (this.stopped) return;
    this.requested = true;
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      await nextTurn();
      while (this.requested && !this.stopped) {
        this.requested = false;
        await this.flush().catch((err: unknown) => {
          // The database reports its own outage, once; the next pass retries.
          if (!(err instanceof DatabaseUnavailable)) this.opts.log.error('registry publications could not be delivered', { err });
        });
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Delivers every publication due now, each at most once; returns how many were acknowledged. */
  async flush(): Promise<number> {
    // Rows that fail now are due again later than this, so a pass never retries them.
    const dueAt = await this.clock();
    let delivered = 0;
    for (;;) {
      const rows = await this.claim(dueAt);
      if (!rows.length) return delivered;
      const results = await Promise.all(rows.map((row) => this.deliverOne(row)));
      delivered += results.filter(Boolean).length;
    }
  }

  /**
   * Delivers the publications of one identifier now, in the request that committed them, waiting
   * for one already on its way. Never throws: what fails stays in the outbox for the retries.
   */
  async deliverNow(kind: HomeKind, identifierIndex: string): Promise<void> {
    const key = `${kind}:${identifierIndex}`;
    try {
      for (;;) {
        await this.inFlight.get(key);
        const rows = await this.claim(await this.clock(), { kind, identifierIndex });
        if (!rows.length) return;
        if (!(await this.deliverOne(rows[0]!))) return;
      }
    } catch (err) {
      this.opts.log.error('registry publication could not be delivered in the request', { err });
    }
  }

  private async clock(): Promise<string> {
    const { rows } = await this.opts.db.query<{ now: string }>('SELECT now()::text AS now');
    return rows[0]!.now;
  }

  /**
   * Rows due at `dueAt` (or leased by a dead owner, or whose lease ran out), each the oldest open
   * row of its identifier, leased to this publisher.
   */
  private async claim(dueAt: string, only?: { kind: HomeKind; identifierIndex: string }): Promise<OutboxRow[]> {
    const params: unknown[] = [BATCH_SIZE, LEASE_SECONDS, dueAt, this.owner, [...liveOwners].join(','), this.opts.db.engine === 'pglite'];
    if (only) params.push(only.kind, only.identifierIndex);
    const { rows } = await this.opts.db.query<OutboxRow>(
      `UPDATE registry_outbox SET next_attempt_at = now() + make_interval(secs => $2::int), lease_owner = $4::bigint
       WHERE id IN (
         SELECT o.id FROM registry_outbox o
         WHERE o.conflict_at IS NULL ${only ? 'AND o.kind = $7 AND o.identifier_index = $8' : ''}
           AND CASE
             WHEN o.lease_owner IS NULL THEN o.next_attempt_at <= $3::timestamptz
             WHEN o.next_attempt_at <= now() THEN true
             WHEN o.lease_owner = ANY(string_to_array($5, ',')::bigint[]) THEN false
             ELSE $6::boolean OR pg_try_advisory_xact_lock(o.lease_owner)
           END
           AND NOT EXISTS (SELECT 1 FROM registry_outbox e WHERE e.kind = o.kind AND e.identifier_index = o.identifier_index AND e.id < o.id AND e.conflict_at IS NULL)
         ORDER BY o.id LIMIT $1
         FOR UPDATE OF o SKIP LOCKED)
       RETURNING id::text AS id, kind, identifier_index, identifier_enc, home, previous_home, attempts`,
      params,
    );
    if (rows.length && this.opts.entity) crashPoint('outbox.claimed', this.opts.entity);
    return rows;
  }

  private deliverOne(row: OutboxRow): Promise<boolean> {
    const key = `${row.kind}:${row.identifier_index}`;
    const delivery = this.attempt(row).finally(() => {
      if (this.inFlight.get(key) === delivery) this.inFlight.delete(key);
    });
    this.inFlight.set(key, delivery);
    return delivery;
  }

  private async attempt(row: OutboxRow): Promise<boolean> {
    const publication = {
      kind: row.kind,
      identifier: this.opts.cipher.decrypt(row.identifier_enc, AAD),
      home: row.home,
      previousHome: row.previous_home,
    };
    try {
      await this.opts.deliver(publication);
    } catch (err) {
      if (err instanceof HomeConflict) await this.keepConflict(row, publication, err);
      else await this.retryLater(row, err);
      return false;
    }
    if (this.opts.entity) crashPoint('outbox.delivered', this.opts.entity);
    await this.opts.db.transaction(async (tx) => {
      await tx.query('DELETE FROM registry_outbox WHERE id = $1', [row.id]);
      // The superior took a newer publication of the identifier: the conflicts before it are settled.
      const { rows: settled } = await tx.query<{ id: string; home: string; conflict_home: string }>(
        'DELETE FROM registry_outbox WHERE kind = $1 AND identifier_index = $2 AND conflict_at IS NOT NULL AND id < $3::bigint RETURNING id::text AS id, home, conflict_home',
        [row.kind, row.identifier_index, row.id],
      );
      for (const c of settled) {
        await appendAudit(tx, {
          event: 'registry.conflict_resolved',
          detail: {
            kind: row.kind,
            outbox_id: c.id,
            home: c.home,
            existing_home: c.conflict_home,
            by: { home: row.home, previous_home: row.previous_home },
          },
        });
      }
    });
    return true;
  }

  private async retryLater(row: OutboxRow, err: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    await this.opts.db.query(
      'UPDATE registry_outbox SET attempts = $2, next_attempt_at = now() + make_interval(secs => $3::int), last_error = $4, lease_owner = NULL WHERE id = $1',
      [row.id, attempts, backoffSeconds(attempts), describe(err)],
    );
    this.opts.log.warn('registry publication not delivered; will retry', {
      outbox_id: row.id,
      kind: row.kind,
      home: row.home,
      attempts,
      error: describe(err),
    });
  }

  /** Another home holds the identifier: retrying cannot help. Kept for the operators, audited once. */
  private async keepConflict(row: OutboxRow, publication: Publication, conflict: HomeConflict): Promise<void> {
    const kept = await this.opts.db.transaction(async (tx) => {
      const kept = await tx.query(
        'UPDATE registry_outbox SET attempts = attempts + 1, last_error = $2, conflict_home = $3, conflict_at = now(), lease_owner = NULL WHERE id = $1 AND conflict_at IS NULL RETURNING 1',
        [row.id, describe(conflict), conflict.home],
      );
      if (!kept.rows.length) return false;
      await appendAudit(tx, {
        event: 'registry.conflict',
        detail: { kind: row.kind, outbox_id: row.id, home: row.home, previous_home: row.previous_home, existing_home: conflict.home },
      });
      return true;
    });
    if (!kept) return;
    this.opts.log.error(
      'registry publication refused: the identifier already has another home; kept as a conflict (gov-id admin account conflicts)',
      {
        outbox_id: row.id,
        kind: row.kind,
        home: row.home,
        existing_home: conflict.home,
      },
    );
    await this.opts.onConflict?.(publication, conflict.home);
  }
}

export interface RegistryConflict {
  outbox_id: string;
  kind: HomeKind;
  /** The ID number or USCC, for the operators who resolve the conflict. */
  identifier: string;
  /** The home this entity published (and its registry, if it is a broker, holds). */
  home: string;
  previous_home: string | null;
  /** The home the superior's registry holds for the identifier. */
  existing_home: string;
  enqueued_at: string;
  refused_at: string;
}

/** The publications kept as conflicts at this entity, oldest first. */
export async function listRegistryConflicts(db: Database, cipher: FieldCipher): Promise<RegistryConflict[]> {
  const { rows } = await db.query<OutboxRow & { conflict_home: string; created_at: Date; conflict_at: Date }>(
    'SELECT id::text AS id, kind, identifier_enc, home, previous_home, conflict_home, created_at, conflict_at FROM registry_outbox WHERE conflict_at IS NOT NULL ORDER BY id',
  );
  return rows.map((r) => ({
    outbox_id: r.id,
    kind: r.kind,
    identifier: cipher.decrypt(r.identifier_enc, AAD),
    home: r.home,
    previous_home: r.previous_home,
    existing_home: r.conflict_home,
    enqueued_at: new Date(r.created_at).toISOString(),
    refused_at: new Date(r.conflict_at).toISOString(),
  }));
}

/**
 * After the operators resolved conflicts: the publications kept as conflicts are delivered again
 * (one still refused is kept, and audited, again). Returns how many were reopened.
 */
export async function retryRegistryConflicts(db: Database): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string }>(
      'UPDATE registry_outbox SET conflict_at = NULL, conflict_home = NULL, next_attempt_at = now(), lease_owner = NULL WHERE conflict_at IS NOT NULL RETURNING id::text AS id',
    );
    if (rows.length) await appendAudit(tx, { event: 'registry.conflicts_retried', detail: { outbox_ids: rows.map((r) => r.id) } });
    return rows.length;
  });
}
