/**
 * Password logins at one OP (gd): authorization request, identifier, password, code, token
 * exchange with PKCE, at each concurrency level in turn (docs/DESIGN "Targets": at least 90% of
 * the argon2id bound; server CPU per login at most the argon2id verify plus 3 ms). The OP runs in
 * a process of its own; its CPU time per login is the robust figure on a shared machine. Then the
 * same login with the relying party's `login_hint` naming the person (the password page comes
 * first: one request fewer), and logins one at a time showing the server's CPU and storage
 * operations for each request of both (bench/cpu-by-request.ts).
 *
 * The figures of the first level keep their names (`server_cpu_ms_per_login`, …); every level's
 * carry its concurrency (`server_cpu_ms_per_login_c8`, `logins_per_s_c1`, `login_errors_c4`).
 *
 *   BENCH_SECONDS (default 10 per level), BENCH_CONCURRENCY (default 1,4,8), BENCH_PROFILE (bench/federation-process.ts)
 *   --workers N: the OP served by N processes (node:cluster; PostgreSQL and Redis), its CPU summed over them
 */
import { availableParallelism } from 'node:os';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, passwordLogin, redeem } from '../test/helpers/flows.ts';
import { storeFigures, storeLine, withServerCpu, type FederationProcess } from './federation-process.ts';
import { serverCpuByRequest } from './cpu-by-request.ts';
import { BENCH_PASSWORD, startOpWithPeople, type OpWithPeople } from './op-with-people.ts';
import {
  argon2Figures,
  concurrencyLevels,
  loopSettings,
  percentile,
  round,
  storage,
  timedLoop,
  type Argon2Verify,
  type BenchOptions,
  type Figures,
  type LoopLength,
} from './measure.ts';

/** One password login of person `slot` through the OP's pages; with `hinted`, the relying party names the person (login_hint). */
const passwordLoginOf =
  ({ rp, people }: OpWithPeople, hinted: boolean) =>
  async (slot: number) => {
    const { id_number } = people[slot]!.person;
    const ua = new UserAgent();
    const a = await authorize(rp, ua, hinted ? { login_hint: id_number } : {});
    await redeem(rp, await passwordLogin(ua, a.page, id_number, BENCH_PASSWORD), a);
  };

/** Logins at one concurrency for the loop's length: rate, latency, the server's CPU and storage operations per login. */
async function measureLogins(
  server: FederationProcess,
  name: string,
  label: string,
  concurrency: number,
  length: LoopLength,
  login: (slot: number) => Promise<void>,
  argon2: Argon2Verify,
  bound: number,
) {
  const { loop, cpuMsPerOp, storePerOp } = await withServerCpu(server, name, () => timedLoop(label, concurrency, length, login));
  console.log(
    `  = ${((loop.perSecond / bound) * 100).toFixed(0)}% of the argon2id bound (target ≥ 90%); server CPU ${cpuMsPerOp.toFixed(1)} ms per login, argon2id CPU + ${(cpuMsPerOp - argon2.cpuMs).toFixed(1)} ms (target ≤ 3 ms)`,
  );
  console.log(`  ${storeLine(storePerOp)}`);
  return {
    figures: {
      logins: loop.ok,
      errors: loop.errors,
      logins_per_s: round(loop.perSecond),
      p50_ms: round(percentile(loop.latencies, 0.5)),
      p99_ms: round(percentile(loop.latencies, 0.99)),
      percent_of_argon2_bound: round((loop.perSecond / bound) * 100, 1),
      server_cpu_ms_per_login: round(cpuMsPerOp),
      server_cpu_ms_per_login_beyond_argon2: round(cpuMsPerOp - argon2.cpuMs),
    },
    storePerOp,
  };
}
type LevelFigures = Awaited<ReturnType<typeof measureLogins>>['figures'];

/** A level's figures under the names of the first level's (the interface) or, with `suffix`, of every level's. */
function named(f: LevelFigures, suffix = ''): Figures {
  return {
    [`logins${suffix}`]: f.logins,
    [suffix ? `login_errors${suffix}` : 'errors']: f.errors,
    [`logins_per_s${suffix}`]: f.logins_per_s,
    [`login_p50_ms${suffix}`]: f.p50_ms,
    [`login_p99_ms${suffix}`]: f.p99_ms,
    [`percent_of_argon2_bound${suffix}`]: f.percent_of_argon2_bound,
    [`server_cpu_ms_per_login${suffix}`]: f.server_cpu_ms_per_login,
    [`server_cpu_ms_per_login_beyond_argon2${suffix}`]: f.server_cpu_ms_per_login_beyond_argon2,
  };
}

