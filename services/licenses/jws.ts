/**
 * Compact JWS signatures (RFC 7515) with node:crypto, for the algorithms the federation's keys use
 * (federation/trust-chain-types.ts DEFAULT_ALGORITHMS). Licence verification is a hot path (at
 * least 2,000 per second per core): keys are imported once and kept, and a signature check is one
 * synchronous call.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

export const JWS_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && (JWS_ALGORITHMS as readonly string[]).includes(alg);
}

function signingOptions(alg: JwsAlgorithm, key: KeyObject) {
  switch (alg) {
    case 'ES256':
      return { hash: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' as const } };
    case 'RS256':
      return { hash: 'sha256', key: { key } };
    case 'PS256':
      return { hash: 'sha256', key: { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 } };
    case 'EdDSA':
      return { hash: null, key: { key } };
  }
}

/** Whether `signature` (base64url) signs `signingInput` ("header.payload") with `key` under `alg`. */
export function verifySignature(alg: JwsAlgorithm, key: KeyObject, signingInput: string, signature: string): boolean {
  const o = signingOptions(alg, key);
  try {
    return verify(o.hash, Buffer.from(signingInput), o.key, Buffer.from(signature, 'base64url'));
  } catch {
    // A key of the wrong type for the algorithm, or a signature of the wrong length.
    return false;
  }
}

/** Signs "header.payload" with a private JWK; the signature in base64url (an @sd-jwt Signer). */
export function signer(jwk: JWK & { alg: string }): (signingInput: string) => string {
  if (!isJwsAlgorithm(jwk.alg)) throw new Error(`cannot sign with ${jwk.alg}`);
  const alg = jwk.alg;
  const key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  return (signingInput) => {
    const o = signingOptions(alg, key);
    return sign(o.hash, Buffer.from(signingInput), o.key).toString('base64url');
  };
}

/** Public keys by their JWK, imported once; least recently used dropped beyond `maxEntries`. */
export class PublicKeyCache {
  readonly #keys = new Map<string, KeyObject>();
  constructor(private readonly maxEntries = 1000) {}

  /** Throws when the JWK is no usable public key. */
  get(jwk: JWK): KeyObject {
    const id = JSON.stringify([jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e]);
    let key = this.#keys.get(id);
    if (key) {
      this.#keys.delete(id);
    } else {
      // Only the public members: a JWK that carries `d` must not make a private key here.
      const members = Object.fromEntries(
        Object.entries({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, n: jwk.n, e: jwk.e }).filter(([, v]) => v !== undefined),
      );
      key = createPublicKey({ key: members as import('node:crypto').JsonWebKey, format: 'jwk' });
    }
    this.#keys.set(id, key);
    if (this.#keys.size > this.maxEntries) this.#keys.delete(this.#keys.keys().next().value!);
    return key;
  }
}
