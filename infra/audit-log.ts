/**
 * The append-only, hash-chained audit log (table `audit_log`, see migrations/common). Entries are
 * appended inside the caller's transaction, so an audited change and its entry commit together.
 * Details must never carry ID numbers, phones or secrets: callers pass subjects and blind indexes.
 */
import { createHash } from 'node:crypto';
import { uniqueViolation, type Database, type Queryable, type Transaction } from './database.ts';
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

/** The last entry of a chain. */
interface Head {
  seq: number;
  hash: string;
}

/** Serializes writers of this schema's chain until the transaction (or the statement) ends. */
const CHAIN_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':audit'))";

async function readHead(db: Queryable): Promise<Head | null> {
  const { rows } = await db.query<{ seq: string; hash: string }>(
    'SELECT seq::text AS seq, hash FROM audit_log ORDER BY audit_log.seq DESC LIMIT 1',
  );
  return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : null;
}

/** The rows that append `entries` after `head`, each hashing the one before. */
function chained(head: Head | null, entries: AuditEntry[]): unknown[][] {
  let prev = head?.hash ?? GENESIS;
  let seq = head?.seq ?? 0;
  return entries.map((entry) => {
    seq++;
    const at = new Date().toISOString();
    // Hash what will be stored: the JSON round trip drops undefined values and turns dates into strings.
    const detail = JSON.parse(JSON.stringify(entry.detail ?? {})) as Record<string, unknown>;
    const hash = entryHash(prev, seq, at, { ...entry, detail });
    const row = [seq, at, entry.event, entry.subject ?? null, entry.clientId ?? null, JSON.stringify(detail), prev, hash];
    prev = hash;
    return row;
  });
}

const COLUMNS = 'INSERT INTO audit_log (seq, at, event, subject, client_id, detail, prev_hash, hash)';
const TYPES = ['bigint', 'timestamptz', 'text', 'text', 'text', 'jsonb', 'text', 'text'];
/** `($1::bigint, …), ($9::bigint, …)`: typed, as a SELECT from VALUES needs them. */
const placeholders = (rows: unknown[][]) =>
  rows.map((_, r) => `(${TYPES.map((type, c) => `$${r * TYPES.length + c + 1}::${type}`).join(', ')})`).join(', ');

export async function appendAudit(tx: Transaction, entry: AuditEntry): Promise<void> {
  // On PostgreSQL the chain's lock serializes its writers until this transaction ends. The
  // embedded engine runs one transaction or statement at a time: there is nobody to wait for.
  if (tx.database.engine === 'postgres') await tx.query(CHAIN_LOCK);
  // The head this process wrote last is usually still the head: one statement checks it and
  // appends, or answers with the head, which nobody can move before this transaction ends.
  let head = writerOf(tx.database).lastHead();
  let rows: unknown[][] | undefined;
  if (head !== undefined) {
    const answer = await appendAfter(tx, head, [entry], { lock: false });
    if ('rows' in answer) rows = answer.rows;
    else head = answer.head;
  }
  if (!rows) {
    rows = chained(head === undefined ? await readHead(tx) : head, [entry]);
    await tx.query(`${COLUMNS} VALUES ${placeholders(rows)}`, rows.flat());
  }
  const row = rows[0]!;
  // The entries of their own this process writes next follow this one, rather than guessing an
  // older head, failing on the primary key and reading the head again.
  tx.afterCommit(() => writerOf(tx.database).wrote({ seq: row[0] as number, hash: row[7] as string }));
}

/**
 * Appends `entries` after the head `guess`, in one statement, unless entries at or after the
 * first one's sequence number are there already (the guess is old): then nothing is inserted and
 * the statement answers with the head instead, for the next guess. With `lock`, the statement
 * takes the chain's lock itself; its snapshot may then be older than a row committed while it
 * waited for the lock, and the primary key refuses the INSERT, as it would without the check.
 */
