/**
 * Register once survives a crash: the federation runs as a real child process (`gov-id start` on a
 * persisted data folder, or PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set), which a
 * crash point (infra/crash-points.ts) makes kill itself with SIGKILL at one moment of a
 * registration or of its delivery up the registries. Restarted on the same data, the person is
 * refused as already registered at every other platform, and no OP keeps a registry conflict.
 */
import test from 'ava';
import { newPerson, registerOnPage, type Person } from '../helpers/flows.ts';
import { crashableFederation, settled, START_BOUND_MS } from '../helpers/federation-process.ts';
import { opSite, type Site } from '../helpers/recognition-sites.ts';
import { UserAgent, type Page } from '../helpers/user-agent.ts';
import { callAdmin } from '../../infra/admin-client.ts';
import { REGISTRY_CONFLICTS_PATH } from '../../federation/registry-conflicts-admin.ts';
import type { CrashPoint } from '../../infra/crash-points.ts';

const OPS = ['national', 'gd', 'gz', 'sz', 'js', 'zj'];

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
  const crashable = await crashableFederation();
  const { fed, process: federation } = crashable;
  const { topology, config } = fed;
  const sites = new Map(OPS.map((op) => [op, opSite(fed, op)]));
  try {
    await federation.start();
    // A first registration at each home, unarmed: on a loaded machine the first code sent through a
    // cold process can outlast the SMS call's bound (503), which must not be taken for the crash.
    for (const home of new Set(CRASHES.map((c) => c.home)))
      await settled(`a first registration at ${home}`, async () => {
        const ua = new UserAgent();
        const login = await sites.get(home)!.start(ua);
        await registerOnPage(fed, ua, login.page, await newPerson(fed), 'Warm-up-1');
      });
    for (const crash of CRASHES) {
      const label = `${crash.point}@${crash.at}, home ${crash.home}`;
      const person = await newPerson(fed);
      crashable.arm(crash.point, crash.at);
      // The process dies during the registration (or just after it answered, on a delivery of its own).
      const ua = new UserAgent();
      const login = await sites.get(crash.home)!.start(ua);
      const answered = await registerOnPage(fed, ua, login.page, person, 'First-home-1').then(
        (page) => `${page.status} ${page.url}`,
        (err: Error) => err.message,
      );
      const how = await federation.exited(START_BOUND_MS);
      if (how !== 'SIGKILL') return t.fail(`${label}: the process did not kill itself (${String(how)}; the registration: ${answered})`);
      crashable.disarm();
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
        const { conflicts } = (await callAdmin(topology.get(op), config.dataDir, 'GET', REGISTRY_CONFLICTS_PATH)) as {
          conflicts: unknown[];
        };
        t.deepEqual(conflicts, [], `${label}: no registry conflict at ${op}`);
      }
    }
  } finally {
    await crashable.dispose();
  }
});
