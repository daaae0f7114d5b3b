/**
 * The benchmarks cannot break unnoticed: `npm run bench -- all --smoke` runs every one of them for
 * a handful of operations, as a real child process, and each must end with its JSON line carrying
 * the figures other tools read (issue 17: these names are an interface); the soak, which runs
 * only when named, likewise with `soak --smoke`. Figures are not judged.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';

const FIELDS: Record<string, string[]> = {
  login: [
    'logins_per_s',
    'login_p50_ms',
    'argon2_verify_ms',
    'server_cpu_ms_per_login',
    'server_database_round_trips_per_login',
    // Every level's figures (smoke: concurrency 1 and 2), and the login with a login_hint.
    'logins_per_s_c1',
    'server_cpu_ms_per_login_c2',
    'login_hint_server_cpu_ms_per_login',
  ],
  grants: [
    'refresh_per_s',
    'client_credentials_per_s',
    'argon2_verify_ms',
    'server_cpu_ms_per_refresh',
    'server_cpu_ms_per_client_credentials',
    'server_database_round_trips_per_refresh',
    'server_kv_operations_per_refresh',
    'server_cpu_ms_per_client_credentials_jwt',
    'server_cpu_ms_per_noop_request',
  ],
  'cross-tier': ['local_p50_ms', 'cross_p50_ms', 'added_p50_ms', 'argon2_verify_ms', 'process_cpu_ms_per_cross_login'],
  'trust-chain': [
    'first_validate_us_p50',
    'validate_us_p50',
    'validate_us_p99',
    'resolve_us_p50',
    'cpu_us_per_validation',
    'argon2_verify_ms',
  ],
  catalog: ['pglite_items', 'pglite_search_p50_ms', 'pglite_search_p99_ms'],
  'exchange-routing': ['local_p50_ms', 'routed_p50_ms', 'added_p50_ms', 'process_cpu_ms_per_request'],
  cases: ['submissions_per_s', 'submit_p99_ms', 'pglite_cases', 'pglite_queue_p99_ms'],
  exchange: [
    'license_verify_per_s',
    'license_verify_p50_ms',
    'server_cpu_ms_per_license_verify',
    'inprocess_verify_cpu_us',
    'local_p50_ms',
    'routed_p50_ms',
    'added_p50_ms',
  ],
  registry: ['entries', 'lookup_p50_ms', 'lookup_p99_ms', 'http_lookup_p99_ms', 'publications_per_s'],
  // gov-id's figures only: the peers run where their packages are installed (CI has none).
  peers: ['gov_id_logins_per_s_c1', 'gov_id_login_p50_ms_c4', 'gov_id_server_cpu_ms_per_login_c8', 'argon2_verify_ms'],
  soak: ['operations', 'achieved_per_s', 'login_p99_ms', 'cross_tier_p50_ms', 'rss_start_mb', 'rss_end_mb', 'heap_slope_mb_per_min'],
};

/** Runs `npm run bench -- ARGS` as a child process; its exit status and output. */
function bench(args: string[], timeoutMs: number) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      'npm',
      ['run', 'bench', '--', ...args],
      { cwd: PROJECT_ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
        resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The JSON lines of a run, each checked: smoke, its figures numbers, no errors. */
function figuresOf(t: ExecutionContext, stdout: string): Record<string, unknown>[] {
  const figures = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const f of figures) {
    const name = f.benchmark as string;
    t.is(f.smoke, true, name);
    for (const field of FIELDS[name] ?? [])
      t.true(typeof f[field] === 'number' && Number.isFinite(f[field]), `${name}: ${field} = ${JSON.stringify(f[field])}`);
    // A benchmark whose operations fail is broken, whatever its figures. The peers' own failures are
    // theirs (Glewlwyd's SQLite fails a write now and then under concurrent logins): reported, not judged.
    for (const [field, value] of Object.entries(f))
      if (/errors(_c\d+)?$/.test(field) && (name !== 'peers' || field.startsWith('gov_id_'))) t.is(value, 0, `${name}: ${field}`);
  }
  return figures;
}

test.serial('every benchmark runs in smoke mode and ends with its JSON line', async (t) => {
  // Eight benchmarks, five of them starting a federation: minutes on a loaded machine, not seconds.
  t.timeout(15 * 60_000);
  const run = await bench(['all', '--smoke'], 14 * 60_000);
  t.is(run.code, 0, run.stderr.slice(-4000));
  const figures = figuresOf(t, run.stdout);
  t.deepEqual(
    figures.map((f) => f.benchmark),
    Object.keys(FIELDS).filter((name) => name !== 'soak' && name !== 'exchange-routing'),
    'one JSON line per benchmark, in order (the soak and exchange-routing, part of exchange, run only when named)',
  );
  // The counts of a cross login come from instrumenting the entities' HTTP clients: one that no
  // longer sees them (a client changed) must fail here rather than report none. Each broker hop
  // makes a PAR and a token redemption.
  const cross = figures.find((f) => f.benchmark === 'cross-tier');
  t.true(Number(cross?.cross_back_channel_calls) >= 6, `cross-tier: back-channel calls ${String(cross?.cross_back_channel_calls)}`);
});

test.serial('the soak runs in smoke mode: every kind of operation, no errors, memory read over time', async (t) => {
  t.timeout(10 * 60_000);
  const run = await bench(['soak', '--smoke'], 9 * 60_000);
  t.is(run.code, 0, run.stderr.slice(-4000));
  const [soak] = figuresOf(t, run.stdout);
  t.is(soak?.benchmark, 'soak');
  for (const kind of ['refresh', 'catalog', 'login', 'cross_tier']) t.true(Number(soak?.[`${kind}_ok`]) > 0, `${kind} ran`);
  t.true(run.stdout.split('\n').filter((l) => / min .* rss \d+ MiB/.test(l)).length >= 2, 'memory over time');
});

test.serial('the soak takes --minutes and --rate, and only the soak does', async (t) => {
  const bad = await bench(['soak', '--minutes', 'ten'], 60_000);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--minutes: a positive number/);
  const other = await bench(['login', '--rate', '5'], 60_000);
  t.is(other.code, 2);
  t.regex(other.stderr, /--minutes and --rate are the soak/);
});

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

test.serial(
  'grants, login and peers --workers 2 serve the OP by two workers (PostgreSQL and Redis); --workers is theirs only',
  async (t) => {
    t.timeout(10 * 60_000);
    const other = await bench(['cross-tier', '--workers', '2'], 60_000);
    t.is(other.code, 2);
    t.regex(other.stderr, /--workers is the grants, login and peers benchmarks/);
    if (!shared) return t.pass('two workers need DATABASE_URL and REDIS_URL');
    for (const benchmark of ['grants', 'login', 'peers']) {
      const run = await bench([benchmark, '--smoke', '--workers', '2'], 5 * 60_000);
      t.is(run.code, 0, run.stderr.slice(-4000));
      const [figures] = figuresOf(t, run.stdout);
      t.is(figures?.benchmark, benchmark);
      t.is(figures?.workers, 2);
    }
  },
);
