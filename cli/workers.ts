/**
 * `--workers N`: `gov-id serve` and `start` run N processes serving the same entities
 * (node:cluster), which share the entities' ports: each connection goes to one of them. They
 * share nothing else but PostgreSQL and Redis, so more than one needs both; the default is one
 * per core there, and one on the embedded defaults, whose PGlite and in-process store belong to
 * the process that opened them.
 *
 * The first worker starts alone (it applies migrations and creates the keys of a new
 * deployment), the others once it listens. A worker that dies is replaced; SIGINT or SIGTERM
 * stops them all.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { DeploymentConfig } from '../infra/config.ts';
import { UsageError } from './command.ts';

export interface WorkerPlan {
  count: number;
  /** Why there is one process only on the embedded defaults, for the start line. */
  note?: string;
}

const ONE_PROCESS_NOTE = 'one process: the embedded PGlite and in-process store belong to it (--workers needs DATABASE_URL and REDIS_URL)';

/** --workers N (default: the cores, on PostgreSQL and Redis; else one). */
export function workerPlan(value: string | undefined, config: DeploymentConfig): WorkerPlan {
  const shared = Boolean(config.databaseUrl && config.redisUrl);
  if (value === undefined) return shared ? { count: availableParallelism() } : { count: 1, note: ONE_PROCESS_NOTE };
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 1024)
    throw new UsageError(`--workers: ${value} is not a number of processes (1 to 1024)`);
  if (count > 1 && !shared)
    throw new UsageError(
      '--workers: more than one process needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL); the embedded PGlite and in-process store serve one process',
    );
  return shared ? { count } : { count, note: ONE_PROCESS_NOTE };
}

/** What a worker tells the primary once it listens: its start line's entity lines. */
interface Ready {
  kind: 'gov-id-ready';
  pid: number;
  lines: string[];
}

/** In a worker: tells the primary it listens. */
export function reportReady(lines: string[]): void {
  process.send?.({ kind: 'gov-id-ready', pid: process.pid, lines } satisfies Ready);
}

export const isWorker = () => cluster.isWorker;

/** A replacement for a worker that died is started at most this often, so that a crash loop does not spin. */
const RESTART_PAUSE_MS = 1000;

/**
 * In the primary: starts `count` workers (this same command line, in processes of their own),
 * prints the start line (`header` of the number of entities) with the first worker's entity
 * lines, and supervises them until SIGINT or SIGTERM. Exits 1 when a worker fails before it listens.
 */
export async function superviseWorkers(count: number, header: (entities: number) => string): Promise<number> {
  let stopping = false;
  const live = new Set<Worker>();
  /** Replacements waiting for their pause: cancelled when everything stops. */
  const restarts = new Set<NodeJS.Timeout>();
  const fork = (): Promise<Ready> =>
    new Promise<Ready>((resolve, reject) => {
      const worker = cluster.fork();
      live.add(worker);
      let ready = false;
      worker.on('message', (m: Ready) => {
        if (m?.kind !== 'gov-id-ready') return;
        ready = true;
        resolve(m);
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        if (!ready) return reject(new Error(`a worker exited before it listened (${signal ?? `exit code ${code}`})`));
        if (stopping) return;
        process.stderr.write(`gov-id: worker ${worker.process.pid} died (${signal ?? `exit code ${code}`}); starting another\n`);
        replaceLater();
      });
    });
  /** Forks a replacement after a pause, again after a pause as long as it fails before it listens. */
  function replaceLater() {
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (stopping) return;
      fork().then(
        (ready) => process.stderr.write(`gov-id: worker ${ready.pid} replaces it\n`),
        (err: Error) => {
          if (stopping) return;
          process.stderr.write(`gov-id: ${err.message}; trying again\n`);
          replaceLater();
        },
      );
    }, RESTART_PAUSE_MS);
    restarts.add(timer);
  }
  const stopAll = async () => {
    stopping = true;
    for (const timer of restarts) clearTimeout(timer);
    await Promise.all(
      [...live].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.kill('SIGTERM');
          }),
      ),
    );
  };
  const signalled = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    const first = await fork();
    await Promise.all(Array.from({ length: count - 1 }, fork));
    const pids = [...live].map((w) => w.process.pid).join(', ');
    process.stdout.write(`${header(first.lines.length)}, ${count} worker processes (pids ${pids})\n${first.lines.join('\n')}\n`);
  } catch (err) {
    process.stderr.write(`gov-id: ${(err as Error).message}\n`);
    await stopAll();
    return 1;
  }
  await signalled;
  await stopAll();
  return 0;
}
