/**
 * The federation a benchmark loads, in a process of its own (as in a deployment, and so that the
 * CPU time it reports is the servers' alone). Started by bench/federation-process.ts with the IDs
 * of the entities to run; answers its questions over IPC: this process's CPU time, argon2id
 * verify times measured here, on the cores the servers use, the storage operations of its
 * entities so far (store-use.ts), and CPU profiles of a stretch.
 *
 * BENCH_WORKERS=N (N > 1, PostgreSQL and Redis): the entities are served by N worker processes
 * (node:cluster, as `gov-id start --workers N` runs them), this process being their primary. Its
 * answers then cover them all: CPU time and storage operations summed over the workers and the
 * primary (which hands connections to the workers), a profile per worker, argon2id in the first.
 */
import cluster, { type Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import { startTestFederation } from '../test/helpers/test-federation.ts';
import { startHost, type Host, type HostOptions } from '../cli/entity-host.ts';
import { parseTopology } from '../federation/topology.ts';
import type { DeploymentConfig } from '../infra/config.ts';
import { createLogger } from '../infra/log.ts';
import { argon2Verify, processCpuMs } from './measure.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { addStoreUse, instrumentStores, noStoreUse, type StoreUse } from './store-use.ts';
import { questionsTo, type FederationReady, type Question, type ServerAnswer, type ServerQuestion } from './federation-process.ts';

type Ask = (q: Question) => Promise<unknown>;
/** What the primary gives each worker (in its environment): where the entities live and which to host. */
interface WorkerTask {
  config: DeploymentConfig;
  ids: string[];
}
const WORKER_TASK = 'BENCH_WORKER_TASK';

/** Answers the benchmark's questions about the entities hosted in this very process. */
function answering(host: Host): (q: Question) => Promise<unknown> {
  const storeUse = new Map<string, StoreUse>();
  for (const h of host.entities) instrumentStores(h.entity.id, h.runtime.db, h.runtime.kv, () => storeUse);
  let stopProfile: (() => Promise<void>) | undefined;
  return async (question) => {
    switch (question.kind) {
      case 'profile':
        stopProfile = await startCpuProfile(question.name);
        return null;
      case 'profile-end':
        await stopProfile?.();
        stopProfile = undefined;
        return null;
      case 'cpu':
        return processCpuMs();
      case 'store':
        return [...storeUse.values()].reduce(addStoreUse, noStoreUse());
      case 'argon2':
        return argon2Verify(question.verifies);
    }
  };
}

/** The same answers for entities hosted by workers: sums over the workers (and this primary's CPU), a profile per worker. */
function answeringForWorkers(workers: Ask[]): (q: Question) => Promise<unknown> {
  const all = (q: Question | ((n: number) => Question)) => Promise.all(workers.map((ask, n) => ask(typeof q === 'function' ? q(n) : q)));
  return async (question) => {
    switch (question.kind) {
      case 'profile':
        return all((n) => ({ kind: 'profile', name: `${question.name}.worker${n + 1}` })).then(() => null);
      case 'profile-end':
        return all(question).then(() => null);
      case 'cpu':
        return ((await all(question)) as number[]).reduce((a, b) => a + b, processCpuMs());
      case 'store':
        return ((await all(question)) as StoreUse[]).reduce(addStoreUse, noStoreUse());
      case 'argon2':
        return workers[0]!(question);
    }
  };
}

/** Answers questions (and `close`) arriving over this process's IPC channel. */
function serveQuestions(answer: (q: Question) => Promise<unknown>, close: () => Promise<unknown>): void {
  process.on('message', (question: ServerQuestion | { kind: 'close' }) => {
    if (question.kind === 'close') return void close();
    answer(question).then(
      (value) => process.send!({ id: question.id, value } satisfies ServerAnswer),
      (err: Error) => process.send!({ id: question.id, error: err.message } satisfies ServerAnswer),
    );
  });
  // The benchmark (or the primary) ended without closing (killed, crashed): stop all the same.
  process.on('disconnect', () => void close());
}

/** In the primary: the entities hosted by `count` workers, the first started alone (it migrates and makes the keys). */
function inWorkers(count: number, asks: Ask[]) {
  return async (options: HostOptions, ids: string[]): Promise<Host> => {
    const { topology: _topology, log: _log, demo: _demo, port: _port, ...config } = options;
    const workers: Worker[] = [];
    const start = () =>
      new Promise<void>((resolve, reject) => {
        const worker = cluster.fork({ [WORKER_TASK]: JSON.stringify({ config, ids } satisfies WorkerTask) });
        workers.push(worker);
        const exited = new Promise<number | null>((done) => worker.once('exit', done));
        void exited.then((code) => reject(new Error(`a worker exited with ${code} before it listened`)));
        worker.once('message', () => {
          asks.push(questionsTo(worker, exited, `worker ${worker.process.pid}`));
          resolve();
        });
      });
    const stop = () =>
      Promise.all(
        workers.filter((w) => !w.isDead()).map((w) => new Promise((resolve) => (w.once('exit', resolve), w.send({ kind: 'close' })))),
      );
    try {
      await start();
      await Promise.all(Array.from({ length: count - 1 }, start));
    } catch (err) {
      await stop();
      throw err;
    }
    return { entities: [], close: async () => void (await stop()) };
  };
}

/** Closes once, then exits. */
function closing(close: () => Promise<unknown>) {
  let once: Promise<unknown> | undefined;
  return () => (once ??= close().finally(() => process.exit(0)));
}

if (cluster.isWorker) {
  const { config, ids } = JSON.parse(process.env[WORKER_TASK]!) as WorkerTask;
  const topology = parseTopology(JSON.parse(readFileSync(config.topologyPath!, 'utf8')), config.topologyPath!);
  const log = createLogger({}, (process.env.TEST_LOG_LEVEL as 'error') ?? 'error');
  const host = await startHost({ ...config, topology, demo: true, log }, ids);
  serveQuestions(
    answering(host),
    closing(() => host.close()),
  );
  process.send!('listening');
} else {
  const ids = process.argv.slice(2);
  const workers = Number(process.env.BENCH_WORKERS ?? 1);
  const asks: Ask[] = [];
  const fed = await startTestFederation(ids.length ? ids : undefined, workers > 1 ? { host: inWorkers(workers, asks) } : {});
  serveQuestions(
    workers > 1 ? answeringForWorkers(asks) : answering(fed.host),
    closing(() => fed.close()),
  );
  process.send!({ topologyFile: fed.topologyFile, config: fed.config } satisfies FederationReady);
}
