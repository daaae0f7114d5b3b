/**
 * Throughput of one OP on this machine: full password logins (authorization request, identifier,
 * password, code, token exchange with PKCE) and refresh grants, each at a fixed concurrency for a
 * fixed time. Targets (docs/DESIGN "Targets"): logins at 90% of the argon2id bound, refresh grants
 * at 1,200 per second per core. Prints its figures; asserts nothing.
 *
 *   npm run bench                      # embedded defaults
 *   DATABASE_URL=… REDIS_URL=… npm run bench
 *   BENCH_SECONDS=20 BENCH_CONCURRENCY=4 npm run bench
 *   BENCH_PROFILE=/tmp/prof npm run bench   # the server writes a V8 CPU profile there
 */
import { availableParallelism, tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import argon2 from 'argon2';
import pg from 'pg';
import { testTopology, type TestFederation } from '../test/helpers/test-federation.ts';
import { configFromEnv } from '../infra/config.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, newPerson, oidc, passwordLogin, redeem, registerOnPage, relyingParty } from '../test/helpers/flows.ts';
import { ARGON2_OPTIONS } from '../idp/accounts/password.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const PASSWORD = 'Bench-passw0rd';

async function measure(label: string, worker: (slot: number) => Promise<void>) {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, slot) => {
      while (Date.now() < end) {
        const t0 = performance.now();
        try {
          await worker(slot);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errors === 1) console.error(`${label}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]?.toFixed(1) ?? '-';
  const rate = latencies.length / elapsed;
  console.log(`${label.padEnd(16)} ${rate.toFixed(1).padStart(8)}/s  p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms  (${latencies.length} ok, ${errors} errors, concurrency ${CONCURRENCY}, ${elapsed.toFixed(1)} s)`);
  return rate;
}

async function argon2Bound(): Promise<number> {
  const hash = await argon2.hash(PASSWORD, ARGON2_OPTIONS);
  const n = 20;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await argon2.verify(hash, PASSWORD);
  return (performance.now() - t0) / n;
}

/** The federation runs in its own process, as in a deployment; the load comes from this one. */
async function startServer(): Promise<TestFederation> {
  const { topology, raw } = await testTopology();
  const dataDir = mkdtempSync(join(tmpdir(), 'gov-id-bench-'));
  writeFileSync(join(dataDir, 'topology.json'), JSON.stringify(raw));
  // A schema prefix of its own: a shared PostgreSQL keeps nothing an earlier run left behind.
  const schemaPrefix = `bench${Date.now().toString(36)}_`;
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'cli/main.ts', 'start', '--topology', join(dataDir, 'topology.json'), '--data', dataDir], {
    env: { ...process.env, LOG_LEVEL: 'error', GOV_ID_SCHEMA_PREFIX: schemaPrefix },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(topology.services().url)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const config = { ...configFromEnv(), dataDir, schemaPrefix };
  return {
    topology,
    topologyFile: join(dataDir, 'topology.json'),
    config,
    host: { entities: [], close: async () => undefined },
    url: (id) => topology.get(id).url,
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
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

const fed = await startServer();
try {
  const cores = availableParallelism();
  const verifyMs = await argon2Bound();
  const bound = (cores * 1000) / verifyMs;
  console.log(`storage: ${fed.config.databaseUrl ? 'PostgreSQL' : 'PGlite'} + ${fed.config.redisUrl ? 'Redis' : 'in-process store'}; ${cores} cores; argon2id verify ${verifyMs.toFixed(1)} ms → bound ${bound.toFixed(1)} logins/s`);

  const rp = await relyingParty(fed, 'gd');
  const people = await Promise.all(Array.from({ length: CONCURRENCY }, () => newPerson(fed)));
  const refreshTokens: string[] = [];
  for (const person of people) {
    const ua = new UserAgent();
    const a = await authorize(rp, ua);
    const tokens = await redeem(rp, await registerOnPage(fed, ua, a.page, person, PASSWORD), a);
    refreshTokens.push(tokens.refresh_token!);
  }

  const logins = await measure('password login', async (slot) => {
    const person = people[slot]!;
    const ua = new UserAgent();
    const a = await authorize(rp, ua);
    await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
  });
  console.log(`  = ${((logins / bound) * 100).toFixed(0)}% of the argon2id bound (target ≥ 90%)`);

  const refreshes = await measure('refresh grant', async (slot) => {
    refreshTokens[slot] = (await oidc.refreshTokenGrant(rp.config, refreshTokens[slot]!)).refresh_token!;
  });
  console.log(`  = ${(refreshes / cores).toFixed(0)} per core (target ≥ 1200)`);

  const cc = await measure('client creds', async () => {
    await oidc.clientCredentialsGrant(rp.config);
  });
  console.log(`  = ${(cc / cores).toFixed(0)} per core (target ≥ 1200)`);
} finally {
  await fed.close();
}
