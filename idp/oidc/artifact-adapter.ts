/**
 * oidc-provider's storage adapter. Long-lived artifacts (grants, refresh tokens) go to
 * PostgreSQL; short-lived protocol state (sessions, interactions, codes, PAR, access tokens,
 * replay detection) goes to the key-value store with its TTL. Clients are read from the
 * administrator-managed client table.
 */
import { errors, type Adapter, type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '../../infra/database.ts';
import type { KeyValueStore, KeyValueWrite } from '../../infra/key-value-store.ts';
import { DatabaseUnavailable, StoreUnavailable } from '../../infra/errors.ts';
import type { ClientStore } from './client-store.ts';
import { hasUnfitCharacter } from '../../infra/request-guard.ts';
import { currentProviderRequest, PerProviderRequest } from './provider-request.ts';

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

/** Models oidc-provider consumes: their consumed-marker is read along with them. */
const CONSUMABLE = new Set(['AuthorizationCode', 'PushedAuthorizationRequest', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/** Every operation answers a store outage as ProtocolStateUnavailable; each is one round trip to the store. */
class KeyValueAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly kv: KeyValueStore,
    private readonly revokeGrant: RevokeGrant,
  ) {}

  private key(id: string) {
    return `oidc:${this.model}:${id}`;
  }

  /** Set once the artifact is used, to the time it was (epoch seconds); it outlives the artifact. */
  private consumedKey(id: string) {
    return `oidc:consumed:${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    // Saved back after it was taken (oidc-provider does when the resume switches accounts): stored again.
    const scope = this.model === 'Interaction' ? perRequest.of() : undefined;
    if (scope?.taken === id) scope.taken = undefined;
    const ttl = Math.max(1, expiresIn);
    const writes: KeyValueWrite[] = [{ set: this.key(id), value: JSON.stringify(payload), ttlSeconds: ttl }];
    if (payload.grantId) writes.push({ addToSet: `oidc:grant:${this.model}:${payload.grantId}`, member: id, ttlSeconds: ttl });
    if (payload.uid) writes.push({ set: `oidc:uid:${this.model}:${payload.uid}`, value: id, ttlSeconds: ttl });
    if (payload.userCode) writes.push({ set: `oidc:user_code:${this.model}:${payload.userCode}`, value: id, ttlSeconds: ttl });
    // A logout arriving from another OP names an account, not a browser: find its sessions.
    if (this.model === 'Session' && payload.accountId && payload.uid)
      writes.push({ addToSet: accountSessionsKey(payload.accountId), member: payload.uid, ttlSeconds: ttl });
    await this.kv.writeAll(writes).catch(inProviderTerms);
  }

  async find(id: string) {
    if (this.model === 'Interaction' && resuming()) return this.take(id);
    if (!CONSUMABLE.has(this.model)) {
      const raw = await this.kv.get(this.key(id)).catch(inProviderTerms);
      return raw ? (JSON.parse(raw) as AdapterPayload) : undefined;
    }
    const [raw, consumed] = await this.kv.getMany([this.key(id), this.consumedKey(id)]).catch(inProviderTerms);
    if (!raw) return undefined;
    const payload = JSON.parse(raw) as AdapterPayload;
    return consumed ? { ...payload, consumed: Number(consumed) } : payload;
  }

  /**
   * The interaction the authorization request resumes, read and deleted in one round trip: the
   * resume uses it up (oidc-provider destroys it next; `destroy` has nothing left to do), and of
   * two concurrent resumes of one interaction only one finds it.
   */
  private async take(id: string) {
    const raw = await this.kv.take(this.key(id)).catch(inProviderTerms);
    if (!raw) return undefined;
    perRequest.of()!.taken = id;
    return JSON.parse(raw) as AdapterPayload;
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
    // Whoever sets the marker owns the artifact. A missing artifact means a concurrent replay
    // already revoked the grant, so that is a replay too.
    const { set: first, value: raw } = await this.kv
      .setIfAbsentAndGet(this.consumedKey(id), String(epoch()), CONSUMED_MARK_SECONDS, this.key(id))
      .catch(inProviderTerms);
    if (first && raw) return;
    const grantId = raw ? (JSON.parse(raw) as AdapterPayload).grantId : undefined;
    if (grantId) await this.revokeGrant(grantId);
    throw new ReplayDetected(this.model);
  }

  async destroy(id: string) {
    const scope = this.model === 'Interaction' ? perRequest.of() : undefined;
    if (scope?.taken === id) return void (scope.taken = undefined);
    await this.kv.del(this.key(id)).catch(inProviderTerms);
  }

  async revokeByGrantId(grantId: string) {
    const setKey = `oidc:grant:${this.model}:${grantId}`;
    const ids = await this.kv.members(setKey).catch(inProviderTerms);
    await this.kv.del(setKey, ...ids.map((id) => this.key(id))).catch(inProviderTerms);
  }
}

/**
 * What the request oidc-provider is serving has read or put off, so that a refresh grant is two
 * statements: the grant is read with the refresh token that names it (or with the earlier grant
 * an authorization carries consent over from), and the presented token is consumed by the
 * statement that stores its successor. And the interaction a resumed authorization took.
 */
interface RequestArtifacts {
  /** Grants read along with something else, each handed out once. */
  grants: Map<string, AdapterPayload | undefined>;
  /** The refresh token whose consumption waits for its successor. */
  consuming?: string;
  /** The interaction taken from the store by this request (resuming it), not stored since. */
  taken?: string;
}
const perRequest = new PerProviderRequest<RequestArtifacts>(() => ({ grants: new Map() }));

/** Whether the request oidc-provider is serving resumes an authorization after its interaction. */
const resuming = () => (currentProviderRequest() as Partial<KoaContextWithOIDC> | undefined)?.oidc?.route === 'resume';

type ArtifactRow = { payload: AdapterPayload; consumed: number | null };
const withConsumed = (row: ArtifactRow) => (row.consumed ? { ...row.payload, consumed: row.consumed } : row.payload);
const EXPIRES = (secondsParam: string) => `CASE WHEN ${secondsParam}::int > 0 THEN now() + make_interval(secs => ${secondsParam}::int) END`;

/**
 * Something read in the statement that reads a refresh token or a grant, about the account it
 * names: `sql` is a scalar SQL expression of the account ID's expression, `take` gets its non-null
 * value. The account's lookup later in the same request (the refresh grant's, the code exchange's)
 * then needs no statement.
 */
export interface ReadWithAccount {
  sql(accountId: string): string;
  take(accountId: string, value: unknown): void;
}

class DatabaseAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly db: Database,
    private readonly revokeGrant: RevokeGrant,
    private readonly withAccount?: ReadWithAccount,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    const scope = perRequest.of();
    if (this.model === 'Grant') scope?.grants.delete(id);
    const consuming = this.model === 'RefreshToken' ? scope?.consuming : undefined;
    if (consuming !== undefined) {
      scope!.consuming = undefined;
      return this.rotate(consuming, id, payload, expiresIn);
    }
    await this.db.query(
      `INSERT INTO oidc_artifacts (model, id, payload, grant_id, expires_at) VALUES ($1, $2, $3, $4, ${EXPIRES('$5')})
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, expires_at = EXCLUDED.expires_at`,
      [this.model, id, JSON.stringify(payload), payload.grantId ?? null, expiresIn ?? 0],
    );
  }

  /**
   * Consumes the presented refresh token and stores its successor, in one statement: the
   * successor exists only if this request was the one to consume the token. Row locking makes it
   * atomic: of two concurrent rotations of one token only one finds consumed_at empty; the other
   * is a replay, and revokes the grant.
   */
  private async rotate(presented: string, id: string, payload: AdapterPayload, expiresIn: number) {
    const stored = await this.db.query(
      `WITH consumed AS (
         UPDATE oidc_artifacts SET consumed_at = now() WHERE model = 'RefreshToken' AND id = $1 AND consumed_at IS NULL RETURNING id)
       INSERT INTO oidc_artifacts (model, id, payload, grant_id, expires_at)
       SELECT 'RefreshToken', $2::text, $3::jsonb, $4::text, ${EXPIRES('$5')} FROM consumed`,
      [presented, id, JSON.stringify(payload), payload.grantId ?? null, expiresIn ?? 0],
    );
    if (stored.rowCount === 1) return;
    if (payload.grantId) await this.revokeGrant(payload.grantId);
    throw new ReplayDetected(this.model);
  }

  async find(id: string) {
    if (unstorable(id)) return undefined;
    if (this.model === 'RefreshToken') return this.findWithGrant(id);
    const scope = this.model === 'Grant' ? perRequest.of() : undefined;
    if (scope?.grants.has(id)) {
      const grant = scope.grants.get(id);
      scope.grants.delete(id);
      return grant;
    }
    // A grant is read by the request that is about to look up its account (the code exchange, single sign-on, userinfo).
    const also = this.model === 'Grant' ? this.withAccount : undefined;
    const { rows } = await this.db.query<ArtifactRow & { account?: unknown }>(
      `SELECT payload, extract(epoch FROM consumed_at)::int AS consumed${also ? `, ${also.sql("payload->>'accountId'")} AS account` : ''}
       FROM oidc_artifacts WHERE model = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > now())`,
      [this.model, id],
    );
    const row = rows[0];
    if (!row) return undefined;
    this.tookAccount(row);
    return withConsumed(row);
  }

  /** Hands what `withAccount` read along with an artifact to the account lookup of this request. */
  private tookAccount(row: ArtifactRow & { account?: unknown }) {
    if (this.withAccount && row.account != null && typeof row.payload.accountId === 'string')
      this.withAccount.take(row.payload.accountId, row.account);
  }

  /**
   * A refresh token, with its grant read in the same statement for the grant oidc-provider loads
   * next (and what `withAccount` reads about its account, for the account lookup after that).
   */
  private async findWithGrant(id: string) {
    const also = this.withAccount;
    const { rows } = await this.db.query<ArtifactRow & { grant_id: string | null; grant: AdapterPayload | null; account: unknown }>(
      `SELECT t.payload, extract(epoch FROM t.consumed_at)::int AS consumed, t.grant_id, g.payload AS grant${also ? `, ${also.sql("t.payload->>'accountId'")} AS account` : ''}
       FROM oidc_artifacts t
       LEFT JOIN oidc_artifacts g ON g.model = 'Grant' AND g.id = t.grant_id AND (g.expires_at IS NULL OR g.expires_at > now())
       WHERE t.model = 'RefreshToken' AND t.id = $1 AND (t.expires_at IS NULL OR t.expires_at > now())`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.grant_id) perRequest.of()?.grants.set(row.grant_id, row.grant ?? undefined);
    this.tookAccount(row);
    return withConsumed(row);
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(id: string) {
    // A refresh token being rotated is consumed when its successor is stored (rotate), unless
    // this request is not oidc-provider's or already rotates another one.
    const scope = this.model === 'RefreshToken' ? perRequest.of() : undefined;
    if (scope && scope.consuming === undefined) {
      scope.consuming = id;
      return;
    }
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
    if (this.model === 'Grant') perRequest.of()?.grants.delete(id);
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

/**
 * The newest live grant a person gave a client, if any (never one bound to an acting person).
 * Read whole: oidc-provider loading it next in the same request finds it without a query.
 */
export async function latestGrantId(db: Database, accountId: string, clientId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string; payload: AdapterPayload }>(
    `SELECT id, payload FROM oidc_artifacts WHERE model = 'Grant' AND payload->>'accountId' = $1 AND payload->>'clientId' = $2
       AND (expires_at IS NULL OR expires_at > now())
       AND NOT EXISTS (SELECT 1 FROM grant_actors g WHERE g.grant_id = oidc_artifacts.id)
     ORDER BY expires_at DESC NULLS LAST LIMIT 1`,
    [accountId, clientId],
  );
  const row = rows[0];
  if (row) perRequest.of()?.grants.set(row.id, row.payload);
  return row?.id;
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
export function artifactAdapter(
  db: Database,
  kv: KeyValueStore,
  clients: ClientStore,
  federation?: FederationClientResolver,
  withAccount?: ReadWithAccount,
) {
  const make = (model: string): Adapter => {
    if (model === 'Client') return answeringOutages(new ClientAdapter(clients, federation));
    return LONG_LIVED.has(model)
      ? answeringOutages(new DatabaseAdapter(model, db, revokeGrant, withAccount))
      : new KeyValueAdapter(model, kv, revokeGrant);
  };
  const revokeGrant: RevokeGrant = async (grantId) => {
    await Promise.all([...GRANT_BOUND.map((m) => make(m).revokeByGrantId(grantId)), make('Grant').destroy(grantId)]);
  };
  return make;
}
