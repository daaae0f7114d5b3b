/**
 * Runs (part of) the demo federation in a child process for a benchmark, the load coming from
 * this one: fresh ports, schemas and key namespace (test/helpers/test-federation.ts), dropped at
 * the end. Over IPC it reads the server process's own CPU time, before and after a measurement,
 * so that a noisy machine does not hide what an operation costs the servers.
 *
 * BENCH_PROFILE=DIR: the server process writes a V8 CPU profile of each measured loop there.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseTopology } from '../federation/topology.ts';
import type { DeploymentConfig } from '../infra/config.ts';
import type { FederationAddresses } from '../test/helpers/flows.ts';
import type { Argon2Verify, LoopResult } from './measure.ts';
import type { StoreUse } from './store-use.ts';

export type Question =
  { kind: 'cpu' } | { kind: 'store' } | { kind: 'argon2'; verifies: number } | { kind: 'profile'; name: string } | { kind: 'profile-end' };
export type ServerQuestion = Question & { id: number };
export type ServerAnswer = { id: number; value: unknown } | { id: number; error: string };
export interface FederationReady {
  topologyFile: string;
  config: DeploymentConfig;
}

export interface FederationProcess {
  fed: FederationAddresses;
  /** User plus system CPU time of the server process so far, in milliseconds. */
  cpuMs(): Promise<number>;
  /** Storage operations of all its entities so far. */
  storeUse(): Promise<StoreUse>;
  /** argon2id verify time at the project's parameters, measured in the server process. */
  argon2Verify(verifies: number): Promise<Argon2Verify>;
  /** With BENCH_PROFILE set, profiles the server process until the function returned is called. */
  profile(name: string): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** What questions go over and how they come back: a child process, or a cluster worker (federation-server.ts). */
interface QuestionChannel {
  send(message: ServerQuestion): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Asks questions of another process over IPC; each answer settles its question. `exited` fails those pending. */
export function questionsTo(peer: QuestionChannel, exited: Promise<number | null>, name: string): (q: Question) => Promise<unknown> {
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 0;
  peer.on('message', (m) => {
    const a = m as ServerAnswer;
    const p = pending.get(a.id);
    if (!p) return;
    pending.delete(a.id);
    if ('error' in a) p.reject(new Error(`${name}: ${a.error}`));
    else p.resolve(a.value);
  });
  void exited.then((code) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited with ${code}`));
    pending.clear();
  });
  return (q) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      peer.send({ ...q, id });
    });
}

const SERVER = fileURLToPath(new URL('./federation-server.ts', import.meta.url));

/**
 * Starts the entities (with their superiors) in a child process, `env` added to its environment;
 * resolves once they all listen. `server`: another tree's bench/federation-server.ts, whose code
 * then runs (bench/compare.ts).
 */
export async function startFederationProcess(ids: string[], env: NodeJS.ProcessEnv = {}, server = SERVER): Promise<FederationProcess> {
  const child = fork(server, ids, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = await new Promise<FederationReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as FederationReady));
    void exited.then((code) => reject(new Error(`the federation process exited with ${code} before it was ready`)));
  });

  const ask = questionsTo(child, exited, 'the federation process');
  const topology = parseTopology(JSON.parse(readFileSync(ready.topologyFile, 'utf8')), ready.topologyFile);
  return {
    fed: { topology, config: ready.config, url: (id) => topology.get(id).url },
    cpuMs: async () => (await ask({ kind: 'cpu' })) as number,
    storeUse: async () => (await ask({ kind: 'store' })) as StoreUse,
    argon2Verify: async (verifies) => (await ask({ kind: 'argon2', verifies })) as Argon2Verify,
    async profile(name) {
      await ask({ kind: 'profile', name });
      return async () => void (await ask({ kind: 'profile-end' }));
    },
    async close() {
      if (child.exitCode === null) child.send({ kind: 'close' });
      const code = await exited;
      if (code !== 0) throw new Error(`the federation process exited with ${code}`);
    },
  };
}

/** Storage round trips per operation of a loop. */
export interface StorePerOp {
  /** SQL statements (inside transactions too) and transactions. */
  sql: number;
  tx: number;
  /** Round trips to the database: statements, and BEGIN and COMMIT of transactions. */
  db: number;
  kv: number;
}

/**
 * A timed loop with the server's CPU time and storage operations read before and after it (per
 * successful operation), and profiled in the server process when BENCH_PROFILE is set. Failed
 * operations count in the storage figures too: the loops compared have none.
 */
export async function withServerCpu(
  server: FederationProcess,
  name: string,
  loop: () => Promise<LoopResult>,
): Promise<{ loop: LoopResult; cpuMsPerOp: number; storePerOp: StorePerOp }> {
  const stopProfile = await server.profile(name);
  const store0 = await server.storeUse();
  const cpu0 = await server.cpuMs();
  const result = await loop();
  const cpuMsPerOp = ((await server.cpuMs()) - cpu0) / result.ok;
  const store1 = await server.storeUse();
  await stopProfile();
  const per = (k: 'sql' | 'tx' | 'kv') => (store1[k] - store0[k]) / result.ok;
  return { loop: result, cpuMsPerOp, storePerOp: { sql: per('sql'), tx: per('tx'), db: per('sql') + 2 * per('tx'), kv: per('kv') } };
}

/** A loop's storage figures for its JSON line: `server_sql_statements_per_<op>` and so on. */
export function storeFigures(op: string, s: StorePerOp): Record<string, number> {
  const r = (x: number) => Number(x.toFixed(2));
  return {
    [`server_sql_statements_per_${op}`]: r(s.sql),
    [`server_transactions_per_${op}`]: r(s.tx),
    [`server_database_round_trips_per_${op}`]: r(s.db),
    [`server_kv_operations_per_${op}`]: r(s.kv),
  };
}

/** The same, for reading. */
export const storeLine = (s: StorePerOp) =>
  `storage per operation: ${s.sql.toFixed(1)} SQL statements, ${s.tx.toFixed(1)} transactions (${s.db.toFixed(1)} database round trips), ${s.kv.toFixed(1)} key-value operations`;
