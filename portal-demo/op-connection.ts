/**
 * The portal's connection to its OP: openid-client configured with the portal's entity ID as
 * client_id and private_key_jwt (automatic registration, OpenID Federation §12.1), discovered
 * once and reused; and the check of back-channel logout tokens (OpenID Connect Back-Channel
 * Logout 1.0, §2.6) against the OP's published keys.
 */
import * as oidc from 'openid-client';
import { createRemoteJWKSet, importJWK, jwtVerify, type JWTPayload } from 'jose';
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { ConfigurationError } from '../infra/errors.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens older than this are refused (with the jti replay window matching it). */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 600;
const CLOCK_TOLERANCE_SECONDS = 30;

/** Plain http is accepted for an OP on a loopback address only (the demo); anything else must be https. */
export function insecureLoopback(issuer: string): boolean {
  const url = new URL(issuer);
  if (url.protocol === 'https:') return false;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return true;
  throw new ConfigurationError('opIssuer', `${issuer}: an OP is reached over https (plain http only on a loopback address)`);
}

export class LogoutTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LogoutTokenError';
  }
}

export interface LogoutClaims {
  iss: string;
  jti: string;
  sid?: string;
  sub?: string;
  exp?: number;
}

export interface OpConnectionOptions {
  issuer: string;
  /** The portal's entity ID. */
  clientId: string;
  /** The portal's client key (ES256, private); its public part is in the portal's metadata. */
  clientKey: PrivateJwk;
  /** The alg the OP signs ID and logout tokens with for this client. */
  idTokenAlg: string;
}

export class OpConnection {
  private config: Promise<oidc.Configuration> | null = null;
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private readonly insecure: boolean;

  constructor(private readonly opts: OpConnectionOptions) {
    this.insecure = insecureLoopback(opts.issuer);
  }

  /** The discovered configuration; a failed discovery is tried again on the next call. */
  configuration(): Promise<oidc.Configuration> {
    if (!this.config) {
      this.config = this.discover();
      this.config.catch(() => {
        this.config = null;
      });
    }
    return this.config;
  }

  private async discover(): Promise<oidc.Configuration> {
    const { clientKey } = this.opts;
    const key = (await importJWK(clientKey, clientKey.alg)) as CryptoKey;
    return oidc.discovery(
      new URL(this.opts.issuer),
      this.opts.clientId,
      { id_token_signed_response_alg: this.opts.idTokenAlg },
      oidc.PrivateKeyJwt({ key, kid: clientKey.kid }),
      { timeout: 10, ...(this.insecure ? { execute: [oidc.allowInsecureRequests] } : {}) },
    );
  }

  /**
   * Checks a logout token (§2.6): signature with the OP's keys, iss, aud = our client_id, iat
   * recent, typ logout+jwt, the back-channel logout event, no nonce, a sid or a sub, a jti.
   * Replay of the jti is the caller's check.
   */
  async verifyLogoutToken(token: string): Promise<LogoutClaims> {
    const config = await this.configuration();
    const server = config.serverMetadata();
    if (!server.jwks_uri) throw new LogoutTokenError('the OP publishes no jwks_uri');
    this.jwks ??= createRemoteJWKSet(new URL(server.jwks_uri), { timeoutDuration: 5000 });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: server.issuer,
        audience: this.opts.clientId,
        typ: 'logout+jwt',
        algorithms: [this.opts.idTokenAlg],
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['iat', 'jti', 'events'],
      }));
    } catch (err) {
      throw new LogoutTokenError(`logout token rejected: ${(err as Error).message}`);
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events && typeof events === 'object' && !Array.isArray(events) ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
    if (!event || typeof event !== 'object' || Array.isArray(event)) throw new LogoutTokenError('logout token rejected: no back-channel logout event');
    if ('nonce' in payload) throw new LogoutTokenError('logout token rejected: a logout token must not carry a nonce');
    const sid = typeof payload.sid === 'string' && payload.sid ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
    if (!sid && !sub) throw new LogoutTokenError('logout token rejected: neither sid nor sub');
    if (typeof payload.jti !== 'string' || !payload.jti) throw new LogoutTokenError('logout token rejected: no jti');
    return { iss: payload.iss!, jti: payload.jti, ...(sid ? { sid } : {}), ...(sub ? { sub } : {}), ...(payload.exp ? { exp: payload.exp } : {}) };
  }
}
