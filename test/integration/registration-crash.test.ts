/**
 * Register once survives a crash: the federation runs as a real child process (`gov-id start` on a
 * persisted data folder, or PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set), which a
 * crash point (infra/crash-points.ts) makes kill itself with SIGKILL at one moment of a
 * registration or of its delivery up the registries. Restarted on the same data, the person is
 * refused as already registered at every other platform, and no OP keeps a registry conflict.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { testTopology, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson, registerOnPage, type Person } from '../helpers/flows.ts';
import { opSite, type Site } from '../helpers/recognition-sites.ts';
import { UserAgent, type Page } from '../helpers/user-agent.ts';
import { configFromEnv } from '../../infra/config.ts';
import { callAdmin } from '../../infra/admin-client.ts';
import { REGISTRY_CONFLICTS_PATH } from '../../federation/registry-conflicts-admin.ts';
import type { CrashPoint } from '../../infra/crash-points.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPS = ['national', 'gd', 'gz', 'sz', 'js', 'zj'];
/** Starting the whole federation on a loaded machine: generous, never a measure. */
const START_BOUND_MS = 240_000;

/** The crashes: where the person registers, and which entity dies at which point. */
const CRASHES: { home: string; point: CrashPoint; at: string }[] = [
  { home: 'sz', point: 'home.committed', at: 'sz' },
  // The case of the issue: the row was leased, the process killed before it was sent.
  { home: 'sz', point: 'outbox.claimed', at: 'sz' },
  { home: 'sz', point: 'outbox.delivered', at: 'sz' },
  { home: 'sz', point: 'registry.recorded', at: 'gd' },
  { home: 'gz', point: 'outbox.claimed', at: 'gd' },
  { home: 'gz', point: 'outbox.delivered', at: 'gd' },
  { home: 'zj', point: 'outbox.claimed', at: 'zj' },
];

/** The federation as a child process, restartable on the same data. */
class FederationProcess {
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

/** The registration form at a site, filled in and sent; the code is never checked before register-once refuses. */
async function registrationAttempt(site: Site, person: Person): Promise<Page> {
  const ua = new UserAgent();
  const login = await site.start(ua);
  const register = await ua.navigate(
    new URL(/href="([^"]*\/register[^"]*)"/.exec(login.page.html)![1]!.replace(/&amp;/g, '&'), login.page.url).toString(),
  );
  return ua.submit(register, '/register', {
    name: person.name,
    id_number: person.id_number,
    phone: person.phone,
    otp: '000000',
    password: 'Second-home-1',
  });
}

/** Registration is refused while the restarted host still delivers its backlog (503): try again until it answers. */
async function settledAttempt(site: Site, person: Person): Promise<Page> {
  for (let i = 0; ; i++) {
    const page = await registrationAttempt(site, person);
    if (page.status !== 503 || i >= 300) return page;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test.serial('a crash at any point of registration and delivery never leaves a person with two homes', async (t) => {
  t.timeout(CRASHES.length * 2 * START_BOUND_MS);
  const { topology, raw } = await testTopology();
  const dataDir = mkdtempSync(join(tmpdir(), 'gov-id-crash-'));
  const topologyFile = join(dataDir, 'topology.json');
  const crashFile = join(dataDir, 'crash-point');
  writeFileSync(topologyFile, JSON.stringify(raw, null, 2));
  writeFileSync(crashFile, '');
  const schemaPrefix = `c${randomBytes(4).toString('hex')}_`;
  const config = { ...configFromEnv(), dataDir, schemaPrefix, topologyPath: topologyFile };
  const fed: TestFederation = {
    topology,
    topologyFile,
    config,
    host: { entities: [], close: async () => undefined },
    url: (id) => topology.get(id).url,
    close: async () => undefined,
  };
  const federation = new FederationProcess(topologyFile, dataDir, crashFile, schemaPrefix);
  const sites = new Map(OPS.map((op) => [op, opSite(fed, op)]));
  try {
    await federation.start();
    for (const crash of CRASHES) {
      const label = `${crash.point}@${crash.at}, home ${crash.home}`;
      const person = await newPerson(fed);
      writeFileSync(crashFile, `${crash.point}@${fed.url(crash.at)}`);
      // The process dies during the registration (or just after it answered, on a delivery of its own).
      const ua = new UserAgent();
      const login = await sites.get(crash.home)!.start(ua);
      const answered = await registerOnPage(fed, ua, login.page, person, 'First-home-1').then(
        (page) => `${page.status} ${page.url}`,
        (err: Error) => err.message,
      );
      const how = await federation.exited(START_BOUND_MS);
      if (how !== 'SIGKILL') return t.fail(`${label}: the process did not kill itself (${String(how)}; the registration: ${answered})`);
      writeFileSync(crashFile, '');
      await federation.start();

      const homeName = topology.get(crash.home).name['zh-CN'];
      let sawAccount = false;
      for (const op of OPS) {
        const page = await settledAttempt(sites.get(op)!, person);
        t.is(page.status, 409, `${label}: registration at ${op} answered ${page.status}`);
        if (op === crash.home) sawAccount = page.html.includes('该身份证号已注册');
        else t.true(page.html.includes(`已在“${homeName}”注册`), `${label}: ${op} names ${crash.home} as the home`);
      }
      t.true(sawAccount, `${label}: the account committed at ${crash.home}`);
      for (const op of OPS) {
        const { conflicts } = (await callAdmin(topology.get(op), dataDir, 'GET', REGISTRY_CONFLICTS_PATH)) as { conflicts: unknown[] };
        t.deepEqual(conflicts, [], `${label}: no registry conflict at ${op}`);
      }
    }
  } finally {
    await federation.stop();
    if (config.databaseUrl) {
      const client = new pg.Client({ connectionString: config.databaseUrl });
      await client.connect();
      for (const e of topology.entities) await client.query(`DROP SCHEMA IF EXISTS "${schemaPrefix}${e.id}" CASCADE`);
      await client.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
