/**
 * Signatures of Entity Statements (OpenID Federation 1.0 §3.2): verification with the key the
 * statement's kid names, never with a private member of a published key.
 *
 * The same statements and keys come back again and again (every resolution of a neighbour's
 * chain, every validation of a chain given in a request), so this module remembers, within
 * bounds, each public key it imported and each signature it found valid: a statement already
 * verified with the same key is not verified again. Only successes are remembered, keyed by the
 * whole statement and the whole key, so nothing is ever accepted that did not verify once.
 */
import { compactVerify, importJWK, type JWK } from 'jose';
import type { TrustChainCheck } from './federation-errors.ts';
import { fail, type Statement } from './trust-chain-parse.ts';

/** JWK members that only private (or symmetric) keys have: none may appear in a published key set. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The public members that make a key, in a fixed order: what a key is remembered by. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** Entries each cache keeps: far more keys and statements than a federation's neighbours have. */
const REMEMBERED = 4096;

/** A Map that forgets its oldest entries beyond REMEMBERED. */
class Bounded<V> extends Map<string, V> {
  override set(key: string, value: V): this {
    super.set(key, value);
    if (this.size > REMEMBERED) this.delete(this.keys().next().value!);
    return this;
  }
}

const importedKeys = new Bounded<Promise<CryptoKey | Uint8Array>>();
const verified = new Bounded<true>();

/** A public key, imported once per algorithm and key material. */
function imported(pub: JWK, alg: string): { id: string; key: Promise<CryptoKey | Uint8Array> } {
  const id = `${alg}\n${PUBLIC_MEMBERS.map((m) => (pub as Record<string, unknown>)[m] ?? '').join('\n')}`;
  let key = importedKeys.get(id);
  if (!key) {
    key = importJWK(pub, alg);
    importedKeys.set(id, key);
    // A key that does not import is not remembered: the error is the caller's, and only this once.
    key.catch(() => importedKeys.delete(id));
  }
  return { id, key };
}

/**
 * Verifies `st` with the key of `keys` whose kid equals its kid header (§3.2: "The Entity
 * Statement's kid ... MUST exactly match the kid value for a key in the jwks"). A missing kid
 * fails with `missingKeyCheck`; a key that does not verify fails with 'signature'.
 */
export async function verifySignature(st: Statement, keys: JWK[], whose: string, missingKeyCheck: TrustChainCheck): Promise<void> {
  const kid = st.header.kid as string;
  const alg = st.header.alg as string;
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) fail(st.label, missingKeyCheck, `signing key ${kid} is not in ${whose}`);
  if (jwk!.alg !== undefined && jwk!.alg !== alg)
    fail(st.label, 'signature', `key ${kid} of ${whose} is for ${jwk!.alg}, the statement uses ${alg}`);
  if (jwk!.use !== undefined && jwk!.use !== 'sig') fail(st.label, 'signature', `key ${kid} of ${whose} is not a signing key`);
  const pub: JWK = { ...jwk! };
  for (const member of PRIVATE_MEMBERS) delete (pub as Record<string, unknown>)[member];
  try {
    const { id, key } = imported(pub, alg);
    const done = `${id}\n${st.jwt}`;
    if (verified.has(done)) return;
    await compactVerify(st.jwt, await key, { algorithms: [alg] });
    verified.set(done, true);
  } catch (err) {
    fail(st.label, 'signature', `signature does not validate with key ${kid} of ${whose} (${(err as Error).message})`);
  }
}
