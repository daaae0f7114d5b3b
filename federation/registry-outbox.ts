/**
 * The transactional outbox of publications to the superior broker's registry of homes. A
 * publication is written in the transaction of the registration (or entry) it announces, so
 * neither exists without the other; the publisher delivers it afterwards until it is
 * acknowledged, then deletes it. Rows are never dropped: a failed delivery is retried with
 * exponential backoff (capped), and its error kept for the administrator.
 *
 * Rows are claimed with FOR UPDATE SKIP LOCKED and a lease, then delivered outside any
 * transaction: no lock is held across a network call (on the embedded engine, one connection
 * shared by every entity of the process, the superior's own handling would wait for it). The
 * publications of one identifier are delivered in order (a move never overtakes the
 * registration it moves); other identifiers never wait for them.
 */
import type { BlindIndex, FieldCipher } from '../infra/crypto.ts';
import type { Database, Queryable } from '../infra/database.ts';
import type { Logger } from '../infra/log.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { identifierIndex, normalizeIdentifier, type HomeKind } from './registry-of-homes.ts';

const AAD = 'registry_outbox.identifier';
const BATCH_SIZE = 20;
/** Longer than any delivery takes (the client's timeout), so a claimed row is not claimed twice. */
const LEASE_SECONDS = 60;
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
  intervalMs?: number;
}

interface OutboxRow {
  id: string;
  kind: HomeKind;
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

export class RegistryPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private requested = false;
  private stopped = false;

  constructor(private readonly opts: RegistryPublisherOptions) {}

  /** Delivers what is due now and every `intervalMs` (retries, rows left by another process). */
  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.opts.intervalMs ?? 2000);
    this.timer.unref();
    this.kick();
  }

  /** Stops the loop and waits for the delivery under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

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
        await this.flush().catch((err: unknown) => this.opts.log.error('registry publications could not be delivered', { err }));
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Delivers every publication due now, each at most once; returns how many were acknowledged. */
  async flush(): Promise<number> {
    // Rows that fail now are due again later than this, so a pass never retries them.
    const { rows: clock } = await this.opts.db.query<{ now: string }>('SELECT now()::text AS now');
    let delivered = 0;
    for (;;) {
      const rows = await this.claim(clock[0]!.now);
      if (!rows.length) return delivered;
      const results = await Promise.all(rows.map((row) => this.deliverOne(row)));
      delivered += results.filter(Boolean).length;
    }
  }

  /** Rows due at `dueAt`, each the oldest of its identifier, leased to this caller. */
  private async claim(dueAt: string): Promise<OutboxRow[]> {
    const { rows } = await this.opts.db.query<OutboxRow>(
      `UPDATE registry_outbox SET next_attempt_at = now() + make_interval(secs => $2::int)
       WHERE id IN (
         SELECT o.id FROM registry_outbox o
         WHERE o.next_attempt_at <= $3::timestamptz
           AND NOT EXISTS (SELECT 1 FROM registry_outbox e WHERE e.kind = o.kind AND e.identifier_index = o.identifier_index AND e.id < o.id)
         ORDER BY o.id LIMIT $1
         FOR UPDATE OF o SKIP LOCKED)
       RETURNING id::text AS id, kind, identifier_enc, home, previous_home, attempts`,
      [BATCH_SIZE, LEASE_SECONDS, dueAt],
    );
    return rows;
  }

  private async deliverOne(row: OutboxRow): Promise<boolean> {
    try {
      const identifier = this.opts.cipher.decrypt(row.identifier_enc, AAD);
      await this.opts.deliver({ kind: row.kind, identifier, home: row.home, previousHome: row.previous_home });
    } catch (err) {
      const attempts = row.attempts + 1;
      await this.opts.db.query(
        'UPDATE registry_outbox SET attempts = $2, next_attempt_at = now() + make_interval(secs => $3::int), last_error = $4 WHERE id = $1',
        [row.id, attempts, backoffSeconds(attempts), describe(err)],
      );
      this.opts.log.warn('registry publication not delivered; will retry', {
        outbox_id: row.id,
        kind: row.kind,
        home: row.home,
        attempts,
        error: describe(err),
      });
      return false;
    }
    await this.opts.db.query('DELETE FROM registry_outbox WHERE id = $1', [row.id]);
    return true;
  }
}
