/**
 * The benchmarks, one entry point: `npm run bench -- <name>|all [--smoke]` (no name: all). Each
 * benchmark prints its figures as it goes and ends with one JSON line, {"benchmark": name, …}.
 * --smoke runs each for a handful of operations, to show that it still works (npm test does, in
 * test/bench/benchmarks-smoke.test.ts); its figures mean nothing. Exits non-zero when one fails.
 * The soak runs only when named (`npm run bench -- soak --minutes N [--rate R]`): it takes minutes.
 *
 *   DATABASE_URL=… REDIS_URL=…   PostgreSQL and Redis instead of the embedded defaults
 *   BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_PERSONS, BENCH_PROFILE   see each benchmark
 */
import { parseArgs } from 'node:util';
import { printFigures, type BenchOptions, type Figures } from './measure.ts';
import { loginBenchmark } from './login.ts';
import { grantsBenchmark } from './grants.ts';
import { crossTierLoginBenchmark } from './cross-tier-login.ts';
import { trustChainBenchmark } from './trust-chain.ts';
import { catalogBenchmark } from './catalog.ts';
import { exchangeRoutingBenchmark } from './exchange-routing-bench.ts';
import { casesBenchmark } from './cases.ts';
import { SOAK_DEFAULTS, soakBenchmark } from './soak.ts';
import { exchangeBenchmark } from './exchange.ts';
import { registryBenchmark } from './registry.ts';
import { peersBenchmark } from './peers.ts';
import { workerPlan } from '../cli/workers.ts';
import { configFromEnv } from '../infra/config.ts';

const BENCHMARKS: Record<string, { about: string; run: (opts: BenchOptions) => Promise<Figures>; onlyByName?: boolean }> = {
  login: { about: 'password logins at one OP (code flow with PKCE), server CPU per login, argon2id verify time', run: loginBenchmark },
  grants: { about: 'refresh and client-credentials grants at one OP, server CPU per grant', run: grantsBenchmark },
  'cross-tier': { about: 'a login across provinces (four OPs) against a local one, warm SSO visits', run: crossTierLoginBenchmark },
  'trust-chain': { about: 'validating a trust chain of three statements held in memory', run: trustChainBenchmark },
  catalog: { about: 'catalog search over 10,000 items (p50/p99), PGlite and PostgreSQL', run: catalogBenchmark },
  // Part of `exchange` too: run by name only, so that `all` runs it once.
  'exchange-routing': {
    about: 'a data request routed across provinces (zj → national → gd → gz) against a local one: added p50',
    run: exchangeRoutingBenchmark,
    onlyByName: true,
  },
  cases: { about: 'application submissions per second over HTTP; staff queue p99 over 10^6 cases', run: casesBenchmark },
  exchange: {
    about: 'e-license verifications per second from a warm chain cache, server CPU per verification; exchange-routing',
    run: exchangeBenchmark,
  },
  registry: {
    about: 'the registry of homes filled to 10⁷ entries (--entries N): lookup p50/p99, publications per second',
    run: registryBenchmark,
  },
  peers: {
    about: 'password logins at gov-id, Glewlwyd and LemonLDAP::NG (those installed) at concurrency 1, 4 and 8',
    run: peersBenchmark,
  },
  soak: {
    about: `mixed traffic at --rate R per second (default ${SOAK_DEFAULTS.rate}) for --minutes N (default ${SOAK_DEFAULTS.minutes}): errors, latency, memory over time`,
    run: soakBenchmark,
    onlyByName: true,
  },
};
const USAGE = `npm run bench -- <name>|all [--smoke] [--entries N] [--minutes N] [--rate R] [--workers N]

${Object.entries(BENCHMARKS)
  .map(([name, b]) => `  ${name.padEnd(12)} ${b.about}`)
  .join('\n')}
  all          every benchmark above but the soak, one after the other
  --smoke      a handful of operations each: shows that the benchmarks run; figures not judged
  --entries N  registry: entries to fill (default 10⁷ on PostgreSQL, 10⁵ on PGlite)
  --minutes N  soak: how long to run (minutes)
  --rate R     soak: operations started per second
  --workers N  grants, login, peers: gov-id's OP served by N processes (node:cluster; needs DATABASE_URL and REDIS_URL)`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const OPTIONS = {
  smoke: { type: 'boolean', default: false },
  entries: { type: 'string' },
  minutes: { type: 'string' },
  rate: { type: 'string' },
  workers: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
function parse() {
  try {
    return parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (err) {
    return usageError((err as Error).message);
  }
}
const { positionals, values } = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const name = positionals[0] ?? 'all';
if (positionals.length > 1) usageError('one benchmark name, or all');
if (name !== 'all' && !Object.hasOwn(BENCHMARKS, name)) usageError(`${name}: no such benchmark`);
if ((values.minutes !== undefined || values.rate !== undefined) && name !== 'soak') usageError('--minutes and --rate are the soak’s');
const entries = values.entries === undefined ? undefined : Number(values.entries);
if (entries !== undefined && !(Number.isInteger(entries) && entries >= 0))
  usageError(`--entries: ${values.entries} is not a number of entries`);

/** A positive number given as an option's value, or undefined when the option is absent. */
function positive(option: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) usageError(`--${option}: a positive number, not ${JSON.stringify(raw)}`);
  return value;
}
/** The benchmarks whose OP may be served by workers (bench/federation-server.ts). */
const WITH_WORKERS = ['grants', 'login', 'peers'];
if (values.workers !== undefined && !WITH_WORKERS.includes(name)) usageError('--workers is the grants, login and peers benchmarks’');
function workerCount(raw: string | undefined): number | undefined {
  try {
    return raw === undefined ? undefined : workerPlan(raw, configFromEnv()).count;
  } catch (err) {
    return usageError((err as Error).message);
  }
}
const workers = workerCount(values.workers);
const timing = { minutes: positive('minutes', values.minutes), rate: positive('rate', values.rate) };

let failed = 0;
const chosen = name === 'all' ? Object.keys(BENCHMARKS).filter((b) => !BENCHMARKS[b]!.onlyByName) : [name];
for (const benchmark of chosen) {
  console.log(`\n== ${benchmark}${values.smoke ? ' (smoke)' : ''}`);
  try {
    printFigures(benchmark, {
      smoke: values.smoke,
      ...(await BENCHMARKS[benchmark]!.run({ smoke: values.smoke, entries, workers, ...timing })),
    });
  } catch (err) {
    failed++;
    console.error(`${benchmark} failed:`, err);
  }
}
// Connections and timers left behind by a closed federation must not keep the benchmark waiting.
process.exit(failed ? 1 : 0);
