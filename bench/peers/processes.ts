/**
 * The processes of a peer server under test, started from the packages installed on this
 * machine: each in a folder of its own (deleted at the end), its output logged there, stopped
 * at the end or when the benchmark exits however it ends, and its CPU time read from /proc over
 * the whole process tree (a master and its workers, a FastCGI manager and its servers).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../../test/helpers/until.ts';

/** A peer's processes failed to start or to answer. */
export class PeerStartError extends Error {
  override name = 'PeerStartError';
}

/** The version of an installed Debian package, or null when it is not installed. */
export function debianPackageVersion(name: string): string | null {
  const query = spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Status} ${Version}', name], { encoding: 'utf8' });
  const [status, version] = query.status === 0 ? query.stdout.split(' ') : [];
  return status === 'installed' && version ? version : null;
}

const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks: the process's threads and its children already reaped. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces and parentheses: state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const field = (n: number) => Number(fields[n - 3]);
    return { ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17) };
  } catch {
    return null; // it exited between the listing and the reading
  }
}

/** User plus system CPU time, in milliseconds, of the processes `roots` and all their descendants. */
export function processTreeCpuMs(roots: number[]): number {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    const stat = Number.isInteger(pid) ? readStat(pid) : null;
    if (stat) stats.set(pid, stat);
  }
  const inTree = new Set(roots);
  // Descendants of the roots: repeated until no process joins (a few passes for a tree two levels deep).
  for (let grown = true; grown;) {
    grown = false;
    for (const [pid, { ppid }] of stats)
      if (!inTree.has(pid) && inTree.has(ppid)) {
        inTree.add(pid);
        grown = true;
      }
  }
  let ticks = 0;
  for (const pid of inTree) ticks += stats.get(pid)?.ticks ?? 0;
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Where the peers' folders go: in memory where the machine has /dev/shm, as gov-id's embedded
 * database is (PGlite in memory), so that the run compares the servers and not this machine's
 * disk. (On this machine's disk Glewlwyd's SQLite, which syncs every write, let through 4 to 7
 * logins per second, against 17 to 30 in memory.)
 */
const PEERS_BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** The processes of one peer, in their folder. */
export class PeerProcesses {
  readonly dir: string;
  private readonly children: { name: string; child: ChildProcess; exited: Promise<void>; ended?: string }[] = [];
  // SIGTERM: a master or manager stops its workers too.
  private readonly killOnExit = () => this.children.forEach(({ child, ended }) => ended ?? child.kill('SIGTERM'));

  constructor(peer: string) {
    this.dir = mkdtempSync(join(PEERS_BASE, `gov-id-peer-${peer}-`));
    // The benchmark ends with process.exit(): no server may outlive it.
    process.once('exit', this.killOnExit);
  }

  /** Starts `command` with its output in `<dir>/<name>.log`. */
  spawn(name: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    const child = spawn(command, args, { cwd: this.dir, ...options, stdio: ['ignore', log, log] });
    const entry: (typeof this.children)[number] = { name, child, exited: Promise.resolve() };
    entry.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => resolve(void (entry.ended = `exited with ${code ?? signal}`)));
      child.once('error', (err) => resolve(void (entry.ended = err.message)));
    });
    this.children.push(entry);
    return child;
  }

  /** The last lines each process logged, to say why it failed. */
  logs(): string {
    return this.children
      .map(({ name }) => {
        const text = readFileSync(join(this.dir, `${name}.log`), { encoding: 'utf8', flag: 'a+' })
          .trimEnd()
          .split('\n')
          .slice(-15)
          .join('\n');
        return `--- ${name}.log\n${text}`;
      })
      .join('\n');
  }

  /** Waits until `answers` holds; fails with the logs when a process exits or it takes longer than `timeoutMs`. */
  async waitUntil(answers: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    try {
      await until(
        async () => {
          const gone = this.children.find(({ ended }) => ended);
          if (gone) throw new PeerStartError(`${gone.name}: ${gone.ended}`);
          return answers().catch(() => false);
        },
        what,
        timeoutMs,
      );
    } catch (err) {
      throw new PeerStartError(`${(err as Error).message}; in ${this.dir}:\n${this.logs()}`);
    }
  }

  /** CPU time so far of every process started here, with its descendants. */
  cpuMs(): number {
    return processTreeCpuMs(this.children.map(({ child }) => child.pid!).filter(Boolean));
  }

  /** Stops the processes (SIGTERM, then SIGKILL after 10 s) and deletes the folder. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async ({ child, exited, ended }) => {
        if (ended) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }),
    );
    process.off('exit', this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
