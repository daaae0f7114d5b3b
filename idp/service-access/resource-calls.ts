/**
 * A services entity of the federation calling this OP about a person whose access token it holds
 * (who the person is, whether a consent stands): the caller is authenticated by its entity
 * assertion through its `oauth_resource` trust chain, and the token must be one this OP issued to
 * that very caller, still valid.
 */
import type Koa from 'koa';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { verifyEntityAssertion } from '../../infra/entity-assertion.ts';
import { publicJwk, type PrivateJwk } from '../../infra/entity-keys.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { Unauthorized } from '../../infra/errors.ts';
import type { TrustedResources } from '../../federation/trusted-resources.ts';

export class ResourceCalls {
  private readonly ownKeys: ReturnType<typeof createLocalJWKSet>;

  constructor(
    private readonly runtime: EntityRuntime,
    signingKeys: PrivateJwk[],
    private readonly resources: TrustedResources,
  ) {
    this.ownKeys = createLocalJWKSet({ keys: signingKeys.map(publicJwk) });
  }

  /** The calling services entity; throws Unauthorized. */
  caller(ctx: Koa.Context): Promise<string> {
    return verifyEntityAssertion(ctx.get('authorization'), {
      audience: this.runtime.self.url,
      resolveKeys: (id) => this.resources.keysOf(id),
      replay: this.runtime.kv,
    });
  }

  /** The claims of an access token this OP issued to `caller`, still valid; throws Unauthorized. */
  async token(token: string, caller: string): Promise<JWTPayload> {
    const issuer = this.runtime.self.url;
    try {
      return (await jwtVerify(token, this.ownKeys, { issuer, audience: caller, typ: 'at+jwt', requiredClaims: ['sub', 'exp'] })).payload;
    } catch (err) {
      throw new Unauthorized(`the access token is not one this OP issued to ${caller}: ${(err as Error).message}`);
    }
  }
}
