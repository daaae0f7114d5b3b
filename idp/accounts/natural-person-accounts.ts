/**
 * Natural-person accounts whose home is this OP. ID numbers and phones are encrypted at rest and
 * looked up through blind indexes; the `sub` is a random, stable identifier unrelated to them.
 */
import { uniqueViolation, type Database, type Queryable } from '../../infra/database.ts';
import { Conflict } from '../../infra/errors.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { randomToken } from '../../infra/crypto.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import { isIdNumber, parsePhone } from '../../infra/identifiers.ts';
import type { LoaLevel } from '../../federation/loa.ts';

const AAD_ID = 'natural_persons.id_number';
const AAD_PHONE = 'natural_persons.phone';

export interface NaturalPerson {
  subject: string;
  name: string;
  loa: LoaLevel;
  passwordHash: string;
  idNumberIndex: string;
  phoneIndex: string;
  /** Decrypt only when a claim needs them. */
  sealedIdNumber: string;
  sealedPhone: string;
}

export class AccountExists extends Conflict {
  constructor(readonly field: 'id_number' | 'phone') {
    super('account_exists', `an account with this ${field === 'phone' ? 'phone number' : 'ID number'} already lives here`);
  }
}

/** The unique constraints of natural_persons (migrations/idp/001_natural_persons.sql) and the field each guards. */
const UNIQUE_FIELDS: Record<string, AccountExists['field']> = {
  natural_persons_id_number_index_key: 'id_number',
  natural_persons_phone_index_key: 'phone',
};

/** AccountExists when `err` is a duplicate ID number or phone, else null. */
function accountExistsFor(err: unknown): AccountExists | null {
  const field = UNIQUE_FIELDS[uniqueViolation(err) ?? ''];
  return field ? new AccountExists(field) : null;
}

interface Row {
  subject: string;
  name: string;
  loa: LoaLevel;
  password_hash: string;
  id_number_index: string;
  phone_index: string;
  id_number_enc: string;
  phone_enc: string;
}

const COLUMNS = 'subject, name, loa, password_hash, id_number_index, phone_index, id_number_enc, phone_enc';

/**
 * The active natural person whose subject is the SQL expression `subject`, as one JSON value (null
 * when there is none): for a statement that reads the account along with something else (the
 * refresh token naming it, idp/oidc/artifact-adapter.ts). `naturalPersonFromJson` reads it back.
 */
export const naturalPersonJson = (subject: string) =>
  `(SELECT row_to_json(p) FROM (SELECT ${COLUMNS} FROM natural_persons WHERE subject = ${subject} AND status = 'active') p)`;
export const naturalPersonFromJson = (json: unknown): NaturalPerson => fromRow(json as Row);

function fromRow(r: Row): NaturalPerson {
  return {
    subject: r.subject,
    name: r.name,
    loa: r.loa,
    passwordHash: r.password_hash,
    idNumberIndex: r.id_number_index,
    phoneIndex: r.phone_index,
    sealedIdNumber: r.id_number_enc,
    sealedPhone: r.phone_enc,
  };
}

export interface NewNaturalPerson {
  name: string;
  idNumber: string;
  phone: string;
  passwordHash: string;
  loa: LoaLevel;
}

/**
 * Publishes a new account's home to the registry of homes inside the transaction that creates the
 * account: no account without its registry entry, no entry without its account.
 */
export interface HomePublication {
  /** `move`: a relocation from one home to another (published by both, each to its own side). */
  inTransaction(tx: Queryable, kind: 'natural' | 'legal', identifier: string, move?: { from: string; to: string }): Promise<void>;
  /**
   * The transaction committed: delivers the publication before the caller answers, as far as the
   * superior answers in time (what fails stays in the outbox, retried). Never throws.
   */
  committed(kind: 'natural' | 'legal', identifier: string): Promise<void> | void;
}

