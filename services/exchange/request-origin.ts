/**
 * Who asked: the requesting node signs each data request as it leaves (its federation key, a JWT
 * for the holding node over the request's ID and a digest of what it asks), and the holding node
 * checks the signature through the requesting node's trust chain. So the route's first node, which
 * the consent names as the requester, is proven end to end, not only hop by hop: a node on the
 * way cannot pass off its own request as another authority's.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';
import { canonicalJson } from '../../infra/canonical-json.ts';
import type { EntityKeyResolver } from '../../infra/entity-assertion.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import type { RoutedRequest } from './data-request.ts';
import { Refusal } from './exchange-refusals.ts';

export const ORIGIN_TYP = 'exchange-request+jwt';
const LIFETIME_SECONDS = 120;

/** What the origin signs of a request: everything but the route, which grows on the way, and the signature itself. */
function digest({ route: _route, origin: _origin, ...asked }: RoutedRequest): string {
  // As the body travels: members left undefined are not sent.
  return createHash('sha256')
    .update(canonicalJson(JSON.parse(JSON.stringify(asked))))
    .digest('base64url');
}

export async function signOrigin(runtime: EntityRuntime, request: Omit<RoutedRequest, 'origin'>): Promise<string> {
  const key = runtime.keyRing.signingKey();
  return new SignJWT({ request_id: request.request_id, digest: digest({ ...request, origin: '' }) })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ORIGIN_TYP })
    .setIssuer(runtime.self.url)
    .setAudience(request.holder)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(await importJWK(key, key.alg));
}

/** Throws Refusal(origin_invalid) unless the route's first node signed this very request for this node. */
export async function verifyOrigin(request: RoutedRequest, self: string, nodeKeys: EntityKeyResolver): Promise<void> {
  const requester = request.route[0]!;
  const keys = await nodeKeys(requester);
  if (!keys) throw new Refusal('origin_invalid', `${requester} is no data-sharing node of the federation`);
  try {
    const { payload } = await jwtVerify(request.origin, createLocalJWKSet(keys), {
      issuer: requester,
      audience: self,
      typ: ORIGIN_TYP,
      maxTokenAge: `${LIFETIME_SECONDS}s`,
      requiredClaims: ['request_id', 'digest', 'exp'],
    });
    if (payload.request_id !== request.request_id || payload.digest !== digest(request)) throw new Error('it signs another request');
  } catch (err) {
    throw new Refusal('origin_invalid', `the request is not the one ${requester} signed: ${(err as Error).message}`);
  }
}
