/**
 * The federation historical keys endpoint (OpenID Federation 1.0, §8.7): the keys an entity no
 * longer publishes, each with the time it stopped being valid (`exp`), as a signed JWK Set
 * (`jwk-set+jwt`), so that statements signed with them can still be checked after the fact.
 */
import { importJWK, SignJWT } from 'jose';
import type Koa from 'koa';
import type { EntityKeyRing } from '../infra/entity-key-ring.ts';

export const HISTORICAL_KEYS_PATH = '/federation/historical-keys';

export const HISTORICAL_KEYS_TYP = 'jwk-set+jwt';

/** The entity's historical keys as the endpoint serves them (also put in exported logs, which verify offline). */
export async function signedHistoricalKeys(entityId: string, ring: EntityKeyRing): Promise<string> {
  const key = ring.signingKey();
  return new SignJWT({ keys: ring.historical() })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: HISTORICAL_KEYS_TYP })
    .setIssuer(entityId)
    .setIssuedAt()
    .sign(await importJWK(key, key.alg));
}

export function historicalKeysMiddleware(entityId: string, ring: EntityKeyRing): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== HISTORICAL_KEYS_PATH || ctx.method !== 'GET') return next();
    ctx.type = 'application/jwk-set+jwt';
    ctx.body = await signedHistoricalKeys(entityId, ring);
  };
}
