/**
 * The append-only, hash-chained audit log (table `audit_log`, see migrations/common). Entries are
 * appended inside the caller's transaction, so an audited change and its entry commit together.
 * Details must never carry ID numbers, phones or secrets: callers pass subjects and blind indexes.
 */
import { createHash } from 'node:crypto';
import type { Database, Queryable } from './database.ts';
import { canonicalJson } from './canonical-json.ts';

export interface AuditEntry {
  event: string;
  subject?: string | null;
  clientId?: string | null;
  detail?: Record<string, unknown>;
}

const GENESIS = 'genesis';

function entryHash(prev: string, seq: number, at: string, e: AuditEntry): string {
  return createHash('sha256')
    .update(canonicalJson([prev, seq, at, e.event, e.subject ?? null, e.clientId ?? null, e.detail ?? {}]))
    .digest('base64url');
}

export async function appendAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  // Serializes writers of this schema's chain for the rest of the transaction.
  await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':audit'))");
  const { rows } = await tx.query<{ seq: string; hash: string }>(
    'SELECT seq::text AS seq, hash FROM audit_log ORDER BY audit_log.seq DESC LIMIT 1',
  );
  const prev = rows[0]?.hash ?? GENESIS;
  const seq = rows[0] ? Number(rows[0].seq) + 1 : 1;
  const at = new Date().toISOString();
  // Hash what will be stored: the JSON round trip drops undefined values and turns dates into strings.
  const detail = JSON.parse(JSON.stringify(entry.detail ?? {})) as Record<string, unknown>;
  await tx.query(
    'INSERT INTO audit_log (seq, at, event, subject, client_id, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [
      seq,
      at,
      entry.event,
      entry.subject ?? null,
      entry.clientId ?? null,
      JSON.stringify(detail),
      prev,
      entryHash(prev, seq, at, { ...entry, detail }),
    ],
  );
}

/** An entry of its own, for events that change nothing else (a failed login, a logout). */
export async function recordAudit(db: Database, entry: AuditEntry): Promise<void> {
  await db.transaction((tx) => appendAudit(tx, entry));
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  at: string;
}

/** Walks the chain; returns the first sequence number whose hash does not match, or null. */
export async function verifyAuditChain(db: Queryable): Promise<{ entries: number; brokenAt: number | null }> {
  const { rows } = await db.query<{
    seq: string;
    at: Date;
    event: string;
    subject: string | null;
    client_id: string | null;
    detail: Record<string, unknown>;
    prev_hash: string;
    hash: string;
  }>('SELECT seq::text, at, event, subject, client_id, detail, prev_hash, hash FROM audit_log ORDER BY audit_log.seq');
  let prev = GENESIS;
  for (const r of rows) {
    const seq = Number(r.seq);
    const expected = entryHash(prev, seq, new Date(r.at).toISOString(), {
      event: r.event,
      subject: r.subject,
      clientId: r.client_id,
      detail: r.detail,
    });
    if (r.prev_hash !== prev || r.hash !== expected) return { entries: rows.length, brokenAt: seq };
    prev = r.hash;
  }
  return { entries: rows.length, brokenAt: null };
}

export async function readAudit(db: Queryable, limit = 100): Promise<AuditRecord[]> {
  const { rows } = await db.query<{
    seq: string;
    at: Date;
    event: string;
    subject: string | null;
    client_id: string | null;
    detail: Record<string, unknown>;
  }>('SELECT seq::text, at, event, subject, client_id, detail FROM audit_log ORDER BY audit_log.seq DESC LIMIT $1', [limit]);
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: new Date(r.at).toISOString(),
    event: r.event,
    subject: r.subject,
    clientId: r.client_id,
    detail: r.detail,
  }));
}
