/**
 * A move of home survives a crash: the federation runs as a real child process
 * (test/helpers/federation-process.ts: `gov-id start` on a persisted data folder, or on PostgreSQL
 * and Redis when DATABASE_URL and REDIS_URL are set), which a crash point (infra/crash-points.ts)
 * makes kill itself with SIGKILL at one moment of `gov-id admin account move` from gz to zj: the
 * old home stopped the account, the new home took it (before and after delivering its
 * publication), the old home marked it moved. Restarted on the same data, the administrator asks
 * for the move again, and then the person has one account, at zj, which they log in to with the
 * same password; gz sends them there and keeps a moved row without credentials; the registries
 * name zj, no outbox holds anything or a conflict, and each side audited the move once.
 */
import test from 'ava';
import { newPerson, registerOnPage, type Person } from '../helpers/flows.ts';
import { crashableFederation, settled, START_BOUND_MS } from '../helpers/federation-process.ts';
import { loginAt, opSite } from '../helpers/recognition-sites.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { AdminCallError, callAdmin } from '../../infra/admin-client.ts';
import { REGISTRY_CONFLICTS_PATH } from '../../federation/registry-conflicts-admin.ts';
import { HomeRegistry } from '../../federation/registry-of-homes.ts';
import { openEntityDatabase } from '../../cli/entity-host.ts';
import { deriveEntitySecrets } from '../../infra/entity-runtime.ts';
import { loadMasterKey } from '../../infra/crypto.ts';
import { NaturalPersonAccounts } from '../../idp/accounts/natural-person-accounts.ts';
import type { CrashPoint } from '../../infra/crash-points.ts';

const OPS = ['national', 'gd', 'gz', 'sz', 'js', 'zj'];
/** The registries of homes that learn the move: gz's side (gd, national) and zj's own. */
const REGISTRIES = ['national', 'gd', 'zj'];
const PASSWORD = 'Moving-home-1';

/** The crashes: which entity dies at which point of the move, and whether the move was complete by then. */
const CRASHES: { point: CrashPoint; at: 'gz' | 'zj'; completed: boolean }[] = [
  { point: 'relocation.stopped', at: 'gz', completed: false },
  // The new home committed the account it took; its publication not delivered, the old home not answered.
  { point: 'home.committed', at: 'zj', completed: false },
  { point: 'relocation.taken', at: 'zj', completed: false },
  // The old home marked the account moved (its outbox row with it); nothing delivered, the administrator not answered.
  { point: 'home.committed', at: 'gz', completed: true },
];

/** A move asked of gz: its answer, or the code of its refusal. */
async function move(fed: Parameters<typeof opSite>[0], person: Person): Promise<Record<string, unknown> | string> {
  try {
    return (await callAdmin(fed.topology.get('gz'), fed.config.dataDir, 'POST', '/admin/accounts/move', {
      id_number: person.id_number,
      to: fed.url('zj'),
    })) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof AdminCallError) return err.message;
    throw err;
  }
}

