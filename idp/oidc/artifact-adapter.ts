/**
 * oidc-provider's storage adapter. Long-lived artifacts (grants, refresh tokens) go to
 * PostgreSQL; short-lived protocol state (sessions, interactions, codes, PAR, access tokens,
 * replay detection) goes to the key-value store with its TTL. Clients are read from the
 * administrator-managed client table.
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Database } from '../../infra/database.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import { DatabaseUnavailable, StoreUnavailable } from '../../infra/errors.ts';
import type { ClientStore } from './client-store.ts';
import { hasUnfitCharacter } from '../../infra/request-guard.ts';

const LONG_LIVED = new Set(['Grant', 'RefreshToken']);
/** Models whose artifacts belong to a grant and die with it. */
const GRANT_BOUND = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'];

/**
 * oidc-provider reads an artifact, checks it is not consumed, then consumes it: two concurrent
 * uses of one code or refresh token could both pass. consume() is therefore atomic here, and the
 * loser of the race is treated as a replay: the whole grant is revoked and the request refused.
 */
class ReplayDetected extends errors.InvalidGrant {
  constructor(model: string) {
    super(`${{ RefreshToken: 'refresh token', AuthorizationCode: 'authorization code' }[model] ?? model} already used`);
  }
}

/** The outages of what the OP keeps its state in. */
type StorageUnavailable = StoreUnavailable | DatabaseUnavailable;

/**
 * The key-value store or the database is out, in oidc-provider's terms: it answers 503
 * temporarily_unavailable (JSON, or our error page), never a redirect, since the request may not
 * have been checked yet. `cause` is the storage's own error, which our routes answer the same way.
 */
export class ProtocolStateUnavailable extends errors.OIDCProviderError {
  override readonly cause: StorageUnavailable;
  constructor(cause: StorageUnavailable) {
    super(503, 'temporarily_unavailable', { cause });
    this.cause = cause;
    this.expose = true;
    this.allow_redirect = false;
    this.error_description = 'the service is temporarily unavailable, try again later';
  }
}

/** Rethrows a storage outage in oidc-provider's terms: for storage calls that oidc-provider makes, through us. */
export const inProviderTerms = (err: unknown): never => {
  throw err instanceof StoreUnavailable || err instanceof DatabaseUnavailable ? new ProtocolStateUnavailable(err) : err;
};

/** Every operation of `adapter` answers a storage outage as ProtocolStateUnavailable. */
function answeringOutages(adapter: Adapter): Adapter {
  return {
    upsert: (id, payload, expiresIn) => adapter.upsert(id, payload, expiresIn).catch(inProviderTerms),
    find: (id) => adapter.find(id).catch(inProviderTerms),
    findByUid: (uid) => adapter.findByUid(uid).catch(inProviderTerms),
    findByUserCode: (userCode) => adapter.findByUserCode(userCode).catch(inProviderTerms),
    consume: (id) => adapter.consume(id).catch(inProviderTerms),
    destroy: (id) => adapter.destroy(id).catch(inProviderTerms),
    revokeByGrantId: (grantId) => adapter.revokeByGrantId(grantId).catch(inProviderTerms),
  };
}

/** The uids of an account's sessions at this OP (entries may outlive their session). */
export const accountSessionsKey = (accountId: string) => `oidc:account-sessions:${accountId}`;

const epoch = () => Math.floor(Date.now() / 1000);

/**
 * oidc-provider takes ids from cookies, headers and JWT claims as well as from parameters: an id
 * no stored one can equal (PostgreSQL text holds no NUL) is simply not found, never a query.
 */
const unstorable = (id: string) => hasUnfitCharacter(id);
/** How long a consumed-marker outlives its artifact at most (longer than any short-lived artifact). */
const CONSUMED_MARK_SECONDS = 24 * 3600;

type RevokeGrant = (grantId: string) => Promise<void>;

