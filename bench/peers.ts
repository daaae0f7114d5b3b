/**
 * Password logins at gov-id's OP against two peers on the same machine in the same run (issue
 * 17): Glewlwyd and LemonLDAP::NG as Debian packages them, each started here from the installed
 * packages in a folder of its own (bench/peers/). One relying party drives all three alike:
 * openid-client's code flow with PKCE, the server's login page or login API as a browser uses
 * them, the token request with the ID token's checks, then userinfo. At concurrency 1, 4 and 8
 * (BENCH_SECONDS each, default 10), the servers taking turns at each level, first one then the
 * next, so that the machine's load weighs on all of them alike. The CPU time per login is each
 * server's own: gov-id's server process over IPC, as the login benchmark reads it; a peer's every
 * process (nginx and the FastCGI servers too) from /proc.
 *
 * A peer not installed is said so and skipped. --smoke: one login per slot at each level.
 * --workers N: gov-id's OP served by N processes (PostgreSQL and Redis), as in production.
 *   BENCH_SECONDS (default 10), BENCH_PROFILE (gov-id's server, bench/federation-process.ts)
 */
import { availableParallelism } from 'node:os';
import { ARGON2_OPTIONS } from '../idp/accounts/password.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, oidc, passwordLogin, redeem } from '../test/helpers/flows.ts';
import { withServerCpu } from './federation-process.ts';
import { BENCH_PASSWORD, startOpWithPeople } from './op-with-people.ts';
import { argon2Figures, ms, percentile, round, storage, timedLoop, type BenchOptions, type Figures, type LoopLength } from './measure.ts';
import { debianPackageVersion } from './peers/processes.ts';
import type { LoginServer, Peer } from './peers/login-server.ts';
import { glewlwyd } from './peers/glewlwyd.ts';
import { lemonldap } from './peers/lemonldap.ts';

const PEERS: Peer[] = [glewlwyd, lemonldap];
const LEVELS = [1, 4, 8];

/** gov-id's OP as the login benchmark runs it, with a person registered for each slot. */
async function startGovId(people: number, workers: number) {
  const { server, rp, people: registered } = await startOpWithPeople(people, undefined, workers);
  const { memoryCost, timeCost, parallelism } = ARGON2_OPTIONS;
  const govId: LoginServer = {
    key: 'gov_id',
    title: workers > 1 ? `gov-id ×${workers}` : 'gov-id',
    hashing: `argon2id, m=${memoryCost / 1024} MiB, t=${timeCost}, p=${parallelism}`,
    rp,
    scope: 'openid profile phone',
    signIn: (ua, page, slot) => passwordLogin(ua, page, registered[slot]!.person.id_number, BENCH_PASSWORD),
    measure: async (name, loop) => {
      const measured = await withServerCpu(server, name, loop);
      return { loop: measured.loop, cpuMsPerLogin: measured.cpuMsPerOp };
    },
    close: () => server.close(),
  };
  return { govId, server };
}

/** One login as a relying party does it: authorization request with PKCE, the server's pages, token, ID token checks, userinfo. */
async function login(server: LoginServer, slot: number): Promise<void> {
  const ua = new UserAgent();
  const a = await authorize(server.rp, ua, { scope: server.scope });
  const tokens = await redeem(server.rp, await server.signIn(ua, a.page, slot), a);
  await oidc.fetchUserInfo(server.rp.config, tokens.access_token, tokens.claims()!.sub);
}

/** The servers in turn, starting at the `level`-th: each goes first at some level. */
const inTurn = <T>(items: T[], level: number) => items.map((_, i) => items[(i + level) % items.length]!);

export async function peersBenchmark(opts: BenchOptions): Promise<Figures> {
  const slots = Math.max(...LEVELS);
  const length: LoopLength = opts.smoke ? { operationsPerSlot: 1 } : { seconds: Number(process.env.BENCH_SECONDS ?? 10) };
  const cores = availableParallelism();
  const workers = opts.workers ?? 1;
  const figures: Figures = { storage: storage(), cores, workers };
  const { govId, server } = await startGovId(slots, workers);
  const servers: LoginServer[] = [govId];
  try {
    const argon2 = await server.argon2Verify(opts.smoke ? 2 : 20);
    Object.assign(figures, argon2Figures(argon2));
    for (const peer of PEERS) {
      const versions = peer.packages.map(debianPackageVersion);
      figures[`${peer.key}_installed`] = versions.every(Boolean);
      if (!figures[`${peer.key}_installed`]) {
        console.log(`${peer.title}: not installed (apt-get install -y ${peer.packages.join(' ')}); skipped`);
        continue;
      }
      figures[`${peer.key}_version`] = versions[0]!;
      servers.push(await peer.start(slots));
    }
    console.log(`storage (gov-id): ${storage()}; ${cores} cores; argon2id verify ${ms(argon2.ms)}, ${ms(argon2.cpuMs)} CPU`);
    for (const s of servers) console.log(`${s.title.padEnd(14)} ${s.rp.issuer}  passwords: ${s.hashing}`);
    for (const s of servers) figures[`${s.key}_password_hashing`] = s.hashing;

    // Each server's first logins load code (the JIT, LemonLDAP's FastCGI servers their portal): not measured.
    for (const s of servers)
      await timedLoop(`${s.title} warm-up`, slots, { operationsPerSlot: opts.smoke ? 1 : 3 }, (slot) => login(s, slot));

    const rows: { key: string; line: string }[] = [];
    for (const [level, concurrency] of LEVELS.entries())
      for (const s of inTurn(servers, level)) {
        const { loop, cpuMsPerLogin } = await s.measure(`peers-${s.key}-c${concurrency}`, () =>
          timedLoop(`${s.title} c${concurrency}`, concurrency, length, (slot) => login(s, slot)),
        );
        const at = (figure: string, value: number) => (figures[`${s.key}_${figure}_c${concurrency}`] = value);
        at('logins_per_s', round(loop.perSecond));
        at('login_p50_ms', round(percentile(loop.latencies, 0.5)));
        at('login_p99_ms', round(percentile(loop.latencies, 0.99)));
        at('errors', loop.errors);
        at('server_cpu_ms_per_login', round(cpuMsPerLogin));
        rows.push({
          key: s.key,
          line: `${s.title.padEnd(14)} ${String(concurrency).padStart(2)} ${loop.perSecond.toFixed(1).padStart(9)} ${ms(percentile(loop.latencies, 0.5)).padStart(10)} ${ms(percentile(loop.latencies, 0.99)).padStart(10)} ${String(loop.errors).padStart(6)} ${cpuMsPerLogin.toFixed(1).padStart(10)} ms`,
        });
      }
    console.log(
      `\nserver          c  logins/s        p50        p99 errors  CPU/login\n${servers.flatMap((s) => rows.filter((r) => r.key === s.key).map((r) => r.line)).join('\n')}`,
    );
    return figures;
  } finally {
    for (const s of servers) await s.close().catch((err: Error) => console.error(`closing ${s.title}: ${err.message}`));
  }
}
