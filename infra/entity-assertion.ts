/**
 * How one entity authenticates to another's API: a short-lived JWT signed with the caller's
 * entity key (RFC 7523 style), audience-bound, single-use. The callee looks the caller's keys up
 * through a resolver it is given (the federation layer), so no secret is shared between entities.
 */
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { randomUUID } from 'node:crypto';
import type { PrivateJwk } from './entity-keys.ts';
import type { KeyValueStore } from './key-value-store.ts';
import { Unauthorized } from './errors.ts';

const TYP = 'entity-assertion+jwt';
const LIFETIME_SECONDS = 60;

export async function signEntityAssertion(key: PrivateJwk, issuer: string, audience: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TYP })
    .setIssuer(issuer)
    .setSubject(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .setJti(randomUUID())
    .sign(await importJWK(key, key.alg));
}

/** The caller's keys; `fresh` skips any cache (the token names a key the cached set lacks: a rotation). */
export type EntityKeyResolver = (entityId: string, opts?: { fresh?: boolean }) => Promise<JSONWebKeySet | null>;

/** Returns the caller's entity ID, or throws Unauthorized with the reason. */
export async function verifyEntityAssertion(
  authorization: string | undefined,
  opts: { audience: string; resolveKeys: EntityKeyResolver; replay: KeyValueStore },
): Promise<string> {
  const token = /^Bearer ([A-Za-z0-9._-]+)$/.exec(authorization ?? '')?.[1];
  if (!token) throw new Unauthorized('an entity assertion is required (Authorization: Bearer)');
  let issuer: string;
  let kid: string | undefined;
  try {
    issuer = String(decodeJwt(token).iss ?? '');
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw new Unauthorized('the entity assertion is not a JWT');
  }
  let keys = issuer ? await opts.resolveKeys(issuer) : null;
  if (keys && kid && !keys.keys.some((k) => k.kid === kid)) keys = await opts.resolveKeys(issuer, { fresh: true });
  if (!keys) throw new Unauthorized('the caller is not a trusted entity');
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys), {
      issuer,
      subject: issuer,
      audience: opts.audience,
      typ: TYP,
      maxTokenAge: `${LIFETIME_SECONDS}s`,
      requiredClaims: ['jti', 'exp', 'iat'],
    });
    if (!(await opts.replay.setIfAbsent(`assertion:${payload.jti}`, '1', LIFETIME_SECONDS * 2))) {
      throw new Unauthorized('the entity assertion was already used');
    }
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    throw new Unauthorized(`the entity assertion is invalid: ${(err as Error).message}`);
  }
  return issuer;
}
