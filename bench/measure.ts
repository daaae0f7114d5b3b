/**
 * What every benchmark measures with: a timing loop at a fixed concurrency, percentiles, CPU time
 * of a process between two readings, the argon2id verify time at the project's parameters, and
 * the one JSON line a benchmark ends with.
 */
import { hashPassword, verifyPassword } from '../idp/accounts/password.ts';
import { configFromEnv } from '../infra/config.ts';
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../infra/database.ts';

export interface BenchOptions {
  /** A handful of operations, to show that the benchmark still runs; its figures mean nothing. */
  smoke: boolean;
  /** `--entries N`: the size of the registry benchmark's registry. */
  entries?: number;
  /** How long a timed run lasts, for the benchmarks that take it (soak: `--minutes`). */
  minutes?: number;
  /** Operations started per second, for the benchmarks that take it (soak: `--rate`). */
  rate?: number;
  /** `--workers N` (grants, login): the OP served by N processes (node:cluster), on PostgreSQL and Redis. */
  workers?: number;
}

/** Figures of one benchmark, as its JSON line carries them. */
export type Figures = Record<string, number | string | boolean | null>;

/** Concurrency, loop length and argon2id verifies: from BENCH_CONCURRENCY and BENCH_SECONDS, or a handful in smoke mode. */
export function loopSettings(opts: BenchOptions): { concurrency: number; length: LoopLength; argon2Verifies: number } {
  if (opts.smoke) return { concurrency: 2, length: { operationsPerSlot: 3 }, argon2Verifies: 2 };
  return {
    // A benchmark measuring at one level takes the first of a list.
    concurrency: concurrencyLevels([4])[0]!,
    length: { seconds: Number(process.env.BENCH_SECONDS ?? 10) },
    argon2Verifies: 20,
  };
}

/** BENCH_CONCURRENCY as levels to measure at, one or a list (`1,4,8`); `fallback` when unset. */
export function concurrencyLevels(fallback: number[]): number[] {
  const raw = process.env.BENCH_CONCURRENCY;
  if (raw === undefined || raw.trim() === '') return fallback;
  const levels = raw.split(',').map((level) => Number(level.trim()));
  if (!levels.every((level) => Number.isInteger(level) && level > 0))
    throw new Error(`BENCH_CONCURRENCY: ${JSON.stringify(raw)} is not a positive number or a list of them (1,4,8)`);
  return levels;
}

/** How long a loop runs: for a time, or a number of operations per slot (smoke mode). */
export type LoopLength = { seconds: number } | { operationsPerSlot: number };

export interface LoopResult {
  ok: number;
  errors: number;
  seconds: number;
  /** Latencies of the successful operations, in milliseconds, sorted. */
  latencies: number[];
  perSecond: number;
}

/** Runs `operation` in `concurrency` slots at once until the loop's length is reached. */
export async function timedLoop(
  label: string,
  concurrency: number,
  length: LoopLength,
  operation: (slot: number) => Promise<void>,
): Promise<LoopResult> {
  const latencies: number[] = [];
  let errors = 0;
  const end = 'seconds' in length ? performance.now() + length.seconds * 1000 : Infinity;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      for (let done = 0; 'seconds' in length ? performance.now() < end : done < length.operationsPerSlot; done++) {
        const t0 = performance.now();
        try {
          await operation(slot);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errors === 1) console.error(`${label}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  if (latencies.length === 0) throw new Error(`${label}: no operation succeeded (${errors} errors)`);
  const result = { ok: latencies.length, errors, seconds, latencies, perSecond: latencies.length / seconds };
  console.log(
    `${label.padEnd(20)} ${result.perSecond.toFixed(1).padStart(8)}/s  p50 ${ms(percentile(latencies, 0.5))}  p99 ${ms(percentile(latencies, 0.99))}  (${result.ok} ok, ${errors} errors, concurrency ${concurrency}, ${seconds.toFixed(1)} s)`,
  );
  return result;
}

/** The p-quantile (0 … 1) of values sorted ascending, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** Milliseconds for reading: three decimals below one. */
export const ms = (x: number) => `${x.toFixed(x < 1 ? 3 : 1)} ms`;

export const ascending = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** User plus system CPU time of this process so far, in milliseconds. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export interface Argon2Verify {
  /** Wall time of one verify: what a login waits for, inflated when the machine is loaded. */
  ms: number;
  /** CPU time of one verify (argon2 works on libuv's threads, which the process's CPU time counts). */
  cpuMs: number;
}

/** One argon2id verify with the project's parameters (idp/accounts/password.ts), in this process, one after another. */
export async function argon2Verify(verifies: number): Promise<Argon2Verify> {
  const password = 'Bench-argon2-1';
  const hash = await hashPassword(password);
  const t0 = performance.now();
  const cpu0 = processCpuMs();
  for (let i = 0; i < verifies; i++) if (!(await verifyPassword(hash, password))) throw new Error('argon2id verify failed');
  return { ms: (performance.now() - t0) / verifies, cpuMs: (processCpuMs() - cpu0) / verifies };
}

export const argon2Figures = (a: Argon2Verify): Figures => ({ argon2_verify_ms: round(a.ms), argon2_verify_cpu_ms: round(a.cpuMs) });

/** The storage the servers use (DATABASE_URL, REDIS_URL), as the figures name it. */
export function storage(config = configFromEnv()): string {
  return `${config.databaseUrl ? 'PostgreSQL' : 'PGlite'} + ${config.redisUrl ? 'Redis' : 'in-process store'}`;
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** A benchmark's last line: one JSON object with its name and figures. */
export function printFigures(benchmark: string, figures: Figures): void {
  console.log(JSON.stringify({ benchmark, ...figures }));
}

/**
 * Runs `measure` on the embedded PGlite and, when DATABASE_URL is set, on PostgreSQL, each in a
 * fresh schema named after `prefix` (dropped from PostgreSQL afterwards); their figures merged.
 */
export async function onEachEngine(
  prefix: string,
  measure: (engine: 'pglite' | 'postgres', db: Database) => Promise<Figures>,
): Promise<Figures> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const figures: Figures = {};
  const pglite = await openDatabase({ dataDir: `memory://${schema}`, schema });
  try {
    Object.assign(figures, await measure('pglite', pglite));
  } finally {
    await pglite.close();
  }
  const url = process.env.DATABASE_URL;
  if (url) {
    const postgres = await openDatabase({ url, dataDir: '', schema });
    try {
      Object.assign(figures, await measure('postgres', postgres));
    } finally {
      await postgres.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await postgres.close();
    }
  }
  return figures;
}