export class NaturalPersonAccounts {
  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly index: BlindIndex,
    private readonly publishHome?: HomePublication,
  ) {}

  idNumberIndex(idNumber: string) {
    return this.index.of('id_number', idNumber);
  }

  phoneIndex(phone: string) {
    return this.index.of('phone', phone);
  }

  /** The blind index an identifier (ID number or phone) is looked up by, or null if it is neither. */
  identifierIndex(identifier: string): string | null {
    const value = identifier.trim().toUpperCase();
    if (isIdNumber(value)) return this.idNumberIndex(value);
    try {
      return this.phoneIndex(parsePhone(value));
    } catch {
      return null;
    }
  }

  async findByIdentifierIndex(index: string): Promise<NaturalPerson | null> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM natural_persons WHERE (id_number_index = $1 OR phone_index = $1) AND status = 'active'`,
      [index],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async findBySubject(subject: string): Promise<NaturalPerson | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM natural_persons WHERE subject = $1 AND status = 'active'`, [subject]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Which of the person's unique identifiers is already taken here, if any. */
  async taken(idNumber: string, phone: string): Promise<'id_number' | 'phone' | null> {
    const { rows } = await this.db.query<{ id_number_index: string }>(
      // A moved-away account is not here any more: the registry of homes names its new home.
      "SELECT id_number_index FROM natural_persons WHERE (id_number_index = $1 OR phone_index = $2) AND status <> 'moved'",
      [this.idNumberIndex(idNumber), this.phoneIndex(phone)],
    );
    if (!rows.length) return null;
    return rows.some((r) => r.id_number_index === this.idNumberIndex(idNumber)) ? 'id_number' : 'phone';
  }

  /** Creates the account and its audit entry in one transaction; throws AccountExists on a duplicate. */
  async register(p: NewNaturalPerson, clientId: string | null): Promise<NaturalPerson> {
    const subject = randomToken(16);
    const idIndex = this.idNumberIndex(p.idNumber);
    const phoneIndex = this.phoneIndex(p.phone);
    try {
      const account = await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<Row>(
          `INSERT INTO natural_persons (subject, name, id_number_enc, id_number_index, phone_enc, phone_index, password_hash, loa)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
          [
            subject,
            p.name,
            this.cipher.encrypt(p.idNumber, AAD_ID),
            idIndex,
            this.cipher.encrypt(p.phone, AAD_PHONE),
            phoneIndex,
            p.passwordHash,
            p.loa,
          ],
        );
        await appendAudit(tx, { event: 'account.registered', subject, clientId, detail: { user_type: 'natural', loa: p.loa } });
        await this.publishHome?.inTransaction(tx, 'natural', p.idNumber);
        return fromRow(rows[0]!);
      });
      await this.publishHome?.committed('natural', p.idNumber);
      return account;
    } catch (err) {
      throw accountExistsFor(err) ?? err;
    }
  }

  /** In one statement: whether the account of this ID number is here (active), and its new home if it moved away. */
  async standing(idNumberIndex: string): Promise<{ here: boolean; movedTo: string | null }> {
    const { rows } = await this.db.query<{ status: string; moved_to: string | null }>(
      "SELECT status, moved_to FROM natural_persons WHERE id_number_index = $1 AND status IN ('active', 'moved')",
      [idNumberIndex],
    );
    const row = rows[0];
    return { here: row?.status === 'active', movedTo: row?.status === 'moved' ? row.moved_to : null };
  }

  /** The new home of an account that moved away from here, if it did. */
  async movedTo(idNumberIndex: string): Promise<string | null> {
    return (await this.standing(idNumberIndex)).movedTo;
  }

  /**
   * First step of a move to `to`: the account stops working here (and is not yet anywhere else).
   * A move to the same home that was cut off (a crash, a lost answer) is taken up again; one under
   * way to another home is not (see `moveState`), so the account can never be handed to two homes.
   */
  async beginMove(idNumber: string, to: string): Promise<NaturalPerson | null> {
    const { rows } = await this.db.query<Row>(
      `UPDATE natural_persons SET status = 'moving', moved_to = $2, updated_at = now()
       WHERE id_number_index = $1 AND (status = 'active' OR (status = 'moving' AND moved_to = $2)) RETURNING ${COLUMNS}`,
      [this.idNumberIndex(idNumber), to],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Where the account with this ID number is going (`moving`) or went (`moved`), if it is leaving or left. */
  async moveState(idNumber: string): Promise<{ status: 'moving' | 'moved'; to: string } | null> {
    const { rows } = await this.db.query<{ status: 'moving' | 'moved'; moved_to: string }>(
      "SELECT status, moved_to FROM natural_persons WHERE id_number_index = $1 AND status IN ('moving', 'moved')",
      [this.idNumberIndex(idNumber)],
    );
    return rows[0] ? { status: rows[0].status, to: rows[0].moved_to } : null;
  }

  /** The move failed before the new home took the account: it works here again. */
  async abortMove(subject: string): Promise<void> {
    await this.db.query(
      "UPDATE natural_persons SET status = 'active', moved_to = NULL, updated_at = now() WHERE subject = $1 AND status = 'moving'",
      [subject],
    );
  }

  /**
   * The new home holds the account (or, `duplicate`, holds the person's other account, which they
   * keep): this OP keeps only where it went, and tells the registry.
   */
  async completeMove(p: NaturalPerson, to: string, self: string, reason: 'moved' | 'duplicate' = 'moved'): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        "UPDATE natural_persons SET status = 'moved', moved_to = $2, password_hash = '', updated_at = now() WHERE subject = $1",
        [p.subject, to],
      );
      await appendAudit(tx, {
        event: reason === 'moved' ? 'account.moved_out' : 'account.duplicate_closed',
        subject: p.subject,
        detail: { to },
      });
      // The old home's side of the federation learns the move from here (the new home tells its own side).
      await this.publishHome?.inTransaction(tx, 'natural', this.idNumberOf(p), { from: self, to });
    });
    await this.publishHome?.committed('natural', this.idNumberOf(p));
  }

  /**
   * Takes in an account moving from another home (its credentials included) and publishes the new
   * home; a repeated import of the same move is answered with the account already taken in.
   */
  async importMoved(p: NewNaturalPerson, from: string, self: string): Promise<NaturalPerson> {
    const existing = await this.db.query<Row & { moved_from: string | null; status: string }>(
      `SELECT ${COLUMNS}, moved_from, status FROM natural_persons WHERE id_number_index = $1`,
      [this.idNumberIndex(p.idNumber)],
    );
    const row = existing.rows[0];
    if (row) {
      if (row.moved_from === from && row.status === 'active') return fromRow(row);
      throw new AccountExists('id_number');
    }
    try {
      const account = await this.db.transaction(async (tx) => {
        // Known here already as a recognized account: keep its subject, so this OP's relying parties see the same person.
        const linked = await tx.query<{ subject: string }>(
          "DELETE FROM recognized_accounts WHERE kind = 'natural' AND identifier_index = $1 RETURNING subject",
          [this.idNumberIndex(p.idNumber)],
        );
        const subject = linked.rows[0]?.subject ?? randomToken(16);
        const { rows } = await tx.query<Row>(
          `INSERT INTO natural_persons (subject, name, id_number_enc, id_number_index, phone_enc, phone_index, password_hash, loa, moved_from)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
          [
            subject,
            p.name,
            this.cipher.encrypt(p.idNumber, AAD_ID),
            this.idNumberIndex(p.idNumber),
            this.cipher.encrypt(p.phone, AAD_PHONE),
            this.phoneIndex(p.phone),
            p.passwordHash,
            p.loa,
            from,
          ],
        );
        await appendAudit(tx, { event: 'account.moved_in', subject, detail: { from, loa: p.loa, was_recognized: linked.rows.length > 0 } });
        await this.publishHome?.inTransaction(tx, 'natural', p.idNumber, { from, to: self });
        return fromRow(rows[0]!);
      });
      await this.publishHome?.committed('natural', p.idNumber);
      return account;
    } catch (err) {
      throw accountExistsFor(err) ?? err;
    }
  }

  idNumberOf(p: NaturalPerson): string {
    return this.cipher.decrypt(p.sealedIdNumber, AAD_ID);
  }

  phoneOf(p: NaturalPerson): string {
    return this.cipher.decrypt(p.sealedPhone, AAD_PHONE);
  }
}
