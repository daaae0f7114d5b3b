/**
 * Consents to the data-sharing exchange (table data_consents, migrations/idp/009): the person's
 * "yes" to one `gov-id:data-access` authorization detail, once or for a period. Its lifecycle is
 * a small transition table: active → used (a once-only consent that served its request),
 * active → revoked (by the person), active → expired (by time, never written); the other states
 * are final. Every change is audited in the same transaction.
 */
import { randomToken } from '../../infra/crypto.ts';
import type { Database, Queryable, Transaction } from '../../infra/database.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import { sameScope, type ConsentStatus, type RequestedDataAccess } from '../../infra/data-access-detail.ts';

export type ConsentMode = 'once' | 'period';
type State = Exclude<ConsentStatus, 'unknown'>;
type Event = 'use' | 'revoke';

const TRANSITIONS: Record<State, Partial<Record<Event, State>>> = {
  active: { use: 'used', revoke: 'revoked' },
  used: {},
  revoked: {},
  expired: {},
};

/** The periods a person may choose on the consent page, in days. */
export const CONSENT_PERIODS = [30, 90, 365] as const;

export interface DataConsent {
  id: string;
  accountSubject: string;
  subjectKind: 'natural' | 'legal';
  actorSubject: string | null;
  clientId: string;
  detail: RequestedDataAccess;
  mode: ConsentMode;
  status: State;
  createdAt: string;
  expiresAt: string;
}

interface Row {
  id: string;
  account_subject: string;
  subject_kind: 'natural' | 'legal';
  subject_index: string;
  actor_subject: string | null;
  client_id: string;
  detail: RequestedDataAccess;
  mode: ConsentMode;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS =
  'id, account_subject, subject_kind, subject_index, actor_subject, client_id, detail, mode, created_at, expires_at, used_at, revoked_at';

function stateOf(r: Row, now = Date.now()): State {
  if (r.revoked_at) return 'revoked';
  if (r.used_at) return 'used';
  return new Date(r.expires_at).getTime() <= now ? 'expired' : 'active';
}

function consentOf(r: Row): DataConsent {
  return {
    id: r.id,
    accountSubject: r.account_subject,
    subjectKind: r.subject_kind,
    actorSubject: r.actor_subject,
    clientId: r.client_id,
    detail: r.detail,
    mode: r.mode,
    status: stateOf(r),
    createdAt: new Date(r.created_at).toISOString(),
    expiresAt: new Date(r.expires_at).toISOString(),
  };
}

export interface NewConsent {
  accountSubject: string;
  subjectKind: 'natural' | 'legal';
  subjectIndex: string;
  actorSubject: string | null;
  clientId: string;
  detail: RequestedDataAccess;
  mode: ConsentMode;
  /** Seconds from now. */
  lifetime: number;
}

export class DataConsents {
  constructor(private readonly db: Database) {}

  private async row(q: Queryable, id: string): Promise<Row | null> {
    const { rows } = await q.query<Row>(`SELECT ${COLUMNS} FROM data_consents WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Records the consents of one consent page, all or none; returns their IDs in order. */
  async give(consents: NewConsent[]): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const ids: string[] = [];
      for (const c of consents) {
        const id = randomToken(16);
        await tx.query(
          `INSERT INTO data_consents (id, account_subject, subject_kind, subject_index, actor_subject, client_id, detail, mode, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9::int))`,
          [id, c.accountSubject, c.subjectKind, c.subjectIndex, c.actorSubject, c.clientId, JSON.stringify(c.detail), c.mode, c.lifetime],
        );
        await appendAudit(tx, {
          event: 'exchange.consent_given',
          subject: c.accountSubject,
          clientId: c.clientId,
          detail: {
            consent: id,
            actor: c.actorSubject,
            mode: c.mode,
            dataset: c.detail.dataset,
            holder: c.detail.locations[0],
            requester: c.detail.requester,
          },
        });
        ids.push(id);
      }
      return ids;
    });
  }

  /** A standing (period) consent of the account to the client that covers the detail, if any. */
  async standing(accountSubject: string, clientId: string, detail: RequestedDataAccess): Promise<string | null> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM data_consents
       WHERE account_subject = $1 AND client_id = $2 AND mode = 'period' AND revoked_at IS NULL AND expires_at > now()
       ORDER BY created_at DESC`,
      [accountSubject, clientId],
    );
    return rows.find((r) => sameScope(r.detail, detail))?.id ?? null;
  }

  async find(id: string): Promise<DataConsent | null> {
    const r = await this.row(this.db, id);
    return r && consentOf(r);
  }

  /**
   * The holding node's question: does the consent stand, and is the request's person its own
   * (`subjectIndex`, this OP's blind index of the identifier the request names)? A once-only
   * consent that stands is used up by this answer; it is never used up for another person.
   */
  async check(id: string, accountSubject: string, subjectIndex: string): Promise<{ status: ConsentStatus; subjectMatches: boolean }> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<Row>(`SELECT ${COLUMNS} FROM data_consents WHERE id = $1 FOR UPDATE`, [id]);
      const r = rows[0];
      if (!r || r.account_subject !== accountSubject) return { status: 'unknown', subjectMatches: false };
      const subjectMatches = r.subject_index === subjectIndex;
      const state = stateOf(r);
      if (!subjectMatches || state !== 'active' || r.mode !== 'once') return { status: state, subjectMatches };
      await this.transition(tx, r, 'use', accountSubject);
      return { status: 'active', subjectMatches };
    });
  }

  /** The consents about the account's data, and those the account gave for organizations, newest first. */
  async of(subject: string, limit = 100): Promise<DataConsent[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM data_consents WHERE account_subject = $1 OR actor_subject = $1 ORDER BY created_at DESC LIMIT $2`,
      [subject, limit],
    );
    return rows.map(consentOf);
  }

  /**
   * Revokes an active consent about the account's data, or one it gave for an organization:
   * 'revoked', 'not_found' (neither), or 'ended' (used, expired, revoked already).
   */
  async revoke(subject: string, id: string): Promise<'revoked' | 'not_found' | 'ended'> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<Row>(`SELECT ${COLUMNS} FROM data_consents WHERE id = $1 FOR UPDATE`, [id]);
      const r = rows[0];
      if (!r || (r.account_subject !== subject && r.actor_subject !== subject)) return 'not_found';
      if (!TRANSITIONS[stateOf(r)].revoke) return 'ended';
      await this.transition(tx, r, 'revoke', subject);
      return 'revoked';
    });
  }

  private async transition(tx: Transaction, r: Row, event: Event, by: string): Promise<void> {
    const next = TRANSITIONS[stateOf(r)][event];
    if (!next) throw new Error(`consent ${r.id}: no ${event} from ${stateOf(r)}`);
    await tx.query(`UPDATE data_consents SET ${event === 'use' ? 'used_at' : 'revoked_at'} = now() WHERE id = $1`, [r.id]);
    await appendAudit(tx, {
      event: `exchange.consent_${next}`,
      subject: r.account_subject,
      clientId: r.client_id,
      detail: { consent: r.id, by },
    });
  }
}
