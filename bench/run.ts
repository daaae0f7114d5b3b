/**
 * The benchmarks, one entry point: `npm run bench -- <name>|all [--smoke]` (no name: all). Each
 * benchmark prints its figures as it goes and ends with one JSON line, {"benchmark": name, …}.
 * --smoke runs each for a handful of operations, to show that it still works (npm test does, in
 * test/bench/benchmarks-smoke.test.ts); its figures mean nothing. Exits non-zero when one fails.
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
import { exchangeBenchmark } from './exchange.ts';

const BENCHMARKS: Record<string, { about: string; run: (opts: BenchOptions) => Promise<Figures> }> = {
  login: { about: 'password logins at one OP (code flow with PKCE), server CPU per login, argon2id verify time', run: loginBenchmark },
  grants: { about: 'refresh and client-credentials grants at one OP, server CPU per grant', run: grantsBenchmark },
  'cross-tier': { about: 'a login across provinces (four OPs) against a local one, warm SSO visits', run: crossTierLoginBenchmark },
  'trust-chain': { about: 'validating a trust chain of three statements held in memory', run: trustChainBenchmark },
  catalog: { about: 'catalog search over 10,000 items (p50/p99), PGlite and PostgreSQL', run: catalogBenchmark },
  exchange: { about: 'e-license verifications per second from a warm chain cache, server CPU per verification', run: exchangeBenchmark },
};
const NOT_YET = { registry: 'lookups in the registry of homes' };

const USAGE = `npm run bench -- <name>|all [--smoke]

${Object.entries(BENCHMARKS)
  .map(([name, b]) => `  ${name.padEnd(12)} ${b.about}`)
  .join('\n')}
${Object.entries(NOT_YET)
  .map(([name, about]) => `  ${name.padEnd(12)} (not yet) ${about}`)
  .join('\n')}
  all          every benchmark above, one after the other
  --smoke      a handful of operations each: shows that the benchmarks run; figures not judged`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const OPTIONS = { smoke: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } as const;
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
if (Object.hasOwn(NOT_YET, name)) usageError(`${name}: not yet built`);
if (name !== 'all' && !Object.hasOwn(BENCHMARKS, name)) usageError(`${name}: no such benchmark`);

let failed = 0;
for (const benchmark of name === 'all' ? Object.keys(BENCHMARKS) : [name]) {
  console.log(`\n== ${benchmark}${values.smoke ? ' (smoke)' : ''}`);
  try {
    printFigures(benchmark, { smoke: values.smoke, ...(await BENCHMARKS[benchmark]!.run({ smoke: values.smoke })) });
  } catch (err) {
    failed++;
    console.error(`${benchmark} failed:`, err);
  }
}
// Connections and timers left behind by a closed federation must not keep the benchmark waiting.
process.exit(failed ? 1 : 0);
