/**
 * Relying portals of the federation for tests: each serves a signed entity configuration naming
 * its superior, with openid_relying_party metadata and its own client key (private_key_jwt),
 * and, when given, the trust marks it holds.
 */
import Koa from 'koa';
import { exportJWK, generateKeyPair } from 'jose';
import { randomUUID } from 'node:crypto';
import { listen, type Listener } from '../../infra/http-server.ts';
import { entityConfigurationMiddleware } from '../../federation/entity-configuration.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { oidc, REDIRECT_URI } from './flows.ts';

export interface TestPortal {
  url: string;
  clientKey: { jwk: PrivateJwk; key: CryptoKey };
}

async function privateJwk(): Promise<{ jwk: PrivateJwk; key: CryptoKey }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    jwk: { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' } as PrivateJwk,
    key: privateKey as CryptoKey,
  };
}

export class FederationPortals {
  private readonly listeners: Listener[] = [];

  /** A portal whose superior is `superiorUrl`; `trustMarks` is read at every request. */
  async start(superiorUrl: string, trustMarks: () => { trust_mark_type: string; trust_mark: string }[] = () => []): Promise<TestPortal> {
    const federationKey = await privateJwk();
    const clientKey = await privateJwk();
    const { d: _d, ...publicClientKey } = clientKey.jwk;
    let url = '';
    const app = new Koa();
    app.use(
      entityConfigurationMiddleware(() => ({
        entityId: url,
        keys: [federationKey.jwk],
        authorityHints: [superiorUrl],
        trustMarks: trustMarks(),
        metadata: {
          openid_relying_party: {
            client_name: '测试门户',
            redirect_uris: [REDIRECT_URI],
            response_types: ['code'],
            grant_types: ['authorization_code', 'refresh_token'],
            token_endpoint_auth_method: 'private_key_jwt',
            id_token_signed_response_alg: 'ES256',
            jwks: { keys: [publicClientKey] },
          },
        },
      })),
    );
    const listener = await listen(app.callback(), 0);
    this.listeners.push(listener);
    url = `http://127.0.0.1:${listener.port}`;
    return { url, clientKey };
  }

  async close() {
    await Promise.all(this.listeners.map((l) => l.close()));
  }
}

/** openid-client configured for the portal at an OP: client_id = entity ID, private_key_jwt. */
export function portalClient(issuer: string, portal: TestPortal) {
  return oidc.discovery(new URL(issuer), portal.url, {}, oidc.PrivateKeyJwt({ key: portal.clientKey.key, kid: portal.clientKey.jwk.kid }), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** A pushed authorization request (PAR), as automatic registration requires. */
export async function pushedLogin(config: oidc.Configuration) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    nonce,
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url, verifier, state, nonce };
}
