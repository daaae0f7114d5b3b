/**
 * A trust chain of three statements (a relying portal's entity configuration, the trust anchor's
 * subordinate statement about it, the anchor's entity configuration), validated from statements
 * already at hand (docs/DESIGN "Targets": from cache at most 0.1 ms). Signed in this process with
 * ES256 keys by the project's own builders, with the default metadata policy every authority
 * starts with; no network. Four figures, one at a time in this process:
 *   first      validateTrustChain over chains never seen before, each with keys of its own: every
 *              key imported, every signature verified (federation/trust-chain-signatures.ts);
 *   validate   validateTrustChain over the same three statements again: keys and verified
 *              signatures remembered, the rest (parsing, checks, constraints, policy) done anew;
 *   resolve    resolveTrustChain from the portal's entity ID, the statements served from memory;
 *   cache hit  TrustChainCache.get of the resolved chain.
 *
 *   BENCH_SECONDS (default 10, split between validate and resolve), BENCH_PROFILE (bench/cpu-profile.ts)
 */
import {
  argon2Figures,
  argon2Verify,
  percentile,
  processCpuMs,
  round,
  timedLoop,
  type BenchOptions,
  type Figures,
  type LoopLength,
  type LoopResult,
} from './measure.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { generateKey, publicJwk } from '../infra/entity-keys.ts';
import { signEntityConfiguration } from '../federation/entity-configuration.ts';
import { signSubordinateStatement } from '../federation/subordinate-statements.ts';
import { defaultMetadataPolicy } from '../federation/authority-config.ts';
import {
  resolveTrustChain,
  TrustChainCache,
  validateTrustChain,
  type ResolveOptions,
  type StatementFetcher,
} from '../federation/trust-chain.ts';

const ANCHOR = 'https://national.gov-id.example';
const PORTAL = 'https://portal.gov-id.example';
const FETCH_ENDPOINT = `${ANCHOR}/federation/fetch`;

/** Three statements signed with keys of their own (a chain none of the caches has seen). */
async function threeStatements(): Promise<{ statements: string[]; opts: ResolveOptions }> {
  const [anchorKey, portalKey] = await Promise.all([generateKey('ES256'), generateKey('ES256')]);
  const portalEC = await signEntityConfiguration({
    entityId: PORTAL,
    keys: [portalKey],
    authorityHints: [ANCHOR],
    metadata: {
      openid_relying_party: {
        client_registration_types: ['automatic'],
        redirect_uris: [`${PORTAL}/callback`],
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        jwks: { keys: [publicJwk(portalKey)] },
      },
      federation_entity: { organization_name: '政务服务门户' },
    },
  });
  const aboutPortal = await signSubordinateStatement({
    issuer: ANCHOR,
    subject: PORTAL,
    keys: [anchorKey],
    jwks: { keys: [publicJwk(portalKey)] },
    metadataPolicy: defaultMetadataPolicy(),
    constraints: { max_path_length: 0 },
    sourceEndpoint: FETCH_ENDPOINT,
  });
  const anchorEC = await signEntityConfiguration({
    entityId: ANCHOR,
    keys: [anchorKey],
    authorityHints: [],
    metadata: { federation_entity: { federation_fetch_endpoint: FETCH_ENDPOINT, organization_name: '国家政务服务平台' } },
  });
  const configurations: Record<string, string> = { [PORTAL]: portalEC, [ANCHOR]: anchorEC };
  const fetcher: StatementFetcher = {
    entityConfiguration: async (entityId) => configurations[entityId] ?? Promise.reject(new Error(`no statement for ${entityId}`)),
    subordinateStatement: async (_endpoint, issuer, subject) =>
      issuer === ANCHOR && subject === PORTAL ? aboutPortal : Promise.reject(new Error(`no statement about ${subject}`)),
  };
  const opts: ResolveOptions = {
    trustAnchors: [{ entityId: ANCHOR, jwks: { keys: [publicJwk(anchorKey)] } }],
    fetcher,
    entityType: 'openid_relying_party',
  };
  return { statements: [portalEC, aboutPortal, anchorEC], opts };
}

/** A loop on one slot, with this process's CPU time per operation. */
async function cpuTimed(
  name: string,
  label: string,
  length: LoopLength,
  operation: () => Promise<unknown>,
): Promise<{ loop: LoopResult; cpuUs: number }> {
  const stopProfile = await startCpuProfile(`trust-chain-${name}`);
  const cpu0 = processCpuMs();
  const loop = await timedLoop(label, 1, length, async () => void (await operation()));
  const cpuUs = ((processCpuMs() - cpu0) * 1000) / loop.ok;
  await stopProfile();
  return { loop, cpuUs };
}

const us = (loop: LoopResult, p: number) => round(percentile(loop.latencies, p) * 1000, 1);

export async function trustChainBenchmark(opts: BenchOptions): Promise<Figures> {
  const { statements, opts: resolveOpts } = await threeStatements();
  const { fetcher: _fetcher, ...validateOpts } = resolveOpts;
  // A first round outside the loops: jose's key imports and V8's compilation are not the figures.
  await validateTrustChain(statements, validateOpts);
  const chain = await resolveTrustChain(PORTAL, resolveOpts);
  if (chain.statements.length !== 3) throw new Error(`expected a chain of three statements, got ${chain.statements.length}`);

  // Chains signed beforehand, each validated once: the first validation of a chain.
  const fresh = await Promise.all(Array.from({ length: opts.smoke ? 5 : 300 }, () => threeStatements()));
  let next = 0;
  const first = await cpuTimed('first', 'validate, first time', { operationsPerSlot: fresh.length }, async () => {
    const { statements: s, opts: o } = fresh[next++]!;
    const { fetcher: _f, ...v } = o;
    await validateTrustChain(s, v);
  });
  const length = opts.smoke ? { operationsPerSlot: 20 } : { seconds: Number(process.env.BENCH_SECONDS ?? 10) / 2 };
  const validate = await cpuTimed('validate', 'validate again', length, () => validateTrustChain(statements, validateOpts));
  const resolve = await cpuTimed('resolve', 'resolve from memory', length, () => resolveTrustChain(PORTAL, resolveOpts));

  const cache = new TrustChainCache({ maxEntries: 1000 });
  cache.set(PORTAL, chain);
  const lookups = opts.smoke ? 1000 : 1_000_000;
  const now = Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  for (let i = 0; i < lookups; i++) if (!cache.get(PORTAL, now)) throw new Error('the cached chain is gone');
  const cacheGetNs = ((performance.now() - t0) * 1e6) / lookups;
  console.log(`cache hit            ${cacheGetNs.toFixed(0)} ns per TrustChainCache.get (${lookups} lookups)`);

  return {
    statements: statements.length,
    first_validations: first.loop.ok,
    first_validate_us_p50: us(first.loop, 0.5),
    first_validate_us_p99: us(first.loop, 0.99),
    cpu_us_per_first_validation: round(first.cpuUs, 1),
    validations: validate.loop.ok,
    validate_us_p50: us(validate.loop, 0.5),
    validate_us_p99: us(validate.loop, 0.99),
    cpu_us_per_validation: round(validate.cpuUs, 1),
    resolutions: resolve.loop.ok,
    resolve_us_p50: us(resolve.loop, 0.5),
    resolve_us_p99: us(resolve.loop, 0.99),
    cpu_us_per_resolution: round(resolve.cpuUs, 1),
    cache_get_ns: round(cacheGetNs, 1),
    ...argon2Figures(await argon2Verify(opts.smoke ? 2 : 20)),
  };
}
