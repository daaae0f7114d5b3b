/**
 * Stands in for the SMS gateway: OPs hand it one-time codes, it keeps them. In demo mode the
 * messages for a number can be read back, which is how people and tests receive their codes.
 */
import type { Database, Queryable } from '../../infra/database.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { parsePhone } from '../../infra/identifiers.ts';

const AAD = 'message_outbox.to';

export interface OutboxMessage {
  to: string;
  body: string;
  sender: string;
  sent_at: string;
}

export class MessageOutbox {
  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly index: BlindIndex,
  ) {}

  /** `db`: the transaction of the step the message tells of, so that the step and its message commit together. */
  async send(to: string, body: string, sender: string, db: Queryable = this.db): Promise<void> {
    const phone = parsePhone(to);
    await db.query('INSERT INTO message_outbox (to_index, to_enc, body, sender) VALUES ($1, $2, $3, $4)', [
      this.index.of('phone', phone),
      this.cipher.encrypt(phone, AAD),
      body,
      sender,
    ]);
  }

  /** Newest first. */
  async readFor(to: string, limit = 20): Promise<OutboxMessage[]> {
    const phone = parsePhone(to);
    const { rows } = await this.db.query<{ to_enc: string; body: string; sender: string; created_at: Date }>(
      'SELECT to_enc, body, sender, created_at FROM message_outbox WHERE to_index = $1 ORDER BY id DESC LIMIT $2',
      [this.index.of('phone', phone), limit],
    );
    return rows.map((r) => ({
      to: this.cipher.decrypt(r.to_enc, AAD),
      body: r.body,
      sender: r.sender,
      sent_at: new Date(r.created_at).toISOString(),
    }));
  }
}
