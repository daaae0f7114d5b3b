/**
 * A PostgreSQL server of the test's own, initialized in a temporary folder and run as a child
 * process on a free loopback port, for tests that stop it: the machine's own server is never
 * touched. PostgreSQL refuses to run as root, so under root it runs as the `postgres` user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './test-federation.ts';

export interface PrivatePostgres {
  url: string;
  /** A fast shutdown (as `pg_ctl stop -m fast`): sessions are ended, and the server is gone when it resolves. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  remove(): Promise<void>;
}

const ROOT = '/usr/lib/postgresql';

/** The bin folder of the newest PostgreSQL installed, or null. */
function binFolder(): string | null {
  if (!existsSync(ROOT)) return null;
  const versions = readdirSync(ROOT)
    .filter((v) => existsSync(join(ROOT, v, 'bin', 'initdb')) && existsSync(join(ROOT, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(ROOT, versions[0], 'bin') : null;
}

const BIN = binFolder();

/** Who runs the server: this user, or `postgres` when this is root. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  return Number.isInteger(uid) && uid > 0 ? { uid, gid: id('-g') } : null;
}

/** Why a private PostgreSQL cannot be started here, or null when it can. */
export const privatePostgresMissing: string | null = !BIN
  ? `no PostgreSQL server under ${ROOT}`
  : process.getuid?.() === 0 && !runAs()
    ? 'running as root and there is no postgres user to run the server as'
    : null;

export interface ServerOptions {
  /** More `-c name=value` settings. */
  settings?: Record<string, string>;
  /** Every line the server writes to its log (stderr), as it comes. */
  onLog?: (line: string) => void;
}

export async function startPrivatePostgres(opts: ServerOptions = {}): Promise<PrivatePostgres> {
  if (privatePostgresMissing) throw new Error(privatePostgresMissing);
  const user = runAs();
  const folder = privateFolder(user);
  const data = join(folder, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'], user);
  return serve(folder, data, await freePort(), user, opts);
}

/**
 * A streaming replica of `primary` (a server of startPrivatePostgres: its initdb lets replication
 * connections in from loopback), from a base backup taken with `-R`: it follows the primary as a
 * hot standby that answers reads.
 */
export async function startPrivateReplica(primary: PrivatePostgres, opts: ServerOptions = {}): Promise<PrivatePostgres> {
  if (privatePostgresMissing) throw new Error(privatePostgresMissing);
  const user = runAs();
  const folder = privateFolder(user);
  const data = join(folder, 'data');
  const { port } = new URL(primary.url);
  run('pg_basebackup', ['-D', data, '-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-R', '-X', 'stream', '--no-sync'], user);
  return serve(folder, data, await freePort(), user, opts);
}

function privateFolder(user: { uid: number; gid: number } | null): string {
  const folder = mkdtempSync(join(tmpdir(), 'gov-id-pg-'));
  if (user) chownSync(folder, user.uid, user.gid);
  return folder;
}

function run(program: string, args: string[], user: { uid: number; gid: number } | null): void {
  const done = spawnSync(join(BIN!, program), args, { encoding: 'utf8', ...(user ?? {}) });
  if (done.status !== 0) throw new Error(`${program} failed:\n${done.stdout}\n${done.stderr}`);
}

async function serve(
  folder: string,
  data: string,
  port: number,
  user: { uid: number; gid: number } | null,
  opts: ServerOptions,
): Promise<PrivatePostgres> {
  const settings = { listen_addresses: '127.0.0.1', fsync: 'off', max_connections: '200', ...opts.settings };
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const server = spawn(
        join(BIN!, 'postgres'),
        ['-D', data, '-p', String(port), '-k', folder, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
        { stdio: ['ignore', 'ignore', 'pipe'], ...(user ?? {}) },
      );
      // Read for as long as it runs (a full pipe would stall the server); kept until it is ready.
      let out: string | null = '';
      let partial = '';
      server.stderr!.on('data', (chunk: Buffer) => {
        if (opts.onLog) {
          const lines = (partial + chunk.toString()).split('\n');
          partial = lines.pop()!;
          for (const line of lines) opts.onLog(line);
        }
        if (out === null) return;
        out += chunk.toString();
        if (out.includes('database system is ready to accept')) {
          out = null;
          resolve();
        }
      });
      server.once('exit', (code) => reject(new Error(`postgres on port ${port} exited (${code}) before it was ready:\n${out}`)));
      child = server;
    });
  const stop = async () => {
    const server = child;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGINT');
    });
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async remove() {
      await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
