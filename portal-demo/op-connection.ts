/**
 * The portal's connection to its OP: openid-client configured with the portal's entity ID as
 * client_id and private_key_jwt (automatic registration, OpenID Federation §12.1), discovered
 * once and reused; and the check of back-channel logout tokens against the OP's published keys.
 */
import * as oidc from 'openid-client';
import { createRemoteJWKSet, importJWK } from 'jose';
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { insecureLoopback } from '../infra/loopback.ts';
import { LogoutTokenError, verifyLogoutToken, type LogoutClaims } from '../infra/logout-token.ts';

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

  /** Checks a logout token (see infra/logout-token.ts) against the OP's published keys. */
  async verifyLogoutToken(token: string): Promise<LogoutClaims> {
    const config = await this.configuration();
    const server = config.serverMetadata();
    if (!server.jwks_uri) throw new LogoutTokenError('the OP publishes no jwks_uri');
    this.jwks ??= createRemoteJWKSet(new URL(server.jwks_uri), { timeoutDuration: 5000 });
    return verifyLogoutToken(token, {
      keys: this.jwks,
      issuer: server.issuer,
      audience: this.opts.clientId,
      algorithms: [this.opts.idTokenAlg],
    });
  }
}
