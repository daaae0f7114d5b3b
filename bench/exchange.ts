/**
 * `npm run bench -- exchange` (issue 14): e-license verification from a warm chain cache
 * (bench/license-verification.ts), then the added time of a data request routed across provinces
 * (bench/exchange-routing-bench.ts, also `npm run bench -- exchange-routing` alone).
 */
import type { BenchOptions, Figures } from './measure.ts';
import { licenseVerificationFigures } from './license-verification.ts';
import { exchangeRoutingBenchmark } from './exchange-routing-bench.ts';

export async function exchangeBenchmark(opts: BenchOptions): Promise<Figures> {
  return { ...(await licenseVerificationFigures(opts)), ...(await exchangeRoutingBenchmark(opts)) };
}
