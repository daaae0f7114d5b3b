/**
 * `npm run bench -- exchange` (issue 14): e-license verification from a warm chain cache
 * (bench/license-verification.ts). The routed cross-province data request's added time joins it
 * when the exchange is built.
 */
import type { BenchOptions, Figures } from './measure.ts';
import { licenseVerificationFigures } from './license-verification.ts';

export async function exchangeBenchmark(opts: BenchOptions): Promise<Figures> {
  return licenseVerificationFigures(opts);
}
