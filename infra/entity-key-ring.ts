/**
 * The rotating key set an entity authenticates itself with (its federation keys). A rotation
 * publishes the next key first and lets it sign only after `leadSeconds`, so that everyone who
 * caches the entity's keys (superiors' subordinate statements, resolvers, callees) has seen it;
 * the key it replaces stays published for verification for `graceSeconds`, then appears only
 * among the historical keys.
 *
 * Several instances of one entity share the ring through the database. The instance that rotates
 * tells the others on the entity's `entity-keys` channel, and each reloads at once; each also
 * reloads every `RELOAD_INTERVAL_MS`, for a message missed while the store was out.
 */
import type { Database, Queryable } from './database.ts';
import type { FieldCipher } from './crypto.ts';
import { DatabaseUnavailable } from './errors.ts';
import type { KeyValueStore } from './key-value-store.ts';
import type { Logger } from './log.ts';
import { decryptKey, generateKey, publicJwk, type PrivateJwk, type SigningAlg } from './entity-keys.ts';
import type { JWK } from 'jose';

const AAD = 'entity_keys.private_jwk';
const PURPOSE = 'entity';

/** Defaults: longer than every cache of entity keys in the federation (5 minutes), and than a statement's life (1 day). */
export const ROTATION_LEAD_SECONDS = 600;
export const ROTATION_GRACE_SECONDS = 24 * 3600;
/** Far within the shortest lead a rotation is normally given (ROTATION_LEAD_SECONDS). */
export const RELOAD_INTERVAL_MS = 60_000;
const ROTATED_CHANNEL = 'entity-keys';

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
  /** Where a rotation is announced to the entity's other instances, once it follows them. */
  private peers: { kv: KeyValueStore; log: Pick<Logger, 'warn'> } | null = null;

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
    // Committed already: should the announcement fail, the others catch up at their next reload.
    await this.peers?.kv
      .publish(ROTATED_CHANNEL, next.kid)
      .catch((err: unknown) =>
        this.peers?.log.warn('key rotation not announced to the other instances; they reload within a minute', { err }),
      );
    return { next, activatesAt: new Date(this.keys.find((k) => k.jwk.kid === next.kid)!.activatesAt).toISOString() };
  }

  /**
   * Follows the rotations of the entity's other instances: reloads when one is announced on `kv`
   * (the entity's store), and every `intervalMs`. Returns what stops it.
   */
  async follow(kv: KeyValueStore, log: Pick<Logger, 'warn'>, intervalMs = RELOAD_INTERVAL_MS): Promise<() => Promise<void>> {
    this.peers = { kv, log };
    const reload = () =>
      void this.reload().catch((err: unknown) => {
        // The database reports its own outage, once; the next reload catches up.
        if (!(err instanceof DatabaseUnavailable)) log.warn('federation keys not reloaded', { err });
      });
    const unsubscribe = await kv.subscribe(ROTATED_CHANNEL, reload);
    const timer = setInterval(reload, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      this.peers = null;
      await unsubscribe().catch(() => undefined);
    };
  }
}