/**
 * Median server CPU and storage operations per request of `runs` logins one at a time, printed,
 * and as figures: `…cpu_ms_by_request` ("GET /auth 1.47; …") and `…storage_by_request` ("GET /auth
 * 0 SQL + 1 KV; …"; rate-limiter calls not counted).
 */
async function byRequest(server: FederationProcess, op: OpWithPeople, runs: number, hinted: boolean) {
  const login = passwordLoginOf(op, hinted);
  const requests = await serverCpuByRequest(server, new URL(op.rp.issuer).origin, runs, () => login(0));
  console.log(
    `server CPU and storage by request${hinted ? ' (login_hint)' : ''}, median of ${runs} logins one at a time (the password's includes argon2id):`,
  );
  for (const { request, cpuMs, sql, kv } of requests)
    console.log(`  ${cpuMs.toFixed(2).padStart(7)} ms  ${sql} SQL + ${kv} KV  ${request}`);
  return {
    cpu: requests.map(({ request, cpuMs }) => `${request} ${cpuMs.toFixed(2)}`).join('; '),
    storage: requests.map(({ request, sql, kv }) => `${request} ${sql} SQL + ${kv} KV`).join('; '),
  };
}

export async function loginBenchmark(opts: BenchOptions): Promise<Figures> {
  const { length, argon2Verifies } = loopSettings(opts);
  const levels = opts.smoke ? [1, 2] : concurrencyLevels([1, 4, 8]);
  const workers = opts.workers ?? 1;
  const op = await startOpWithPeople(Math.max(...levels), undefined, workers);
  const { server } = op;
  try {
    const cores = availableParallelism();
    const argon2 = await server.argon2Verify(argon2Verifies);
    const bound = (cores * 1000) / argon2.ms;
    console.log(
      `storage: ${storage()}; ${cores} cores; ${workers} server process${workers > 1 ? 'es' : ''}; argon2id verify ${argon2.ms.toFixed(1)} ms, ${argon2.cpuMs.toFixed(1)} ms CPU (server process) → bound ${bound.toFixed(1)} logins/s`,
    );

    const atLevel: Figures = {};
    let first: Awaited<ReturnType<typeof measureLogins>> | undefined;
    for (const concurrency of levels) {
      const level = await measureLogins(
        server,
        `login-c${concurrency}`,
        'password login',
        concurrency,
        length,
        passwordLoginOf(op, false),
        argon2,
        bound,
      );
      first ??= level;
      Object.assign(atLevel, named(level.figures, `_c${concurrency}`));
    }
    const hinted = await measureLogins(
      server,
      'login-hint',
      'login, login_hint',
      levels[0]!,
      length,
      passwordLoginOf(op, true),
      argon2,
      bound,
    );

    const runs = opts.smoke ? 2 : 20;
    const plain = await byRequest(server, op, runs, false);
    const withHint = await byRequest(server, op, runs, true);
    return {
      storage: storage(),
      cores,
      workers,
      concurrency: levels[0]!,
      concurrency_levels: levels.join(','),
      ...named(first!.figures),
      ...argon2Figures(argon2),
      argon2_bound_per_s: round(bound),
      ...storeFigures('login', first!.storePerOp),
      server_cpu_ms_by_request: plain.cpu,
      server_storage_by_request: plain.storage,
      ...atLevel,
      login_hint_logins: hinted.figures.logins,
      login_hint_errors: hinted.figures.errors,
      login_hint_logins_per_s: hinted.figures.logins_per_s,
      login_hint_p50_ms: hinted.figures.p50_ms,
      login_hint_server_cpu_ms_per_login: hinted.figures.server_cpu_ms_per_login,
      login_hint_server_cpu_ms_per_login_beyond_argon2: hinted.figures.server_cpu_ms_per_login_beyond_argon2,
      ...storeFigures('login_hint', hinted.storePerOp),
      login_hint_server_cpu_ms_by_request: withHint.cpu,
      login_hint_server_storage_by_request: withHint.storage,
    };
  } finally {
    await server.close();
  }
}
