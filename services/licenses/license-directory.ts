/**
 * The licence directory (证照目录) at the national node: which platform holds which licence type
 * of a holder. Issuing nodes write to it with entity assertions (the holder's ID number or USCC
 * only in the authenticated body); national keeps the holder under its own blind index, never in
 * clear. An issuing node writes its entry in the transaction of the licence (an outbox row, or
 * the entry itself when it is the national node) and delivers it after commit; what could not be
 * delivered is delivered again before the next entry, or on the admin's request.
 */
import { appendAudit } from '../../infra/audit-log.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import type { Database, Queryable } from '../../infra/database.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import type { Logger } from '../../infra/log.ts';
import type { HolderKind } from './license-types.ts';

export const DIRECTORY_ENTRIES_PATH = '/licenses/directory/entries';
export const DIRECTORY_LOOKUP_PATH = '/licenses/directory/lookup';
const AAD = 'license_directory_outbox.holder';
const DELIVERY_TIMEOUT_MS = 5_000;
const BATCH = 50;

export interface DirectoryEntry {
  holderKind: HolderKind;
  /** The ID number or USCC. */
  identifier: string;
  type: string;
}

/** National's side: the directory itself. */
export class LicenseDirectory {
  constructor(
    private readonly db: Database,
    private readonly blindIndex: BlindIndex,
  ) {}

  private index(kind: HolderKind, identifier: string): string {
    return this.blindIndex.of(`license_directory:${kind}`, identifier);
  }

  /** Records that `platform` holds a licence of the type (idempotent: a repeated delivery changes nothing but the time). */
  async record(tx: Queryable, platform: string, e: DirectoryEntry): Promise<void> {
    await tx.query(
      `INSERT INTO license_directory (holder_index, holder_kind, platform, type) VALUES ($1, $2, $3, $4)
       ON CONFLICT (holder_index, platform, type) DO UPDATE SET updated_at = now()`,
      [this.index(e.holderKind, e.identifier), e.holderKind, platform, e.type],
    );
  }

  /** Where the holder's licences are, by platform and type; the lookup is audited under the holder's index. */
  async lookup(kind: HolderKind, identifier: string, requester: string): Promise<{ platform: string; type: string; updated_at: string }[]> {
    const index = this.index(kind, identifier);
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ platform: string; type: string; updated_at: Date }>(
        'SELECT platform, type, updated_at FROM license_directory WHERE holder_index = $1 ORDER BY platform, type',
        [index],
      );
      await appendAudit(tx, { event: 'license_directory.lookup', subject: index, detail: { requester, entries: rows.length } });
      return rows.map((r) => ({ platform: r.platform, type: r.type, updated_at: new Date(r.updated_at).toISOString() }));
    });
  }
}

export interface DirectoryWriterOptions {
  db: Database;
  cipher: FieldCipher;
  self: string;
  /** The national node's entity ID; the local directory when this entity is it. */
  directoryUrl: string;
  local: LicenseDirectory | null;
  signingKey: () => PrivateJwk;
  log: Logger;
}

/** An issuing node's side: writes its entries in the licence's transaction, delivers them after. */
export class DirectoryWriter {
  #delivering: Promise<number> | null = null;

  constructor(private readonly o: DirectoryWriterOptions) {}

  async inTransaction(tx: Queryable, e: DirectoryEntry): Promise<void> {
    if (this.o.local) return this.o.local.record(tx, this.o.self, e);
    await tx.query('INSERT INTO license_directory_outbox (holder_kind, holder_enc, type) VALUES ($1, $2, $3)', [
      e.holderKind,
      this.o.cipher.encrypt(e.identifier, AAD),
      e.type,
    ]);
  }

  /** Delivers what waits in the outbox, oldest first; returns how many are still waiting. A refused or failed delivery is kept (with its reason) and stops the round, never thrown. */
  deliver(): Promise<number> {
    if (this.o.local) return Promise.resolve(0);
    this.#delivering ??= this.#deliverAll().finally(() => (this.#delivering = null));
    return this.#delivering;
  }

  async #deliverAll(): Promise<number> {
    for (;;) {
      const { rows } = await this.o.db.query<{ id: string; holder_kind: HolderKind; holder_enc: string; type: string }>(
        'SELECT id::text AS id, holder_kind, holder_enc, type FROM license_directory_outbox ORDER BY id LIMIT $1',
        [BATCH],
      );
      for (const row of rows) {
        const error = await this.#post(row.holder_kind, this.o.cipher.decrypt(row.holder_enc, AAD), row.type);
        if (error) {
          await this.o.db.query('UPDATE license_directory_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [
            row.id,
            error,
          ]);
          this.o.log.warn('licence directory entry not delivered', { to: this.o.directoryUrl, reason: error });
          return this.#waiting();
        }
        await this.o.db.query('DELETE FROM license_directory_outbox WHERE id = $1', [row.id]);
      }
      if (rows.length < BATCH) return this.#waiting();
    }
  }

  async #waiting(): Promise<number> {
    const { rows } = await this.o.db.query<{ n: number }>('SELECT count(*)::int AS n FROM license_directory_outbox');
    return rows[0]!.n;
  }

  /** null when national took the entry, else why not (never the identifier). */
  async #post(holderKind: HolderKind, identifier: string, type: string): Promise<string | null> {
    try {
      const res = await postAsEntity({
        from: this.o.self,
        key: this.o.signingKey(),
        to: this.o.directoryUrl,
        path: DIRECTORY_ENTRIES_PATH,
        body: { holder_kind: holderKind, holder_id: identifier, type },
        timeoutMs: DELIVERY_TIMEOUT_MS,
      });
      return res.status === 204 ? null : `HTTP ${res.status} ${String(res.json.error ?? '')}`.trim();
    } catch (err) {
      return (err as Error).message.slice(0, 200);
    }
  }
}