test.serial('a crash at any point of a move leaves one account, at the new home, once the move is asked again', async (t) => {
  t.timeout((CRASHES.length * 2 + 2) * START_BOUND_MS);
  const crashable = await crashableFederation();
  const { fed, process: federation } = crashable;
  const { topology, config } = fed;
  const [gz, zj] = [opSite(fed, 'gz'), opSite(fed, 'zj')];
  const moved: { label: string; person: Person; subjectAtGz: string }[] = [];
  try {
    await federation.start();
    // A first registration, unarmed: the first code sent through a cold process can outlast the SMS call's bound (503).
    await settled('a first registration at gz', async () => {
      const ua = new UserAgent();
      await registerOnPage(fed, ua, (await gz.start(ua)).page, await newPerson(fed), 'Warm-up-1');
    });
    for (const crash of CRASHES) {
      const label = `${crash.point}@${crash.at}`;
      const person = await newPerson(fed);
      // Registered at gz, and signed in there in this browser.
      const browser = new UserAgent();
      const login = await gz.start(browser);
      const signedIn = await login.complete(await registerOnPage(fed, browser, login.page, person, PASSWORD));
      t.is(signedIn.home, fed.url('gz'), label);

      crashable.arm(crash.point, crash.at);
      const answered = await move(fed, person);
      const how = await federation.exited(START_BOUND_MS);
      if (how !== 'SIGKILL')
        return t.fail(`${label}: the process did not kill itself (${String(how)}; the move: ${JSON.stringify(answered)})`);
      crashable.disarm();
      await federation.start();

      // Asked again, the move completes; one that completed before the crash is said to be done.
      const again = await settled(`${label}: the move asked again`, async () => {
        const answer = await move(fed, person);
        if (typeof answer === 'string' && !answer.includes('already_moved')) throw new Error(answer);
        return answer;
      });
      if (crash.completed) t.regex(String(again), /409 already_moved/, label);
      else t.like(again, { moved: true, to: fed.url('zj') }, label);
      t.regex(await move(fed, person).then(String), /409 already_moved/, `${label}: and again`);

      // The same password at zj, on zj's page; the account is zj's own.
      const atZj = await settled(`${label}: a login at zj`, () => loginAt(new UserAgent(), zj, person.id_number, PASSWORD));
      t.true(atZj.passwordPage!.url.startsWith(fed.url('zj')), `${label}: ${atZj.passwordPage!.url}`);
      t.is(atZj.signedIn.home, fed.url('zj'), label);
      t.false(atZj.signedIn.recognized, label);
      // gz sends the login to zj, and the session gz had is gone: a login there asks who the person is.
      const atGz = await loginAt(new UserAgent(), gz, person.id_number, PASSWORD);
      t.true(atGz.passwordPage!.url.startsWith(fed.url('zj')), `${label}: ${atGz.passwordPage!.url}`);
      t.is(atGz.signedIn.home, fed.url('zj'), label);
      t.regex((await gz.start(browser)).page.url, /\/interaction\//, `${label}: the session at gz ended`);

      for (const op of OPS) {
        const { conflicts } = (await callAdmin(topology.get(op), config.dataDir, 'GET', REGISTRY_CONFLICTS_PATH)) as {
          conflicts: unknown[];
        };
        t.deepEqual(conflicts, [], `${label}: no registry conflict at ${op}`);
      }
      moved.push({ label, person, subjectAtGz: signedIn.sub! });
    }

    // The embedded engine's folder opens in one process at a time: the data are read with the federation stopped.
    await federation.stop();
    const master = loadMasterKey(config.dataDir);
    const opened = await Promise.all(
      OPS.map(async (op) => {
        const db = await openEntityDatabase(config, topology.get(op));
        const { cipher, blindIndex } = deriveEntitySecrets(master, fed.url(op));
        return { op, db, accounts: new NaturalPersonAccounts(db, cipher, blindIndex), registry: new HomeRegistry(db, blindIndex) };
      }),
    );
    try {
      const count = async (db: (typeof opened)[number]['db'], sql: string, params: unknown[]) =>
        Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);
      for (const { op, db } of opened) t.is(await count(db, 'registry_outbox', []), 0, `the outbox of ${op} is drained`);
      for (const { label, person, subjectAtGz } of moved) {
        for (const { op, db, accounts } of opened) {
          const { rows } = await db.query<{
            subject: string;
            status: string;
            moved_to: string | null;
            moved_from: string | null;
            password_hash: string;
          }>('SELECT subject, status, moved_to, moved_from, password_hash FROM natural_persons WHERE id_number_index = $1', [
            accounts.idNumberIndex(person.id_number),
          ]);
          if (op === 'gz') {
            t.like(
              rows,
              [{ subject: subjectAtGz, status: 'moved', moved_to: fed.url('zj'), password_hash: '' }],
              `${label}: gz keeps where it went`,
            );
            t.is(
              await count(db, 'audit_log WHERE subject = $1 AND event = $2', [subjectAtGz, 'account.moved_out']),
              1,
              `${label}: moved_out once`,
            );
          } else if (op === 'zj') {
            t.like(rows, [{ status: 'active', moved_from: fed.url('gz') }], `${label}: one account at zj`);
            t.is(
              await count(db, 'audit_log WHERE subject = $1 AND event = $2', [rows[0]!.subject, 'account.moved_in']),
              1,
              `${label}: moved_in once`,
            );
          } else t.deepEqual(rows, [], `${label}: no account at ${op}`);
        }
        for (const { op, db, registry } of opened.filter((o) => REGISTRIES.includes(o.op))) {
          t.is(await registry.lookup('natural', person.id_number), fed.url('zj'), `${label}: the registry at ${op} names zj`);
          const entries = await count(db, 'home_registry WHERE kind = $1 AND blind_index = $2', [
            'natural',
            registry.indexOf('natural', person.id_number),
          ]);
          t.is(entries, 1, `${label}: once at ${op}`);
        }
      }
    } finally {
      await Promise.all(opened.map((o) => o.db.close()));
    }
  } finally {
    await crashable.dispose();
  }
});
