/**
 * Password logins at one OP (gd): authorization request, identifier, password, code, token
 * exchange with PKCE, at a fixed concurrency (docs/DESIGN "Targets": at least 90% of the argon2id
 * bound; server CPU per login at most the argon2id verify plus 3 ms). The OP runs in a process of
 * its own; its CPU time per login is the robust figure on a shared machine. Then logins one at a
 * time show the server's CPU for each request of a login (bench/cpu-by-request.ts).
 *
 *   BENCH_SECONDS (default 10), BENCH_CONCURRENCY (default 4), BENCH_PROFILE (bench/federation-process.ts)
 */
import { availableParallelism } from 'node:os';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, passwordLogin, redeem } from '../test/helpers/flows.ts';
import { storeFigures, storeLine, withServerCpu } from './federation-process.ts';
import { serverCpuByRequest } from './cpu-by-request.ts';
import { BENCH_PASSWORD, startOpWithPeople } from './op-with-people.ts';
import { argon2Figures, loopSettings, percentile, round, storage, timedLoop, type BenchOptions, type Figures } from './measure.ts';

export async function loginBenchmark(opts: BenchOptions): Promise<Figures> {
  const { concurrency, length, argon2Verifies } = loopSettings(opts);
  const { server, rp, people } = await startOpWithPeople(concurrency);
  try {
    const cores = availableParallelism();
    const argon2 = await server.argon2Verify(argon2Verifies);
    const bound = (cores * 1000) / argon2.ms;
    console.log(
      `storage: ${storage()}; ${cores} cores; argon2id verify ${argon2.ms.toFixed(1)} ms, ${argon2.cpuMs.toFixed(1)} ms CPU (server process) → bound ${bound.toFixed(1)} logins/s`,
    );

    const {
      loop: logins,
      cpuMsPerOp: cpuPerLogin,
      storePerOp,
    } = await withServerCpu(server, 'login', () =>
      timedLoop('password login', concurrency, length, async (slot) => {
        const ua = new UserAgent();
        const a = await authorize(rp, ua);
        await redeem(rp, await passwordLogin(ua, a.page, people[slot]!.person.id_number, BENCH_PASSWORD), a);
      }),
    );
    console.log(
      `  = ${((logins.perSecond / bound) * 100).toFixed(0)}% of the argon2id bound (target ≥ 90%); server CPU ${cpuPerLogin.toFixed(1)} ms per login, argon2id CPU + ${(cpuPerLogin - argon2.cpuMs).toFixed(1)} ms (target ≤ 3 ms)`,
    );
    console.log(`  ${storeLine(storePerOp)}`);

    const runs = opts.smoke ? 2 : 20;
    const byRequest = await serverCpuByRequest(server, new URL(rp.issuer).origin, runs, async () => {
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      await redeem(rp, await passwordLogin(ua, a.page, people[0]!.person.id_number, BENCH_PASSWORD), a);
    });
    console.log(`server CPU by request, median of ${runs} logins one at a time (the password's includes argon2id):`);
    for (const { request, cpuMs } of byRequest) console.log(`  ${cpuMs.toFixed(2).padStart(7)} ms  ${request}`);
    return {
      storage: storage(),
      cores,
      concurrency,
      logins: logins.ok,
      errors: logins.errors,
      logins_per_s: round(logins.perSecond),
      login_p50_ms: round(percentile(logins.latencies, 0.5)),
      login_p99_ms: round(percentile(logins.latencies, 0.99)),
      ...argon2Figures(argon2),
      argon2_bound_per_s: round(bound),
      percent_of_argon2_bound: round((logins.perSecond / bound) * 100, 1),
      server_cpu_ms_per_login: round(cpuPerLogin),
      server_cpu_ms_per_login_beyond_argon2: round(cpuPerLogin - argon2.cpuMs),
      ...storeFigures('login', storePerOp),
      server_cpu_ms_by_request: byRequest.map(({ request, cpuMs }) => `${request} ${cpuMs.toFixed(2)}`).join('; '),
    };
  } finally {
    await server.close();
  }
}
