/**
 * JWTs for every place the federation accepts one, as a fast-check plan and its token: malformed,
 * `alg: none`, expired, not yet valid, HMAC, and signed with keys the federation never trusted.
 * Claims name only the federation's own URLs (by index into the catalogue's list).
 */
import fc from 'fast-check';
import { createPrivateKey, createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

export type JwtForm =
  | 'none'
  | 'none-signed'
  | 'wrong-key-es256'
  | 'wrong-key-eddsa'
  | 'hs256'
  | 'expired'
  | 'not-yet-valid'
  | 'malformed'
  | 'bad-header'
  | 'bad-payload'
  | 'huge-claim';

export interface JwtPlan {
  form: JwtForm;
  /** Index into the catalogue's URLs, or -1 for none. */
  iss: number;
  aud: number;
  typ: string | null;
  claims: Record<string, unknown>;
  garbage: string;
}

const TYPS = [
  'JWT',
  'entity-statement+jwt',
  'entity-assertion+jwt',
  'logout+jwt',
  'trust-mark+jwt',
  'oauth-authz-req+jwt',
  'client-authentication+jwt',
  'at+jwt',
  'x',
];
const EXTRA_CLAIMS: Record<string, unknown>[] = [
  {},
  { events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 's' },
  { events: 'x' },
  { jti: 'j' },
  { jti: { a: 1 } },
  { client_id: 'gov-id-account', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid' },
  { trust_mark_type: 'x', iat: 1 },
  { exp: 'tomorrow' },
  { exp: 1e20, iat: -1 },
  { nonce: '\u0000' },
  { __proto__: { admin: true } },
  { sub: '\u0000' },
];
export const jwtPlanArb: fc.Arbitrary<JwtPlan> = fc.record({
  form: fc.constantFrom<JwtForm>(
    'none',
    'none-signed',
    'wrong-key-es256',
    'wrong-key-eddsa',
    'hs256',
    'expired',
    'not-yet-valid',
    'malformed',
    'bad-header',
    'bad-payload',
    'huge-claim',
  ),
  iss: fc.integer({ min: -1, max: 30 }),
  aud: fc.integer({ min: -1, max: 30 }),
  typ: fc.option(fc.constantFrom(...TYPS)),
  claims: fc.constantFrom(...EXTRA_CLAIMS),
  garbage: fc.constantFrom('a.b', 'a.b.c.d', '..', '...', 'eyJ', 'e30.e30', '=.=.=', 'a b.c.d', '\u0000.\u0000.\u0000'),
});

/** Keys the federation never trusted. The Ed25519 and HMAC keys are fixed, so their signatures are the same every run. */
const KEYS = {
  eddsa: createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]),
    format: 'der',
    type: 'pkcs8',
  }),
  es256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  hs256: createSecretKey(Buffer.alloc(32, 9)),
};

const b64 = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

async function signed(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

export async function materializeJwt(plan: JwtPlan, urls: string[], audience: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const pick = (i: number) => (i < 0 ? undefined : (urls[i % urls.length] ?? audience));
  const iss = pick(plan.iss);
  const payload: Record<string, unknown> = {
    ...(iss ? { iss, sub: iss } : {}),
    aud: plan.aud < 0 ? audience : pick(plan.aud),
    iat: now,
    exp: now + 60,
    jti: `fuzz-${plan.iss}-${plan.aud}`,
    ...plan.claims,
  };
  const header = { ...(plan.typ ? { typ: plan.typ } : {}), kid: 'fuzz' };
  switch (plan.form) {
    case 'none':
      return `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
    case 'none-signed':
      return `${b64({ ...header, alg: 'none' })}.${b64(payload)}.${b64('sig')}`;
    case 'wrong-key-es256':
      return signed({ ...header, alg: 'ES256' }, payload, KEYS.es256);
    case 'wrong-key-eddsa':
      return signed({ ...header, alg: 'EdDSA' }, payload, KEYS.eddsa);
    case 'hs256':
      return signed({ ...header, alg: 'HS256' }, payload, KEYS.hs256);
    case 'expired':
      return signed({ ...header, alg: 'EdDSA' }, { ...payload, iat: now - 7200, exp: now - 3600 }, KEYS.eddsa);
    case 'not-yet-valid':
      return signed({ ...header, alg: 'EdDSA' }, { ...payload, nbf: now + 3600, iat: now + 3600 }, KEYS.eddsa);
    case 'malformed':
      return plan.garbage;
    case 'bad-header':
      return `${b64('{"alg":')}.${b64(payload)}.${b64('sig')}`;
    case 'bad-payload':
      return `${b64({ ...header, alg: 'ES256' })}.${b64('[1,')}.${b64('sig')}`;
    case 'huge-claim':
      return `${b64({ ...header, alg: 'ES256' })}.${b64({ ...payload, x: 'A'.repeat(60_000) })}.${b64('sig')}`;
  }
}
