/**
 * The registry of homes (互认目录) a broker keeps: for every person (ID number) and organization
 * (USCC) registered in its subtree, the home entity and the direct subordinate it came through.
 * Identifiers are stored only as blind indexes under this broker's own key, in the same index
 * spaces as its accounts, so no secret is shared between tiers. One identifier, one home: a second
 * home is a conflict, unless the publication names the current home as the one it leaves.
 */
import type { BlindIndex } from '../infra/crypto.ts';
import type { Database, Queryable } from '../infra/database.ts';
import { parseIdNumber, parseUscc } from '../infra/identifiers.ts';

export const HOME_KINDS = ['natural', 'legal'] as const;
export type HomeKind = (typeof HOME_KINDS)[number];

export interface HomeEntry {
  kind: HomeKind;
  identifier: string;
  home: string;
  /** The direct subordinate that published the entry, or the broker itself. */
  via: string;
  /** Set on a relocation: the home the account leaves. */
  previousHome?: string | null;
}

export type RecordOutcome = 'recorded' | 'unchanged' | 'moved';

/** The identifier already has another home (and the publication is not a move away from it). */
export class HomeConflict extends Error {
  constructor(readonly home: string) {
    super(`the identifier is already registered, with its home at ${home}`);
    this.name = 'HomeConflict';
  }
}

/** The normalized ID number or USCC; throws InvalidIdentifier or InvalidUscc. */
export function normalizeIdentifier(kind: HomeKind, identifier: string): string {
  return kind === 'natural' ? parseIdNumber(identifier) : parseUscc(identifier);
}

/** The blind index of an identifier in the index spaces the accounts use too. */
export function identifierIndex(index: BlindIndex, kind: HomeKind, identifier: string): string {
  return index.of(kind === 'natural' ? 'id_number' : 'uscc', normalizeIdentifier(kind, identifier));
}

export class HomeRegistry {
  constructor(
    private readonly db: Database,
    private readonly index: BlindIndex,
  ) {}

  indexOf(kind: HomeKind, identifier: string): string {
    return identifierIndex(this.index, kind, identifier);
  }

  async lookup(kind: HomeKind, identifier: string): Promise<string | null> {
    const { rows } = await this.db.query<{ home: string }>('SELECT home FROM home_registry WHERE kind = $1 AND blind_index = $2', [
      kind,
      this.indexOf(kind, identifier),
    ]);
    return rows[0]?.home ?? null;
  }

  /** Runs inside the caller's transaction, so the entry commits with whatever it accompanies. */
  async record(tx: Queryable, e: HomeEntry): Promise<RecordOutcome> {
    const key = this.indexOf(e.kind, e.identifier);
    const inserted = await tx.query(
      'INSERT INTO home_registry (kind, blind_index, home, via) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, blind_index) DO NOTHING RETURNING 1',
      [e.kind, key, e.home, e.via],
    );
    if (inserted.rows.length) return 'recorded';
    // Locked until the caller commits, so a concurrent move cannot slip between check and update.
    const { rows } = await tx.query<{ home: string }>('SELECT home FROM home_registry WHERE kind = $1 AND blind_index = $2 FOR UPDATE', [
      e.kind,
      key,
    ]);
    // Entries are never deleted: the conflicting insert saw this row.
    const existing = rows[0]!.home;
    if (existing === e.home) return 'unchanged';
    if (e.previousHome !== existing) throw new HomeConflict(existing);
    await tx.query('UPDATE home_registry SET home = $3, via = $4, updated_at = now() WHERE kind = $1 AND blind_index = $2', [
      e.kind,
      key,
      e.home,
      e.via,
    ]);
    return 'moved';
  }
}
