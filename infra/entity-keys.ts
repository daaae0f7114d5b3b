/**
 * An entity's private keys, generated on first use and kept encrypted in its `entity_keys`
 * table. Purposes are separate key sets: `oidc` signs ID tokens and other OP artifacts;
 * `entity` keys (federation keys) authenticate the entity to other entities and sign its
 * federation statements — those rotate, see entity-key-ring.ts.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Database } from './database.ts';
import { MASTER_KEY_ENV, type FieldCipher } from './crypto.ts';
import { ConfigurationError } from './errors.ts';

/** `oidc`: an OP's token signing keys (or a portal's client key); `rp`: an OP's key as a relying party of other OPs. */
export type KeyPurpose = 'oidc' | 'rp';
export type SigningAlg = 'ES256' | 'RS256';

export interface PrivateJwk extends JWK {
  kid: string;
  alg: SigningAlg;
  use: 'sig';
}

const AAD = 'entity_keys.private_jwk';

/** A key that does not decrypt means the database belongs to another master key: say so plainly. */
export function decryptKey(cipher: FieldCipher, sealed: string, schema: string): PrivateJwk {
  try {
    return JSON.parse(cipher.decrypt(sealed, AAD)) as PrivateJwk;
  } catch {
    throw new ConfigurationError(
      MASTER_KEY_ENV,
      `the keys in schema ${schema} cannot be decrypted: this database was set up with another master key (set ${MASTER_KEY_ENV}, or use the data folder it was created with)`,
    );
  }
}

export async function generateKey(alg: SigningAlg): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg, use: 'sig' };
}

/** Current (non-retired) keys of a purpose, creating one per algorithm when none exists. */
export async function loadKeys(db: Database, cipher: FieldCipher, purpose: KeyPurpose, algs: SigningAlg[]): Promise<PrivateJwk[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${db.schema}:keys:${purpose}`]);
    const { rows } = await tx.query<{ alg: SigningAlg; private_jwk: string }>(
      'SELECT alg, private_jwk FROM entity_keys WHERE purpose = $1 AND retired_at IS NULL ORDER BY created_at DESC',
      [purpose],
    );
    const keys = rows.map((r) => decryptKey(cipher, r.private_jwk, db.schema));
    for (const alg of algs) {
      if (keys.some((k) => k.alg === alg)) continue;
      const key = await generateKey(alg);
      await tx.query('INSERT INTO entity_keys (kid, purpose, alg, private_jwk) VALUES ($1, $2, $3, $4)', [
        key.kid,
        purpose,
        alg,
        cipher.encrypt(JSON.stringify(key), AAD),
      ]);
      keys.push(key);
    }
    // The preferred algorithm first: oidc-provider signs with the first key of a matching alg.
    return algs.flatMap((alg) => keys.filter((k) => k.alg === alg));
  });
}

export function publicJwk(key: PrivateJwk): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = key;
  return pub;
}
