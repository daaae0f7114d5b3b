/**
 * The rotating key set an entity authenticates itself with (its federation keys). A rotation
 * publishes the next key first and lets it sign only after `leadSeconds`, so that everyone who
 * caches the entity's keys (superiors' subordinate statements, resolvers, callees) has seen it;
 * the key it replaces stays published for verification for `graceSeconds`, then appears only
 * among the historical keys.
 */
import type { Database, Queryable } from './database.ts';
import type { FieldCipher } from './crypto.ts';
import { decryptKey, generateKey, publicJwk, type PrivateJwk, type SigningAlg } from './entity-keys.ts';
import type { JWK } from 'jose';

const AAD = 'entity_keys.private_jwk';
const PURPOSE = 'entity';

/** Defaults: longer than every cache of entity keys in the federation (5 minutes), and than a statement's life (1 day). */
export const ROTATION_LEAD_SECONDS = 600;
export const ROTATION_GRACE_SECONDS = 24 * 3600;

interface RingKey {
  jwk: PrivateJwk;
  activatesAt: number;
  retiredAt: number | null;
}

export interface HistoricalKey extends JWK {
  iat: number;
  exp: number;
}

export class EntityKeyRing {
  private keys: RingKey[] = [];

  private constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly alg: SigningAlg,
  ) {}

  /**
   * Loads the ring, creating its first key when there is none: under a lock, so that instances
   * of one entity starting together (`--workers`) create one key, not one each.
   */
  static async open(db: Database, cipher: FieldCipher, alg: SigningAlg = 'ES256'): Promise<EntityKeyRing> {
    const ring = new EntityKeyRing(db, cipher, alg);
    await ring.reload();
    if (ring.keys.some((k) => k.retiredAt === null)) return ring;
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${db.schema}:keys:${PURPOSE}`]);
      const { rows } = await tx.query('SELECT 1 FROM entity_keys WHERE purpose = $1 AND retired_at IS NULL LIMIT 1', [PURPOSE]);
      if (!rows.length) await ring.insertKey(tx, 0);
    });
    await ring.reload();
    return ring;
  }

  async reload(): Promise<void> {
    const { rows } = await this.db.query<{ private_jwk: string; activates_at: Date; retired_at: Date | null }>(
      'SELECT private_jwk, activates_at, retired_at FROM entity_keys WHERE purpose = $1 ORDER BY activates_at DESC, created_at DESC',
      [PURPOSE],
    );
    this.keys = rows.map((r) => ({
      jwk: decryptKey(this.cipher, r.private_jwk, this.db.schema),
      activatesAt: new Date(r.activates_at).getTime(),
      retiredAt: r.retired_at ? new Date(r.retired_at).getTime() : null,
    }));
  }

  private async insertKey(db: Queryable, leadSeconds: number): Promise<PrivateJwk> {
    const jwk = await generateKey(this.alg);
    await db.query(
      `INSERT INTO entity_keys (kid, purpose, alg, private_jwk, activates_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::int))`,
      [jwk.kid, PURPOSE, jwk.alg, this.cipher.encrypt(JSON.stringify(jwk), AAD), leadSeconds],
    );
    return jwk;
  }

  private live(now: number) {
    return this.keys.filter((k) => k.retiredAt === null || k.retiredAt > now);
  }

  /** The newest key that is active now. */
  signingKey(now = Date.now()): PrivateJwk {
    const active = this.live(now).find((k) => k.activatesAt <= now);
    return (active ?? this.live(now)[this.live(now).length - 1] ?? this.keys[0]!).jwk;
  }

  /** Every published key, the signing key first (the order entity statements want). */
  published(now = Date.now()): PrivateJwk[] {
    const signing = this.signingKey(now);
    return [
      signing,
      ...this.live(now)
        .map((k) => k.jwk)
        .filter((k) => k.kid !== signing.kid),
    ];
  }

  /** Keys no longer published, with when they were used (for the historical keys endpoint). */
  historical(now = Date.now()): HistoricalKey[] {
    return this.keys
      .filter((k) => k.retiredAt !== null && k.retiredAt <= now)
      .map((k) => ({ ...publicJwk(k.jwk), iat: Math.floor(k.activatesAt / 1000), exp: Math.floor(k.retiredAt! / 1000) }));
  }

  /** Publishes a new key that signs after `leadSeconds`; the keys it replaces retire `graceSeconds` after that. */
  async rotate(
    leadSeconds = ROTATION_LEAD_SECONDS,
    graceSeconds = ROTATION_GRACE_SECONDS,
  ): Promise<{ next: PrivateJwk; activatesAt: string }> {
    await this.db.query(
      `UPDATE entity_keys SET retired_at = now() + make_interval(secs => $2::int) WHERE purpose = $1 AND retired_at IS NULL`,
      [PURPOSE, leadSeconds + graceSeconds],
    );
    const next = await this.insertKey(this.db, leadSeconds);
    await this.reload();
    return { next, activatesAt: new Date(this.keys.find((k) => k.jwk.kid === next.kid)!.activatesAt).toISOString() };
  }
}