/** Every operation answers a store outage as ProtocolStateUnavailable. */
class KeyValueAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly kv: KeyValueStore,
    private readonly revokeGrant: RevokeGrant,
  ) {}

  private key(id: string) {
    return `oidc:${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    const ttl = Math.max(1, expiresIn);
    // Sent together: one round trip to the store rather than one per index.
    await Promise.all([
      this.kv.set(this.key(id), JSON.stringify(payload), ttl),
      payload.grantId && this.kv.addToSet(`oidc:grant:${this.model}:${payload.grantId}`, id, ttl),
      payload.uid && this.kv.set(`oidc:uid:${this.model}:${payload.uid}`, id, ttl),
      payload.userCode && this.kv.set(`oidc:user_code:${this.model}:${payload.userCode}`, id, ttl),
      // A logout arriving from another OP names an account, not a browser: find its sessions.
      this.model === 'Session' &&
        payload.accountId &&
        payload.uid &&
        this.kv.addToSet(accountSessionsKey(payload.accountId), payload.uid, ttl),
    ]).catch(inProviderTerms);
  }

  async find(id: string) {
    const raw = await this.kv.get(this.key(id)).catch(inProviderTerms);
    return raw ? (JSON.parse(raw) as AdapterPayload) : undefined;
  }

  async findByUid(uid: string) {
    const id = await this.kv.get(`oidc:uid:${this.model}:${uid}`).catch(inProviderTerms);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode: string) {
    const id = await this.kv.get(`oidc:user_code:${this.model}:${userCode}`).catch(inProviderTerms);
    return id ? this.find(id) : undefined;
  }

  async consume(id: string) {
    await this.consumeOnce(id).catch(inProviderTerms);
  }

  private async consumeOnce(id: string) {
    // The marker is set first: whoever sets it owns the artifact. A missing artifact means a
    // concurrent replay already revoked the grant, so that is a replay too.
    const first = await this.kv.setIfAbsent(`oidc:consumed:${this.model}:${id}`, '1', CONSUMED_MARK_SECONDS);
    const [raw, ttl] = await Promise.all([this.kv.get(this.key(id)), this.kv.ttl(this.key(id))]);
    const payload = raw ? (JSON.parse(raw) as AdapterPayload) : null;
    if (!first || !payload) {
      if (payload?.grantId) await this.revokeGrant(payload.grantId);
      throw new ReplayDetected(this.model);
    }
    await this.kv.set(this.key(id), JSON.stringify({ ...payload, consumed: epoch() }), ttl > 0 ? ttl : undefined);
  }

  async destroy(id: string) {
    await this.kv.del(this.key(id)).catch(inProviderTerms);
  }

  async revokeByGrantId(grantId: string) {
    const setKey = `oidc:grant:${this.model}:${grantId}`;
    const ids = await this.kv.members(setKey).catch(inProviderTerms);
    await this.kv.del(setKey, ...ids.map((id) => this.key(id))).catch(inProviderTerms);
  }
}

class DatabaseAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly db: Database,
    private readonly revokeGrant: RevokeGrant,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    await this.db.query(
      `INSERT INTO oidc_artifacts (model, id, payload, grant_id, expires_at)
       VALUES ($1, $2, $3, $4, CASE WHEN $5::int > 0 THEN now() + make_interval(secs => $5::int) END)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, expires_at = EXCLUDED.expires_at`,
      [this.model, id, JSON.stringify(payload), payload.grantId ?? null, expiresIn ?? 0],
    );
  }

  async find(id: string) {
    if (unstorable(id)) return undefined;
    const { rows } = await this.db.query<{ payload: AdapterPayload; consumed: number | null }>(
      `SELECT payload, extract(epoch FROM consumed_at)::int AS consumed FROM oidc_artifacts
       WHERE model = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > now())`,
      [this.model, id],
    );
    const row = rows[0];
    if (!row) return undefined;
    return row.consumed ? { ...row.payload, consumed: row.consumed } : row.payload;
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(id: string) {
    // Row locking makes this atomic: of two concurrent updates only one finds consumed_at empty.
    const done = await this.db.query('UPDATE oidc_artifacts SET consumed_at = now() WHERE model = $1 AND id = $2 AND consumed_at IS NULL', [
      this.model,
      id,
    ]);
    if (done.rowCount === 1) return;
    // Already consumed, or deleted by a concurrent replay's revocation: a replay either way.
    const { rows } = await this.db.query<{ grant_id: string | null }>('SELECT grant_id FROM oidc_artifacts WHERE model = $1 AND id = $2', [
      this.model,
      id,
    ]);
    if (rows[0]?.grant_id) await this.revokeGrant(rows[0].grant_id);
    throw new ReplayDetected(this.model);
  }

  async destroy(id: string) {
    await this.db.query('DELETE FROM oidc_artifacts WHERE model = $1 AND id = $2', [this.model, id]);
  }

  async revokeByGrantId(grantId: string) {
    await this.db.query('DELETE FROM oidc_artifacts WHERE model = $1 AND grant_id = $2', [this.model, grantId]);
  }
}

/**
 * Undoes a refresh token's rotation whose answer never reached the client: the presented token is
 * unused again and its successor, never delivered, is gone. A token a replay revoked meanwhile
 * stays revoked (its row is gone, nothing is restored).
 */
export async function undoRotation(db: Database, presentedId: string, successorId: string): Promise<void> {
  await db.query(
    `WITH successor AS (DELETE FROM oidc_artifacts WHERE model = 'RefreshToken' AND id = $2)
     UPDATE oidc_artifacts SET consumed_at = NULL WHERE model = 'RefreshToken' AND id = $1`,
    [presentedId, successorId],
  );
}

/** Metadata of a client accepted through the federation (automatic registration), or null. */
export type FederationClientResolver = (clientId: string) => Promise<Record<string, unknown> | null>;

class ClientAdapter implements Adapter {
  constructor(
    private readonly clients: ClientStore,
    private readonly federation?: FederationClientResolver,
  ) {}

  /** Clients an administrator registered come first; then entities of the federation. */
  async find(id: string) {
    if (unstorable(id)) return undefined;
    const explicit = await this.clients.find(id);
    if (explicit) return explicit as AdapterPayload;
    return ((await this.federation?.(id)) ?? undefined) as AdapterPayload | undefined;
  }

  async upsert(): Promise<void> {
    throw new Error('clients are registered through the admin API');
  }

  async destroy(id: string) {
    await this.clients.remove(id);
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}

/** The newest live grant a person gave a client, if any (never one bound to an acting person). */
export async function latestGrantId(db: Database, accountId: string, clientId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM oidc_artifacts WHERE model = 'Grant' AND payload->>'accountId' = $1 AND payload->>'clientId' = $2
       AND (expires_at IS NULL OR expires_at > now())
       AND NOT EXISTS (SELECT 1 FROM grant_actors g WHERE g.grant_id = oidc_artifacts.id)
     ORDER BY expires_at DESC NULLS LAST LIMIT 1`,
    [accountId, clientId],
  );
  return rows[0]?.id;
}

/** Whether a client was ever granted anything for the account (live grants only). */
export async function hasGrant(db: Database, accountId: string, clientId: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM oidc_artifacts WHERE model = 'Grant' AND payload->>'accountId' = $1 AND payload->>'clientId' = $2 AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
    [accountId, clientId],
  );
  return rows.length > 0;
}

/** oidc-provider calls this once per model name. */
export function artifactAdapter(db: Database, kv: KeyValueStore, clients: ClientStore, federation?: FederationClientResolver) {
  const make = (model: string): Adapter => {
    if (model === 'Client') return answeringOutages(new ClientAdapter(clients, federation));
    return LONG_LIVED.has(model)
      ? answeringOutages(new DatabaseAdapter(model, db, revokeGrant))
      : new KeyValueAdapter(model, kv, revokeGrant);
  };
  const revokeGrant: RevokeGrant = async (grantId) => {
    await Promise.all([...GRANT_BOUND.map((m) => make(m).revokeByGrantId(grantId)), make('Grant').destroy(grantId)]);
  };
  return make;
}
