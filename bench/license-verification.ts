/**
 * Licence verification from a warm chain cache (issue 14's benchmark, its licence half): licences
 * issued at the services entity, then POST /licenses/verify in a loop at a fixed concurrency, the
 * server in a process of its own (its CPU time per verification is the robust figure on a shared
 * machine); and the verifier alone in this process, one verification after another, for its own
 * CPU cost. Target: at least 2,000 verifications per second per core.
 *
 *   BENCH_SECONDS (default 10), BENCH_CONCURRENCY (default 4), BENCH_PROFILE (bench/federation-process.ts)
 */
import { availableParallelism } from 'node:os';
import { allowHttpEntityIds, topologyTrustAnchor } from '../federation/authority-endpoints.ts';
import { EntitySigningKeys } from '../federation/entity-signing-keys.ts';
import { httpStatementFetcher } from '../federation/trust-chain.ts';
import { LicenseVerifier } from '../services/licenses/license-verifier.ts';
import { newPerson } from '../test/helpers/flows.ts';
import { issueLicense, verifyAt } from '../test/helpers/licenses.ts';
import { startFederationProcess, withServerCpu } from './federation-process.ts';
import { loopSettings, percentile, processCpuMs, round, storage, timedLoop, type BenchOptions, type Figures } from './measure.ts';

const LICENCES = 20;
const TARGET_PER_CORE = 2000;

export async function licenseVerificationFigures(opts: BenchOptions): Promise<Figures> {
  const { concurrency, length } = loopSettings(opts);
  const server = await startFederationProcess(['registries']);
  try {
    const { fed } = server;
    const services = fed.url('registries');
    const person = await newPerson(fed);
    const licences: string[] = [];
    for (let i = 0; i < (opts.smoke ? 2 : LICENCES); i++) licences.push((await issueLicense(fed, 'registries', person)).credential);
    // Warm: the issuer's chain and status list are fetched once, then served from the caches.
    for (const license of licences) {
      const r = await verifyAt(services, { license });
      if (r.status !== 200) throw new Error(`warm-up verification failed: ${JSON.stringify(r.json)}`);
    }
    const cores = availableParallelism();
    console.log(
      `storage: ${storage()}; ${cores} cores; ${licences.length} licences of ${licences[0]!.length} characters (SD-JWT, 7 disclosures)`,
    );

    let next = 0;
    const http = await withServerCpu(server, 'license-verify', () =>
      timedLoop('licence verify (HTTP)', concurrency, length, async () => {
        const r = await verifyAt(services, { license: licences[next++ % licences.length]! });
        if (r.status !== 200) throw new Error(`verification failed: ${JSON.stringify(r.json)}`);
      }),
    );
    const perCore = http.loop.perSecond / cores;
    console.log(
      `  = ${perCore.toFixed(0)} per core (target ≥ ${TARGET_PER_CORE}); server CPU ${http.cpuMsPerOp.toFixed(3)} ms per verification (≤ ${(1000 / TARGET_PER_CORE).toFixed(1)} ms meets the target on a core of its own)`,
    );

    // The verifier alone, in this process, with the issuer's chain and status list already cached.
    const topology = fed.topology;
    const fetcher = httpStatementFetcher();
    const keys = new EntitySigningKeys({
      trustAnchors: [topologyTrustAnchor(topology, fetcher)],
      fetcher,
      allowHttpEntityIds: allowHttpEntityIds(topology),
      entityType: 'oauth_resource',
    });
    const verifier = new LicenseVerifier({ issuerKey: (issuer, kid) => keys.key(issuer, kid) });
    for (const license of licences) await verifier.verify(license);
    const cpu0 = processCpuMs();
    const alone = await timedLoop('licence verify (in process)', 1, length, async () => {
      await verifier.verify(licences[next++ % licences.length]!);
    });
    const cpuUsPerVerification = ((processCpuMs() - cpu0) / alone.ok) * 1000;
    console.log(`  = ${cpuUsPerVerification.toFixed(0)} µs CPU per verification in process`);

    return {
      storage: storage(),
      cores,
      concurrency,
      license_verifications: http.loop.ok,
      license_verify_errors: http.loop.errors,
      license_verify_per_s: round(http.loop.perSecond),
      license_verify_per_s_per_core: round(perCore),
      license_verify_p50_ms: round(percentile(http.loop.latencies, 0.5), 3),
      license_verify_p99_ms: round(percentile(http.loop.latencies, 0.99), 3),
      server_cpu_ms_per_license_verify: round(http.cpuMsPerOp, 3),
      inprocess_verify_per_s: round(alone.perSecond),
      inprocess_verify_cpu_us: round(cpuUsPerVerification, 1),
      inprocess_verify_errors: alone.errors,
      target_per_s_per_core: TARGET_PER_CORE,
      target_met: http.cpuMsPerOp <= 1000 / TARGET_PER_CORE,
    };
  } finally {
    await server.close();
  }
}
