/**
 * Refresh and client-credentials grants at one OP (gd), each at a fixed concurrency (docs/DESIGN
 * "Targets": at least 1,200 per second per core; server CPU per grant at most 0.8 ms). The OP
 * runs in a process of its own; its CPU time per grant is the robust figure on a shared machine.
 * Client credentials run twice: the opaque token kept in the key-value store (no `resource`), and
 * the RFC 9068 JWT for a services entity (`resource`), signed and stored nowhere. A loop of
 * `GET /healthz` follows, the floor under all: what any request costs the server.
 * The client keeps its connections alive (fetch's pool), as relying parties do with a token endpoint.
 *
 *   BENCH_SECONDS (default 10 per grant), BENCH_CONCURRENCY (default 4), BENCH_PROFILE (bench/federation-process.ts)
 *   --workers N: the OP served by N processes (node:cluster; PostgreSQL and Redis), its CPU summed over them
 */
import { availableParallelism } from 'node:os';
import { oidc } from '../test/helpers/flows.ts';
import { HEALTHZ_PATH } from '../infra/health-endpoints.ts';
import { SERVICES_SCOPE } from '../idp/oidc/provider-config.ts';
import { storeFigures, storeLine, withServerCpu } from './federation-process.ts';
import { startOpWithPeople } from './op-with-people.ts';
import { argon2Figures, loopSettings, percentile, round, storage, timedLoop, type BenchOptions, type Figures } from './measure.ts';

export async function grantsBenchmark(opts: BenchOptions): Promise<Figures> {
  const { concurrency, length, argon2Verifies } = loopSettings(opts);
  const workers = opts.workers ?? 1;
  const { server, rp, people } = await startOpWithPeople(concurrency, undefined, workers);
  try {
    const refreshTokens = people.map((p) => p.refreshToken);
    const cores = availableParallelism();
    const argon2 = await server.argon2Verify(argon2Verifies);
    console.log(
      `storage: ${storage()}; ${cores} cores; ${workers} server process${workers > 1 ? 'es' : ''}; argon2id verify ${argon2.ms.toFixed(1)} ms, ${argon2.cpuMs.toFixed(1)} ms CPU (server process)`,
    );

    const refresh = await withServerCpu(server, 'refresh', () =>
      timedLoop('refresh grant', concurrency, length, async (slot) => {
        refreshTokens[slot] = (await oidc.refreshTokenGrant(rp.config, refreshTokens[slot]!)).refresh_token!;
      }),
    );
    console.log(
      `  = ${(refresh.loop.perSecond / cores).toFixed(0)} per core (target ≥ 1200); server CPU ${refresh.cpuMsPerOp.toFixed(2)} ms per grant (target ≤ 0.8)`,
    );
    console.log(`  ${storeLine(refresh.storePerOp)}`);
    const cc = await withServerCpu(server, 'client-credentials', () =>
      timedLoop('client credentials', concurrency, length, async () => {
        await oidc.clientCredentialsGrant(rp.config);
      }),
    );
    console.log(
      `  = ${(cc.loop.perSecond / cores).toFixed(0)} per core (target ≥ 1200); server CPU ${cc.cpuMsPerOp.toFixed(2)} ms per grant (target ≤ 0.8)`,
    );
    console.log(`  ${storeLine(cc.storePerOp)}`);
    // The same grant for a services entity of the federation (RFC 8707 resource): an RFC 9068 JWT, signed and stored nowhere.
    const resource = { resource: server.fed.topology.services().url, scope: SERVICES_SCOPE };
    const ccJwt = await withServerCpu(server, 'client-credentials-jwt', () =>
      timedLoop('client credentials, JWT', concurrency, length, async () => {
        await oidc.clientCredentialsGrant(rp.config, resource);
      }),
    );
    console.log(`  server CPU ${ccJwt.cpuMsPerOp.toFixed(2)} ms per grant`);
    console.log(`  ${storeLine(ccJwt.storePerOp)}`);
    // The floor under all: what any request costs the server (HTTP, the edge middleware, metrics), over the same kept-alive connections.
    const healthz = `${server.fed.url('gd')}${HEALTHZ_PATH}`;
    const noop = await withServerCpu(server, 'no-op', () =>
      timedLoop('GET /healthz', concurrency, length, async () => {
        const response = await fetch(healthz);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`GET /healthz: ${response.status}`);
      }),
    );
    console.log(`  server CPU ${noop.cpuMsPerOp.toFixed(2)} ms per request that does nothing`);
    return {
      storage: storage(),
      cores,
      workers,
      concurrency,
      refreshes: refresh.loop.ok,
      refresh_errors: refresh.loop.errors,
      refresh_per_s: round(refresh.loop.perSecond),
      refresh_per_s_per_core: round(refresh.loop.perSecond / cores),
      refresh_p50_ms: round(percentile(refresh.loop.latencies, 0.5)),
      refresh_p99_ms: round(percentile(refresh.loop.latencies, 0.99)),
      server_cpu_ms_per_refresh: round(refresh.cpuMsPerOp, 3),
      ...storeFigures('refresh', refresh.storePerOp),
      client_credentials: cc.loop.ok,
      client_credentials_errors: cc.loop.errors,
      client_credentials_per_s: round(cc.loop.perSecond),
      client_credentials_per_s_per_core: round(cc.loop.perSecond / cores),
      client_credentials_p50_ms: round(percentile(cc.loop.latencies, 0.5)),
      client_credentials_p99_ms: round(percentile(cc.loop.latencies, 0.99)),
      server_cpu_ms_per_client_credentials: round(cc.cpuMsPerOp, 3),
      ...storeFigures('client_credentials', cc.storePerOp),
      client_credentials_jwt_per_s: round(ccJwt.loop.perSecond),
      client_credentials_jwt_p50_ms: round(percentile(ccJwt.loop.latencies, 0.5)),
      server_cpu_ms_per_client_credentials_jwt: round(ccJwt.cpuMsPerOp, 3),
      ...storeFigures('client_credentials_jwt', ccJwt.storePerOp),
      server_cpu_ms_per_noop_request: round(noop.cpuMsPerOp, 3),
      ...argon2Figures(argon2),
    };
  } finally {
    await server.close();
  }
}
