/**
 * The federation as a real child process (`gov-id start --workers 1` on a persisted data folder, or
 * on PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set, in schemas and a key namespace
 * of its own), restartable on the same data, with a crash file that makes it SIGKILL itself at a
 * named crash point (infra/crash-points.ts). What the crash tests run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { configFromEnv } from '../../infra/config.ts';
import type { CrashPoint } from '../../infra/crash-points.ts';
import type { FederationAddresses } from './flows.ts';
import { testTopology } from './test-federation.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Starting the whole federation on a loaded machine: generous, never a measure. */
export const START_BOUND_MS = 240_000;

/** The federation as a child process, restartable on the same data. */
export class FederationProcess {
  child: ChildProcess | null = null;
  private exit: Promise<NodeJS.Signals | number | null> = Promise.resolve(null);

  constructor(
    private readonly topologyFile: string,
    private readonly dataDir: string,
    private readonly crashFile: string,
    private readonly schemaPrefix: string,
  ) {}

  /** Resolves once every entity listens and the backlog a crash left was delivered. */
  async start(): Promise<void> {
    const child = spawn(
      join(ROOT, 'node_modules/.bin/node'),
      // One process: a crash point kills the process it is reached in, which a cluster's primary would replace.
      ['--import', 'tsx', join(ROOT, 'cli/main.ts'), 'start', '--workers', '1', '--topology', this.topologyFile, '--data', this.dataDir],
      {
        cwd: ROOT,
        env: { ...process.env, GOV_ID_TEST_CRASH_FILE: this.crashFile, GOV_ID_SCHEMA_PREFIX: this.schemaPrefix, LOG_LEVEL: 'error' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const bound = setTimeout(() => reject(new Error(`the federation did not start:\n${output}`)), START_BOUND_MS);
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // The line `gov-id NAME: N entities on ...` comes once startHost returned.
        if (/entities on /.test(output)) {
          clearTimeout(bound);
          resolve();
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
      void this.exit.then((how) => {
        clearTimeout(bound);
        reject(new Error(`the federation exited (${String(how)}) while starting:\n${output}`));
      });
    });
  }

  /** How the process ended (a signal name or an exit code), or 'running' after `boundMs`. */
  async exited(boundMs: number): Promise<NodeJS.Signals | number | null | 'running'> {
    let bound: NodeJS.Timeout | undefined;
    const running = new Promise<'running'>((resolve) => (bound = setTimeout(() => resolve('running'), boundMs)));
    try {
      return await Promise.race([this.exit, running]);
    } finally {
      clearTimeout(bound);
    }
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exit;
  }
}

/**
 * Runs `attempt` until it succeeds, for steps that right after a start may meet a neighbour that
 * does not answer yet on a loaded machine (an OP that has not resolved a services entity yet
 * answers `invalid_target`; the SMS gateway call times out: 503). Only for steps with no crash
 * point armed, that change nothing when they fail; bounded by the start bound, then the last error.
 */
export async function settled<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + START_BOUND_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A federation of the demo topology on free ports, run as a child process, with its crash file. */
export interface CrashableFederation {
  fed: FederationAddresses;
  process: FederationProcess;
  /** The process kills itself when `entity` reaches `point`. */
  arm(point: CrashPoint, entity: string): void;
  disarm(): void;
  /** Stops the process and removes its data: the folder, and its schemas on PostgreSQL. */
  dispose(): Promise<void>;
}

export async function crashableFederation(): Promise<CrashableFederation> {
  const { topology, raw } = await testTopology();
  const dataDir = mkdtempSync(join(tmpdir(), 'gov-id-crash-'));
  const topologyFile = join(dataDir, 'topology.json');
  const crashFile = join(dataDir, 'crash-point');
  writeFileSync(topologyFile, JSON.stringify(raw, null, 2));
  writeFileSync(crashFile, '');
  // Its own schemas on PostgreSQL and its own key namespace on Redis (both follow the prefix).
  const schemaPrefix = `c${randomBytes(4).toString('hex')}_`;
  const config = { ...configFromEnv(), dataDir, schemaPrefix, topologyPath: topologyFile };
  const fed: FederationAddresses = { topology, config, url: (id) => topology.get(id).url };
  const process = new FederationProcess(topologyFile, dataDir, crashFile, schemaPrefix);
  return {
    fed,
    process,
    arm: (point, entity) => writeFileSync(crashFile, `${point}@${fed.url(entity)}`),
    disarm: () => writeFileSync(crashFile, ''),
    dispose: async () => {
      await process.stop();
      if (config.databaseUrl) {
        const client = new pg.Client({ connectionString: config.databaseUrl });
        await client.connect();
        for (const e of topology.entities) await client.query(`DROP SCHEMA IF EXISTS "${schemaPrefix}${e.id}" CASCADE`);
        await client.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
