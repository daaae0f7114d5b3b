/**
 * The benchmarks cannot break unnoticed: `npm run bench -- all --smoke` runs every one of them for
 * a handful of operations, as a real child process, and each must end with its JSON line carrying
 * the figures other tools read (issue 17: these names are an interface). Figures are not judged.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';

const FIELDS: Record<string, string[]> = {
  login: ['logins_per_s', 'login_p50_ms', 'argon2_verify_ms', 'server_cpu_ms_per_login'],
  grants: [
    'refresh_per_s',
    'client_credentials_per_s',
    'argon2_verify_ms',
    'server_cpu_ms_per_refresh',
    'server_cpu_ms_per_client_credentials',
  ],
  'cross-tier': ['local_p50_ms', 'cross_p50_ms', 'added_p50_ms', 'argon2_verify_ms', 'process_cpu_ms_per_cross_login'],
  'trust-chain': ['validate_us_p50', 'validate_us_p99', 'resolve_us_p50', 'cpu_us_per_validation', 'argon2_verify_ms'],
  catalog: ['pglite_items', 'pglite_search_p50_ms', 'pglite_search_p99_ms'],
  exchange: ['license_verify_per_s', 'license_verify_p50_ms', 'server_cpu_ms_per_license_verify', 'inprocess_verify_cpu_us'],
};

test('every benchmark runs in smoke mode and ends with its JSON line', async (t) => {
  // Six benchmarks, three of them starting a federation: minutes on a loaded machine, not seconds.
  t.timeout(15 * 60_000);
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      'npm',
      ['run', 'bench', '--', 'all', '--smoke'],
      { cwd: PROJECT_ROOT, timeout: 14 * 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
        resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
  t.is(run.code, 0, run.stderr.slice(-4000));

  const lines = run.stdout.split('\n').filter((l) => l.startsWith('{'));
  const figures = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(
    figures.map((f) => f.benchmark),
    Object.keys(FIELDS),
    'one JSON line per benchmark, in order',
  );
  for (const f of figures) {
    const name = f.benchmark as string;
    t.is(f.smoke, true, name);
    for (const field of FIELDS[name]!)
      t.true(typeof f[field] === 'number' && Number.isFinite(f[field]), `${name}: ${field} = ${JSON.stringify(f[field])}`);
    // A benchmark whose operations fail is broken, whatever its figures.
    for (const [field, value] of Object.entries(f)) if (/errors$/.test(field)) t.is(value, 0, `${name}: ${field}`);
  }
});
