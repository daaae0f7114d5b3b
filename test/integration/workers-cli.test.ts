/**
 * `gov-id serve --workers 2` as an operator runs it: a primary and two worker processes that
 * answer on one port; a worker that dies is replaced; SIGTERM to the primary stops them all.
 * The entity is national, which needs no other entity to start. Needs DATABASE_URL and
 * REDIS_URL (more than one process needs both; test/integration/cli-usage.test.ts has the
 * usage error without them).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort, testTopology } from '../helpers/test-federation.ts';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';
import { until } from '../helpers/until.ts';

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

/** Whether a process is alive (signal 0 only asks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

(shared ? test : test.skip)(
  `two worker processes answer on one port, a dead one is replaced, SIGTERM stops them all${shared ? '' : ' (skipped: DATABASE_URL and REDIS_URL are not both set)'}`,
  async (t) => {
    // Three processes start one after another on a machine that may be loaded.
    t.timeout(6 * 60_000);
    const { raw } = await testTopology();
    const dataDir = mkdtempSync(join(tmpdir(), 'gov-id-workers-'));
    const topologyFile = join(dataDir, 'topology.json');
    writeFileSync(topologyFile, JSON.stringify(raw));
    const prefix = `t${randomBytes(4).toString('hex')}_`;
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'cli/main.ts'), 'serve', '--entity', 'national', '--workers', '2', '--port', String(port)],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, GOV_ID_TOPOLOGY: topologyFile, GOV_ID_DATA: dataDir, GOV_ID_SCHEMA_PREFIX: prefix, LOG_LEVEL: 'error' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
    t.teardown(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS "${prefix}national" CASCADE`);
      await db.end();
      rmSync(dataDir, { recursive: true, force: true });
    });

    await until(async () => /worker processes/.test(stdout) || child.exitCode !== null, 'the start line', 100_000);
    const pids = /1 entities on PostgreSQL, Redis, 2 worker processes \(pids (\d+), (\d+)\)/.exec(stdout)?.slice(1).map(Number);
    t.truthy(pids, `${stdout}\n${stderr}`);
    t.true(pids!.every(alive));
    t.regex(stdout, /national\s+http:\/\/127\.0\.0\.1:\d+/);
    const health = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
    t.deepEqual(await Promise.all(Array.from({ length: 4 }, health)), [200, 200, 200, 200]);

    process.kill(pids![0]!, 'SIGKILL');
    await until(async () => /replaces it/.test(stderr), 'the replacement of a dead worker', 100_000);
    t.regex(stderr, new RegExp(`worker ${pids![0]} died \\(SIGKILL\\); starting another\\ngov-id: worker \\d+ replaces it`));
    const replacement = Number(/worker (\d+) replaces it/.exec(stderr)![1]);
    t.true(alive(replacement) && !alive(pids![0]!));
    t.deepEqual(await Promise.all(Array.from({ length: 4 }, health)), [200, 200, 200, 200]);

    child.kill('SIGTERM');
    t.is(await exited, 0, stderr);
    t.false(alive(pids![1]!) || alive(replacement), 'the workers stopped with the primary');
  },
);
