/**
 * Clients registered explicitly by an administrator (`gov-id admin client add`). Metadata is
 * validated by oidc-provider itself when the client is first used; the secret is encrypted at rest.
 */
import { z } from 'zod';
import type { Database } from '../../infra/database.ts';
import type { FieldCipher } from '../../infra/crypto.ts';
import { randomToken } from '../../infra/crypto.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import { BadRequest } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';

const AAD = 'oidc_clients.client_secret';

/** Scopes a client gets unless the administrator says otherwise; `id_number` must be granted explicitly. */
export const DEFAULT_CLIENT_SCOPE = 'openid profile phone offline_access legal_person';

const redirectUri = z.url().refine((u) => {
  const url = new URL(u);
  // Exact, absolute redirect URIs: https, or http on loopback for development (RFC 8252 §7.3).
  return !url.hash && (url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)));
}, 'must be an absolute https URL (http only on loopback) without a fragment');

export const clientRegistration = z
  .object({
    redirect_uris: z.array(redirectUri).min(1).max(20),
    public: z.boolean().default(false),
    client_name: z.string().min(1).max(100).optional(),
    scope: z
      .string()
      .regex(/^[a-z_]+( [a-z_]+)*$/, 'space-separated scope names')
      .refine((s) => s.split(' ').includes('openid'), 'must include openid')
      .default(DEFAULT_CLIENT_SCOPE),
    post_logout_redirect_uris: z.array(redirectUri).max(20).default([]),
    backchannel_logout_uri: z.url().optional(),
    id_token_signed_response_alg: z.enum(['ES256', 'RS256']).default('ES256'),
    require_pushed_authorization_requests: z.boolean().default(false),
    client_id: z.string().regex(/^[A-Za-z0-9._~-]{8,128}$/).optional(),
  })
  .strict();

export type ClientRegistration = z.input<typeof clientRegistration>;

/**
 * Client metadata is read on every token request: it is kept in process for a few seconds, so a
 * change made through another instance takes effect everywhere within CACHE_MS.
 */
const CACHE_MS = 10_000;
const CACHE_ENTRIES = 1000;

export class ClientStore {
  private readonly cache = new Map<string, { value: Record<string, unknown> | undefined; until: number }>();

  constructor(private readonly db: Database, private readonly cipher: FieldCipher) {}

  async add(input: unknown): Promise<{ client_id: string; client_secret?: string }> {
    const reg = validate(clientRegistration, input);
    const clientId = reg.client_id ?? randomToken(16);
    const secret = reg.public ? undefined : randomToken(32);
    const metadata = {
      client_id: clientId,
      client_name: reg.client_name,
      redirect_uris: reg.redirect_uris,
      post_logout_redirect_uris: reg.post_logout_redirect_uris,
      grant_types: reg.public ? ['authorization_code', 'refresh_token'] : ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      scope: reg.scope,
      token_endpoint_auth_method: reg.public ? 'none' : 'client_secret_basic',
      id_token_signed_response_alg: reg.id_token_signed_response_alg,
      require_pushed_authorization_requests: reg.require_pushed_authorization_requests,
      ...(reg.backchannel_logout_uri ? { backchannel_logout_uri: reg.backchannel_logout_uri, backchannel_logout_session_required: true } : {}),
    };
    await this.db.transaction(async (tx) => {
      const r = await tx.query('INSERT INTO oidc_clients (client_id, metadata, client_secret_enc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        clientId,
        JSON.stringify(metadata),
        secret ? this.cipher.encrypt(secret, AAD) : null,
      ]);
      if (r.rowCount !== 1) throw new BadRequest('invalid_client_metadata', `client_id ${clientId} is already registered`);
      await appendAudit(tx, { event: 'client.registered', clientId, detail: { redirect_uris: reg.redirect_uris, public: reg.public } });
    });
    this.cache.delete(clientId);
    return secret ? { client_id: clientId, client_secret: secret } : { client_id: clientId };
  }

  /** Registers a client the OP itself uses, unless it exists already. */
  async ensure(input: ClientRegistration & { client_id: string }): Promise<void> {
    if (!(await this.find(input.client_id))) await this.add(input).catch(async (err) => {
      // Another instance registered it in the meantime.
      if (!(await this.find(input.client_id))) throw err;
    });
  }

  async find(clientId: string): Promise<Record<string, unknown> | undefined> {
    const hit = this.cache.get(clientId);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = await this.load(clientId);
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(clientId, { value, until: Date.now() + CACHE_MS });
    return value;
  }

  private async load(clientId: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await this.db.query<{ metadata: Record<string, unknown>; client_secret_enc: string | null }>(
      'SELECT metadata, client_secret_enc FROM oidc_clients WHERE client_id = $1',
      [clientId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return row.client_secret_enc ? { ...row.metadata, client_secret: this.cipher.decrypt(row.client_secret_enc, AAD) } : row.metadata;
  }

  async remove(clientId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM oidc_clients WHERE client_id = $1', [clientId]);
      await appendAudit(tx, { event: 'client.removed', clientId });
    });
    this.cache.delete(clientId);
  }
}
