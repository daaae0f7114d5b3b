/**
 * BENCH_PROFILE=DIR: a V8 CPU profile of one measured stretch of a process (a loop, not its
 * start-up), written to DIR/NAME.cpuprofile for Chrome DevTools or speedscope. The profiler slows
 * what it watches: a profiled run's times are not the benchmark's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Starts profiling this process when BENCH_PROFILE is set; the function returned stops and writes the file. */
export async function startCpuProfile(name: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.error(`CPU profile: ${file} (the profiler slows what it watches: these times are not the benchmark's)`);
  };
}
