/**
 * Recognized accounts (互认账号): people and organizations whose home is another OP. A visited OP
 * links one the first time such a user logs in through the brokers and refreshes its claims on
 * every later login. It keeps no credential; the claims are encrypted like every PII here, and
 * the ID number / USCC is also kept as this OP's blind index, so that one person has one link
 * whichever route the login took.
 */
import type { Database } from '../../infra/database.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { randomToken } from '../../infra/crypto.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import type { LoaLevel } from '../../federation/loa.ts';

export type RecognizedKind = 'natural' | 'legal';

const AAD_CLAIMS = 'recognized_accounts.claims';
const AAD_ACTOR = 'recognized_grant_actors.actor_claims';

/** Claims kept from home: what the next token of this OP may repeat. */
export type HomeClaims = Record<string, unknown>;

export interface RecognizedAccount {
  subject: string;
  kind: RecognizedKind;
  /** Blind index of its ID number or USCC, with this OP's key. */
  identifierIndex: string;
  home: string;
  upstream: string;
  upstreamSubject: string;
  loa: LoaLevel;
  claims: HomeClaims;
}

export class LocalAccountExists extends Error {
  constructor() {
    super('this person or organization has an account of its own here');
    this.name = 'LocalAccountExists';
  }
}

interface Row {
  subject: string;
  kind: RecognizedKind;
  identifier_index: string;
  home: string;
  upstream: string;
  upstream_subject: string;
  loa: LoaLevel;
  claims_enc: string;
}

const COLUMNS = 'subject, kind, identifier_index, home, upstream, upstream_subject, loa, claims_enc';

/**
 * The recognized account whose subject is the SQL expression `subject`, as one JSON value (null
 * when there is none): for a statement that reads the account along with something else
 * (account-directory.ts accountJson). `RecognizedAccounts.fromJson` reads it back.
 */
export const recognizedAccountJson = (subject: string) =>
  `(SELECT row_to_json(r) FROM (SELECT ${COLUMNS} FROM recognized_accounts WHERE subject = ${subject}) r)`;

export class RecognizedAccounts {
  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly index: BlindIndex,
  ) {}

  /** The same blind indexes as the OP's own accounts: an ID number or USCC is one key here. */
  private identifierIndex(kind: RecognizedKind, identifier: string): string {
    return this.index.of(kind === 'natural' ? 'id_number' : 'uscc', identifier);
  }

  /** The account a `recognizedAccountJson` value holds. */
  fromJson(json: unknown): RecognizedAccount {
    return this.fromRow(json as Row);
  }

  private fromRow(r: Row): RecognizedAccount {
    return {
      subject: r.subject,
      kind: r.kind,
      identifierIndex: r.identifier_index,
      home: r.home,
      upstream: r.upstream,
      upstreamSubject: r.upstream_subject,
      loa: r.loa,
      claims: JSON.parse(this.cipher.decrypt(r.claims_enc, AAD_CLAIMS)) as HomeClaims,
    };
  }

  async findBySubject(subject: string): Promise<RecognizedAccount | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM recognized_accounts WHERE subject = $1`, [subject]);
    return rows[0] ? this.fromRow(rows[0]) : null;
  }

  /** The local subjects linked through a neighbour's subject (a back-channel logout names that one). */
  async subjectsVia(upstream: string, upstreamSubject: string): Promise<string[]> {
    const { rows } = await this.db.query<{ subject: string }>(
      'SELECT subject FROM recognized_accounts WHERE upstream = $1 AND upstream_subject = $2',
      [upstream, upstreamSubject],
    );
    return rows.map((r) => r.subject);
  }

  /**
   * Creates or refreshes the link for a login that came back from home. Refused when the person
   * or organization also has an account of its own here (one person, one home). One transaction
   * with its audit entries.
   */
  async link(
    input: {
      kind: RecognizedKind;
      identifier: string;
      home: string;
      upstream: string;
      upstreamSubject: string;
      loa: LoaLevel;
      claims: HomeClaims;
    },
    clientId: string,
    /** The login this link is made for, audited in the same transaction. */
    login: { event: string; detail: Record<string, unknown> },
  ): Promise<RecognizedAccount> {
    const index = this.identifierIndex(input.kind, input.identifier);
    const sealed = this.cipher.encrypt(JSON.stringify(input.claims), AAD_CLAIMS);
    const own =
      input.kind === 'natural'
        ? "SELECT 1 FROM natural_persons WHERE id_number_index = $3 AND status <> 'moved'"
        : 'SELECT 1 FROM legal_persons WHERE uscc_index = $3';
    return this.db.transaction(async (tx) => {
      // One statement: no row when the account is registered here (then it is no recognized one).
      const { rows } = await tx.query<Row & { created: boolean }>(
        `INSERT INTO recognized_accounts (subject, kind, identifier_index, home, upstream, upstream_subject, claims_enc, loa)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (${own})
         ON CONFLICT (kind, identifier_index) DO UPDATE SET home = EXCLUDED.home, upstream = EXCLUDED.upstream, upstream_subject = EXCLUDED.upstream_subject,
           claims_enc = EXCLUDED.claims_enc, loa = EXCLUDED.loa, updated_at = now()
         RETURNING ${COLUMNS}, (xmax = 0) AS created`,
        [randomToken(16), input.kind, index, input.home, input.upstream, input.upstreamSubject, sealed, input.loa],
      );
      const row = rows[0];
      if (!row) throw new LocalAccountExists();
      if (row.created)
        await appendAudit(tx, {
          event: 'account.recognized',
          subject: row.subject,
          clientId,
          detail: { user_type: input.kind, home: input.home, upstream: input.upstream },
        });
      await appendAudit(tx, { ...login, subject: row.subject, clientId });
      return this.fromRow(row);
    });
  }

  /** Binds the acting person's claims (as home asserted them) to the grant of one legal-person login. */
  async bindActor(grantId: string, legalSubject: string, actorClaims: HomeClaims, ttlSeconds: number): Promise<void> {
    await this.db.query(
      `INSERT INTO recognized_grant_actors (grant_id, legal_subject, actor_claims_enc, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4::int))`,
      [grantId, legalSubject, this.cipher.encrypt(JSON.stringify(actorClaims), AAD_ACTOR), ttlSeconds],
    );
  }

  async actorOf(grantId: string): Promise<HomeClaims | null> {
    const { rows } = await this.db.query<{ actor_claims_enc: string }>(
      'SELECT actor_claims_enc FROM recognized_grant_actors WHERE grant_id = $1 AND expires_at > now()',
      [grantId],
    );
    return rows[0] ? (JSON.parse(this.cipher.decrypt(rows[0].actor_claims_enc, AAD_ACTOR)) as HomeClaims) : null;
  }
}
