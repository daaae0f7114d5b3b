/**
 * Issue 11 / 18: the project's own fuzz harness, bounded, against a freshly started demo
 * federation: every endpoint of every entity kind, a fixed seed, and not one 5xx, dropped
 * connection or hang. Run as `npm run fuzz` runs it, in a child process.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function fuzz(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'fuzz/fuzz-run.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('500 mutated requests over every endpoint (seed 18) get no server error and no hang', async (t) => {
  t.timeout(900_000);
  const { code, stdout, stderr } = await fuzz(['--runs', '500', '--seed', '18', '--concurrency', '2']);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  const counts = /^(\d+) requests, (\d+) server errors, (\d+) hangs$/.exec(last);
  t.truthy(counts, `no summary line; stdout:\n${stdout}\nstderr:\n${stderr.slice(-3000)}`);
  t.true(Number(counts![1]) >= 450, `only ${counts![1]} of 500 cases were sent:\n${stdout}`);
  t.is(counts![2], '0', stdout);
  t.is(counts![3], '0', stdout);
  t.is(code, 0, stdout);
  t.regex(stdout, /6 OPs, 8 portals, 8 services/);
  t.regex(stdout, /server memory \(after a full GC\): before rss [\d.]+ MiB.*; after rss [\d.]+ MiB/);
});
