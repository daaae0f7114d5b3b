/**
 * The access log of a data-sharing node (table `exchange_access_log`, migrations/services/005):
 * every data request the node served, refused or made, as one entry. Entries are hash-chained as
 * the audit log is (infra/audit-log.ts) and each is also signed with the node's federation key,
 * so that anyone holding the node's keys (through its trust chain, or an exported bundle) can
 * check an entry without trusting the node's database. Whose data is this node's blind index:
 * the ID number or USCC itself is never written here.
 */
import { createHash } from 'node:crypto';
import { CompactSign, compactVerify, importJWK, type JWK } from 'jose';
import { canonicalJson } from '../../infra/canonical-json.ts';
import type { Database, Queryable } from '../../infra/database.ts';
import type { EntityKeyRing } from '../../infra/entity-key-ring.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';

export type SubjectKind = 'natural' | 'legal';

/** One access, as written (a wire format: it is exported and verified elsewhere, hence snake_case). */
export interface AccessEntry {
  /** The data request's ID, the same at the requesting and the holding node. */
  request_id: string;
  /** This node's part in it. */
  role: 'holder' | 'requester';
  /** The requesting authority's node. */
  requester: string;
  holder: string;
  /** The portal that obtained the person's consent, when the token said. */
  client_id: string | null;
  subject_kind: SubjectKind;
  /** This node's blind index of the ID number or USCC; null when the request named none that parses. */
  subject_index: string | null;
  dataset: string;
  attributes: string[];
  purpose: string;
  item: string | null;
  case: string | null;
  /** The consent the token carried: the OP that recorded it and its ID there. */
  consent: { issuer: string; id: string } | null;
  result: 'served' | 'refused';
  /** Why it was refused (an error code of docs/exchange.md); null when served. */
  reason: string | null;
  at: string;
}

export interface AccessRecord {
  seq: number;
  entry: AccessEntry;
  prev_hash: string;
  hash: string;
  /** Compact JWS (typ access-log-entry+jwt) over {iss, seq, hash}. */
  signature: string;
}

export const GENESIS = 'genesis';
export const ENTRY_TYP = 'access-log-entry+jwt';

export function entryHash(prev: string, seq: number, entry: AccessEntry): string {
  return createHash('sha256')
    .update(canonicalJson([prev, seq, entry]))
    .digest('base64url');
}

export class AccessLog {
  private readonly imported = new Map<string, Promise<CryptoKey | Uint8Array>>();

  constructor(
    private readonly db: Database,
    private readonly self: string,
    private readonly keys: EntityKeyRing,
  ) {}

  private signingKey(jwk: PrivateJwk) {
    let key = this.imported.get(jwk.kid);
    if (!key) this.imported.set(jwk.kid, (key = importJWK(jwk, jwk.alg)));
    return key;
  }

  /** Appends one entry (in `tx` when given, so that it commits with what it records); returns its record. */
  async append(entry: Omit<AccessEntry, 'at'>, tx?: Queryable): Promise<AccessRecord> {
    if (!tx) return this.db.transaction((t) => this.append(entry, t));
    // Serializes the writers of this node's chain for the rest of the transaction.
    await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':exchange-log'))");
    const { rows } = await tx.query<{ seq: string; hash: string }>(
      'SELECT seq::text AS seq, hash FROM exchange_access_log ORDER BY exchange_access_log.seq DESC LIMIT 1',
    );
    const prev = rows[0]?.hash ?? GENESIS;
    const seq = rows[0] ? Number(rows[0].seq) + 1 : 1;
    // What the database gives back: the JSON round trip drops undefined members.
    const full = JSON.parse(JSON.stringify({ ...entry, at: new Date().toISOString() })) as AccessEntry;
    const hash = entryHash(prev, seq, full);
    const jwk = this.keys.signingKey();
    const signature = await new CompactSign(new TextEncoder().encode(JSON.stringify({ iss: this.self, seq, hash })))
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: ENTRY_TYP })
      .sign(await this.signingKey(jwk));
    await tx.query(
      'INSERT INTO exchange_access_log (seq, subject_index, entry, prev_hash, hash, signature) VALUES ($1, $2, $3, $4, $5, $6)',
      [seq, full.subject_index, JSON.stringify(full), prev, hash, signature],
    );
    return { seq, entry: full, prev_hash: prev, hash, signature };
  }

  /** The accesses to one person's or organization's data here, newest first. */
  async ofSubject(subjectIndex: string, limit = 200): Promise<AccessRecord[]> {
    return this.read('WHERE subject_index = $1 ORDER BY exchange_access_log.seq DESC LIMIT $2', [subjectIndex, limit]);
  }

  /** The whole log in order (export, verification). */
  async all(): Promise<AccessRecord[]> {
    // The table's seq, not the text column of the same name the select gives back ('10' < '9').
    return this.read('ORDER BY exchange_access_log.seq', []);
  }

  private async read(where: string, params: unknown[]): Promise<AccessRecord[]> {
    const { rows } = await this.db.query<{ seq: string; entry: AccessEntry; prev_hash: string; hash: string; signature: string }>(
      `SELECT seq::text AS seq, entry, prev_hash, hash, signature FROM exchange_access_log ${where}`,
      params,
    );
    return rows.map((r) => ({ seq: Number(r.seq), entry: r.entry, prev_hash: r.prev_hash, hash: r.hash, signature: r.signature }));
  }
}

