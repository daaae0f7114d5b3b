/**
 * Clients registered explicitly by an administrator (`gov-id admin client add`). Metadata is
 * validated by oidc-provider itself when the client is first used; the secret is encrypted at rest.
 * A client that registers keys (`jwks`) authenticates with private_key_jwt and has no secret.
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { PRIVATE_MEMBERS } from '../../federation/trust-chain.ts';
import { LOOPBACK_HOSTS } from '../../infra/loopback.ts';
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
  return !url.hash && (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)));
}, 'must be an absolute https URL (http only on loopback) without a fragment');

/** The key in use and its successors while a client rotates. */
const MAX_CLIENT_KEYS = 3;
const MIN_RSA_BITS = 2048;

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');
const keyId = z.string('a key needs a kid').min(1).max(100);
const signatureUse = z.literal('sig', 'a client assertion key has use "sig" (or none)').optional();

/**
 * A client's public key for private_key_jwt. Private members are refused before anything else, so
 * the message names them whatever else is wrong. The algorithms are those the OP accepts for client
 * assertions (provider-config's clientAuthSigningAlgValues); an RSA key signs with either of two,
 * so it must say which.
 */
const clientJwk = z
  .record(z.string(), z.unknown())
  .superRefine((key, ctx) => {
    for (const member of PRIVATE_MEMBERS) {
      if (member in key) ctx.addIssue({ code: 'custom', path: [member], message: 'private key material: register the public key only' });
    }
  })
  .pipe(
    z.discriminatedUnion(
      'kty',
      [
        z.object({
          kty: z.literal('EC'),
          kid: keyId,
          use: signatureUse,
          crv: z.literal('P-256', 'EC keys must be on P-256'),
          x: base64url,
          y: base64url,
          alg: z.literal('ES256', 'an EC P-256 key signs with ES256').default('ES256'),
        }),
        z.object({
          kty: z.literal('RSA'),
          kid: keyId,
          use: signatureUse,
          n: base64url,
          e: base64url,
          alg: z.enum(['RS256', 'PS256'], 'an RSA key names its algorithm: RS256 or PS256'),
        }),
      ],
      { error: 'kty must be EC (P-256) or RSA' },
    ),
  )
  .superRefine((key, ctx) => {
    let bits: number | undefined;
    try {
      // Checks the key itself: an EC point on the curve, a well-formed RSA modulus.
      bits = createPublicKey({ key, format: 'jwk' }).asymmetricKeyDetails?.modulusLength;
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a valid ${key.kty} public key` });
      return;
    }
    if (key.kty === 'RSA' && (bits ?? 0) < MIN_RSA_BITS)
      ctx.addIssue({ code: 'custom', path: ['n'], message: `an RSA key of ${bits} bits: at least ${MIN_RSA_BITS} are required` });
  });

const clientJwks = z
  .object({ keys: z.array(clientJwk).min(1).max(MAX_CLIENT_KEYS) })
  .strict()
  .refine(({ keys }) => new Set(keys.map((k) => k.kid)).size === keys.length, {
    path: ['keys'],
    message: 'each key needs a kid of its own',
  })
  // The client's token_endpoint_auth_signing_alg is one algorithm.
  .refine(({ keys }) => new Set(keys.map((k) => k.alg)).size === 1, {
    path: ['keys'],
    message: 'the keys must all sign with one algorithm',
  });

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
    client_id: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{8,128}$/)
      .optional(),
    jwks: clientJwks.optional(),
  })
  .strict()
  .refine((r) => !(r.public && r.jwks), { path: ['jwks'], message: 'a public client has no keys: give either public or jwks' });

export type ClientRegistration = z.input<typeof clientRegistration>;

/**
 * Client metadata is read on every token request: it is kept in process for a few seconds, so a
 * change made through another instance takes effect everywhere within CACHE_MS.
 */
const CACHE_MS = 10_000;
const CACHE_ENTRIES = 1000;

export class ClientStore {
  private readonly cache = new Map<string, { value: Record<string, unknown> | undefined; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
  ) {}

  async add(input: unknown): Promise<{ client_id: string; client_secret?: string }> {
    const reg = validate(clientRegistration, input);
    const clientId = reg.client_id ?? randomToken(16);
    const authMethod = reg.jwks ? 'private_key_jwt' : reg.public ? 'none' : 'client_secret_basic';
    const secret = authMethod === 'client_secret_basic' ? randomToken(32) : undefined;
    const metadata = {
      client_id: clientId,
      client_name: reg.client_name,
      redirect_uris: reg.redirect_uris,
      post_logout_redirect_uris: reg.post_logout_redirect_uris,
      grant_types: reg.public ? ['authorization_code', 'refresh_token'] : ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      scope: reg.scope,
      token_endpoint_auth_method: authMethod,
      ...(reg.jwks ? { jwks: reg.jwks, token_endpoint_auth_signing_alg: reg.jwks.keys[0]!.alg } : {}),
      id_token_signed_response_alg: reg.id_token_signed_response_alg,
      require_pushed_authorization_requests: reg.require_pushed_authorization_requests,
      ...(reg.backchannel_logout_uri
        ? { backchannel_logout_uri: reg.backchannel_logout_uri, backchannel_logout_session_required: true }
        : {}),
    };
    await this.db.transaction(async (tx) => {
      const r = await tx.query(
        'INSERT INTO oidc_clients (client_id, metadata, client_secret_enc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [clientId, JSON.stringify(metadata), secret ? this.cipher.encrypt(secret, AAD) : null],
      );
      if (r.rowCount !== 1) throw new BadRequest('invalid_client_metadata', `client_id ${clientId} is already registered`);
      await appendAudit(tx, {
        event: 'client.registered',
        clientId,
        detail: { redirect_uris: reg.redirect_uris, public: reg.public, token_endpoint_auth_method: authMethod },
      });
    });
    this.cache.delete(clientId);
    return secret ? { client_id: clientId, client_secret: secret } : { client_id: clientId };
  }

  /** Registers a client the OP itself uses, unless it exists already. */
  async ensure(input: ClientRegistration & { client_id: string }): Promise<void> {
    if (!(await this.find(input.client_id)))
      await this.add(input).catch(async (err) => {
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