async function appendAfter(
  db: Queryable,
  guess: Head | null,
  entries: AuditEntry[],
  { lock }: { lock: boolean },
): Promise<{ rows: unknown[][] } | { head: Head | null }> {
  const rows = chained(guess, entries);
  const answer = await db.query<{ appended: number; seq: string | null; hash: string | null }>(
    `WITH ${lock ? `serialized AS (${CHAIN_LOCK}),` : ''}
       appended AS (${COLUMNS} SELECT v.* FROM ${lock ? 'serialized, ' : ''}(VALUES ${placeholders(rows)}) AS v
         WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE seq >= $${rows.length * TYPES.length + 1}) RETURNING seq)
     SELECT (SELECT count(*) FROM appended)::int AS appended, head.seq::text AS seq, head.hash
     FROM (SELECT 1) AS one LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY audit_log.seq DESC LIMIT 1) AS head ON true`,
    [...rows.flat(), rows[0]![0]],
  );
  const { appended, seq, hash } = answer.rows[0]!;
  if (appended > 0) return { rows };
  return { head: seq === null ? null : { seq: Number(seq), hash: hash! } };
}

/**
 * Appends entries of their own (recordAudit) in as few statements as it can: those of one
 * process queue behind each other and are written together, in one INSERT, after the head this
 * process last wrote. That head is a guess (other processes write the chain too); a wrong one
 * makes the INSERT break the primary key and changes nothing, and the head is read again. The
 * INSERT takes the chain's lock, so that appendAudit (checking the head under that lock within a
 * caller's transaction) never meets a row written behind its back.
 */
class AuditWriter {
  private head: Head | null | undefined;
  private queue: { entry: AuditEntry; done: (err?: unknown) => void }[] = [];
  private writing = false;

  constructor(private readonly db: Database) {}

  /** The head this process wrote or read last (a guess: other processes write too), or undefined when it knows none. */
  lastHead(): Head | null | undefined {
    return this.head;
  }

  /**
   * A head written by this process in a transaction (appendAudit): the next guess, when it is later
   * than the one known (or none is), unless a write of its own is under way.
   */
  wrote(head: Head) {
    if (!this.writing && (this.head?.seq ?? 0) < head.seq) this.head = head;
  }

  append(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.writing) void this.drain();
    });
  }

  private async drain() {
    this.writing = true;
    while (this.queue.length) {
      const batch = this.queue.splice(0);
      const err = await this.write(batch.map((b) => b.entry)).then(
        () => undefined,
        (e: unknown) => e ?? new Error('audit append failed'),
      );
      for (const b of batch) b.done(err);
    }
    this.writing = false;
  }

  private async write(entries: AuditEntry[]) {
    for (let attempt = 0; attempt < GUESSES; attempt++) {
      if (this.head === undefined) this.head = await readHead(this.db);
      let answer;
      try {
        answer = await appendAfter(this.db, this.head, entries, { lock: true });
      } catch (err) {
        this.head = undefined;
        if (uniqueViolation(err) === 'audit_log_pkey') continue;
        throw err;
      }
      if ('head' in answer) {
        this.head = answer.head;
        continue;
      }
      const last = answer.rows[answer.rows.length - 1]!;
      this.head = { seq: last[0] as number, hash: last[7] as string };
      return;
    }
    // Other processes keep writing ahead of this one: the chain's lock, in a transaction of its own.
    await this.db.transaction(async (tx) => {
      for (const entry of entries) await appendAudit(tx, entry);
    });
  }
}

/** Wrong guesses of the head, in a row, before a writer waits for the chain's lock instead. */
const GUESSES = 3;
const writers = new WeakMap<Database, AuditWriter>();

function writerOf(db: Database): AuditWriter {
  let writer = writers.get(db);
  if (!writer) writers.set(db, (writer = new AuditWriter(db)));
  return writer;
}

/** An entry of its own, for events that change nothing else (a failed login, a logout). */
export async function recordAudit(db: Database, entry: AuditEntry): Promise<void> {
  await writerOf(db).append(entry);
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
