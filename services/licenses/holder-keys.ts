/**
 * Custodial holder keys: the key a licence is bound to (`cnf`) and its holder's presentations are
 * signed with (Key Binding, RFC 9901 §4.3). The portal's pages work without scripts, so no key can
 * live in the person's browser: the platform keeps one key per holder, encrypted at rest, and
 * signs a presentation only when the signed-in holder asks for it (docs/licenses.md).
 */
import type { FieldCipher } from '../../infra/crypto.ts';
import type { Queryable } from '../../infra/database.ts';
import { generateKey, publicJwk, type PrivateJwk } from '../../infra/entity-keys.ts';
import type { JWK } from 'jose';

const AAD = 'license_holder_keys.private_jwk';

export class HolderKeys {
  constructor(private readonly cipher: FieldCipher) {}

  /** The holder's key, created on first use (in the issuing transaction). */
  async ensure(tx: Queryable, holderIndex: string): Promise<JWK> {
    const existing = await this.find(tx, holderIndex);
    if (existing) return publicJwk(existing);
    const key = await generateKey('ES256');
    await tx.query('INSERT INTO license_holder_keys (holder_index, private_jwk) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      holderIndex,
      this.cipher.encrypt(JSON.stringify(key), AAD),
    ]);
    // Another issuance for the same holder may have created it first.
    return publicJwk((await this.find(tx, holderIndex))!);
  }

  async find(db: Queryable, holderIndex: string): Promise<PrivateJwk | null> {
    const { rows } = await db.query<{ private_jwk: string }>('SELECT private_jwk FROM license_holder_keys WHERE holder_index = $1', [
      holderIndex,
    ]);
    return rows[0] ? (JSON.parse(this.cipher.decrypt(rows[0].private_jwk, AAD)) as PrivateJwk) : null;
  }
}