/** A key the node signed with, and when it did (historical keys: OpenID Federation §8.7). */
export interface LogKey extends JWK {
  kid: string;
  /** Seconds; a historical key signed entries of [iat, exp] only. */
  iat?: number;
  exp?: number;
}

export type LogProblem = 'sequence_gap' | 'chain_broken' | 'hash_mismatch' | 'unknown_key' | 'key_not_valid_then' | 'signature_invalid';

export interface LogVerification {
  entries: number;
  intact: boolean;
  /** The first entry that failed, and how. */
  broken_at: number | null;
  problem: LogProblem | null;
  /** The last entry's hash (what an export signs). */
  head: string;
}

/**
 * Walks a log in order: the sequence has no gap, each entry links to the one before, its hash
 * is what its contents give, and its signature is by a key of `issuer` that was valid when the
 * entry was written. Stops at the first entry that fails.
 */
export async function verifyAccessLog(records: AccessRecord[], issuer: string, keys: LogKey[]): Promise<LogVerification> {
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  const imported = new Map<string, CryptoKey | Uint8Array>();
  let prev = GENESIS;
  const broken = (seq: number, problem: LogProblem): LogVerification => ({
    entries: records.length,
    intact: false,
    broken_at: seq,
    problem,
    head: prev,
  });
  for (const [i, r] of records.entries()) {
    if (r.seq !== i + 1) return broken(r.seq, 'sequence_gap');
    if (r.prev_hash !== prev) return broken(r.seq, 'chain_broken');
    if (entryHash(prev, r.seq, r.entry) !== r.hash) return broken(r.seq, 'hash_mismatch');
    const [header] = r.signature.split('.');
    let kid: unknown;
    try {
      kid = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')).kid;
    } catch {
      return broken(r.seq, 'signature_invalid');
    }
    const key = typeof kid === 'string' ? byKid.get(kid) : undefined;
    if (!key) return broken(r.seq, 'unknown_key');
    // Whole seconds, as historical keys give their iat and exp.
    const at = Math.floor(Date.parse(r.entry.at) / 1000);
    if ((key.iat !== undefined && at < key.iat) || (key.exp !== undefined && at > key.exp)) return broken(r.seq, 'key_not_valid_then');
    try {
      if (!imported.has(key.kid)) imported.set(key.kid, await importJWK(key, String(key.alg ?? 'ES256')));
      const { payload, protectedHeader } = await compactVerify(r.signature, imported.get(key.kid)!);
      const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (protectedHeader.typ !== ENTRY_TYP || claims.iss !== issuer || claims.seq !== r.seq || claims.hash !== r.hash)
        return broken(r.seq, 'signature_invalid');
    } catch {
      return broken(r.seq, 'signature_invalid');
    }
    prev = r.hash;
  }
  return { entries: records.length, intact: true, broken_at: null, problem: null, head: prev };
}
