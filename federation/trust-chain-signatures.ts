/**
 * Signatures of Entity Statements (OpenID Federation 1.0 §3.2): verification with the key the
 * statement's kid names, never with a private member of a published key.
 */
import { compactVerify, importJWK, type JWK } from 'jose';
import type { TrustChainCheck } from './federation-errors.ts';
import { fail, type Statement } from './trust-chain-parse.ts';

/** JWK members that only private (or symmetric) keys have: none may appear in a published key set. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

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
    const key = await importJWK(pub, alg);
    await compactVerify(st.jwt, key, { algorithms: [alg] });
  } catch (err) {
    fail(st.label, 'signature', `signature does not validate with key ${kid} of ${whose} (${(err as Error).message})`);
  }
}
