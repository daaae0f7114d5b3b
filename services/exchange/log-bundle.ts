/**
 * An exported access log that verifies offline (`gov-id exchange log export`, docs/exchange.md):
 * every entry with its hash and signature, the node's trust chain up to the trust anchor (whose
 * statements authenticate the node's keys), its signed historical keys (the keys it signed older
 * entries with, after a rotation), and the node's signature over the whole: how many entries, the
 * last one's hash, when. Whoever holds the file checks it with no network: the chain, as of the
 * export, then every entry against the keys the chain and the historical keys vouch for.
 */
import { compactVerify, decodeJwt, importJWK, jwtVerify, createLocalJWKSet, SignJWT, type JWK } from 'jose';
import { z } from 'zod';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { signedHistoricalKeys, HISTORICAL_KEYS_TYP } from '../../federation/historical-keys.ts';
import { verifyAccessLog, type AccessLog, type AccessRecord, type LogKey, type LogProblem } from './access-log.ts';

export const BUNDLE_TYP = 'exchange-log-bundle+jwt';

export interface LogBundle {
  format: 'gov-id-exchange-log/1';
  entity: string;
  exported_at: string;
  trust_chain: string[];
  historical_keys: string;
  entries: AccessRecord[];
  /** Compact JWT (typ exchange-log-bundle+jwt) by the node: {iss, exported_at, entries, head}. */
  signature: string;
}

export async function exportLog(runtime: EntityRuntime, log: AccessLog, trustChain: string[]): Promise<LogBundle> {
  const entries = await log.all();
  const exportedAt = new Date();
  const key = runtime.keyRing.signingKey();
  const signature = await new SignJWT({
    exported_at: exportedAt.toISOString(),
    entries: entries.length,
    head: entries.at(-1)?.hash ?? null,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: BUNDLE_TYP })
    .setIssuer(runtime.self.url)
    .setIssuedAt(Math.floor(exportedAt.getTime() / 1000))
    .sign(await importJWK(key, key.alg));
  return {
    format: 'gov-id-exchange-log/1',
    entity: runtime.self.url,
    exported_at: exportedAt.toISOString(),
    trust_chain: trustChain,
    historical_keys: await signedHistoricalKeys(runtime.self.url, runtime.keyRing),
    entries,
    signature,
  };
}

const record = z.object({
  seq: z.number().int().min(1),
  entry: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
  signature: z.string(),
});
const bundleSchema = z.object({
  format: z.literal('gov-id-exchange-log/1'),
  entity: z.string(),
  exported_at: z.iso.datetime(),
  trust_chain: z.array(z.string()).min(1),
  historical_keys: z.string(),
  entries: z.array(record),
  signature: z.string(),
});

/** Validates the node's trust chain as of `at` (seconds); returns its subject, its keys and the trust anchor, or throws why not. */
export type ChainValidator = (statements: string[], at: number) => Promise<{ subject: string; keys: JWK[]; trustAnchor: string }>;

export type BundleProblem = 'malformed' | 'trust_chain' | 'historical_keys' | 'bundle_signature' | 'truncated' | LogProblem;

export interface BundleVerification {
  entity: string | null;
  trust_anchor: string | null;
  exported_at: string | null;
  entries: number;
  intact: boolean;
  /** The first entry that failed (null when the whole bundle failed, or nothing did). */
  broken_at: number | null;
  problem: BundleProblem | null;
  detail: string | null;
}

export async function verifyLogBundle(input: unknown, validateChain: ChainValidator): Promise<BundleVerification> {
  const parsed = bundleSchema.safeParse(input);
  const base = { entity: null, trust_anchor: null, exported_at: null, entries: 0, intact: false, broken_at: null };
  if (!parsed.success) return { ...base, problem: 'malformed', detail: parsed.error.issues[0]!.message };
  const bundle = parsed.data;
  const at = Math.floor(Date.parse(bundle.exported_at) / 1000);
  const known = { ...base, entity: bundle.entity, exported_at: bundle.exported_at, entries: bundle.entries.length };
  const fail = (problem: BundleProblem, detail: string) => ({ ...known, problem, detail });

  let chain;
  try {
    chain = await validateChain(bundle.trust_chain, at);
  } catch (err) {
    return fail('trust_chain', (err as Error).message);
  }
  if (chain.subject !== bundle.entity) return fail('trust_chain', `the trust chain is ${chain.subject}'s, not ${bundle.entity}'s`);
  const withAnchor = { ...known, trust_anchor: chain.trustAnchor };
  const current = createLocalJWKSet({ keys: chain.keys });

  let historical: LogKey[];
  try {
    const { payload } = await jwtVerify(bundle.historical_keys, current, {
      issuer: bundle.entity,
      typ: HISTORICAL_KEYS_TYP,
      currentDate: new Date(at * 1000),
    });
    historical = (Array.isArray(payload.keys) ? payload.keys : []) as LogKey[];
  } catch (err) {
    return { ...withAnchor, problem: 'historical_keys', detail: (err as Error).message };
  }
  let claims;
  try {
    await compactVerify(bundle.signature, current);
    claims = decodeJwt(bundle.signature);
    if (claims.iss !== bundle.entity || claims.exported_at !== bundle.exported_at) throw new Error('it signs another export');
  } catch (err) {
    return { ...withAnchor, problem: 'bundle_signature', detail: (err as Error).message };
  }
  const log = await verifyAccessLog(bundle.entries as unknown as AccessRecord[], bundle.entity, [
    ...(chain.keys as LogKey[]),
    ...historical,
  ]);
  if (!log.intact)
    return { ...withAnchor, broken_at: log.broken_at, problem: log.problem, detail: `entry ${log.broken_at}: ${log.problem}` };
  if (claims.entries !== bundle.entries.length || claims.head !== (bundle.entries.at(-1)?.hash ?? null))
    return {
      ...withAnchor,
      problem: 'truncated',
      detail: `the node signed ${String(claims.entries)} entries; the file holds ${bundle.entries.length}`,
    };
  return { ...withAnchor, intact: true, problem: null, detail: null };
}
