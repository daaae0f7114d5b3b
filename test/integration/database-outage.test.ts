/**
 * PostgreSQL restarted under traffic. The federation runs on a PostgreSQL of this test's own,
 * stopped (a fast shutdown, as a restart begins) while browsers load login pages: every answer is
 * the usual page or 503 "temporarily unavailable", never a bare server error or a hang; OAuth
 * endpoints answer temporarily_unavailable and readiness names the database. PostgreSQL comes back
 * on the same data: without restarting gov-id, a login interrupted by the outage goes on, the
 * refresh token from before refreshes (once), and registrations work again, each person with one
 * account, one home in the registry of homes, no publication left in the outbox and the audit log
 * intact.
 */
import test, { type ExecutionContext } from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { privatePostgresMissing, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, oidc, passwordLogin, redeem, relyingParty, throughConsent, type RelyingParty } from '../helpers/flows.ts';
import { accountsOf, seededPerson } from '../helpers/integration-extra.ts';
import { opSite, registerAt } from '../helpers/recognition-sites.ts';
import { until } from '../helpers/until.ts';
import { answersUnavailable, loginPagesThrough } from '../helpers/outage-traffic.ts';
import { scrape, total } from '../helpers/metrics-scrape.ts';
import { callAdmin } from '../../infra/admin-client.ts';
import { HomeRegistry } from '../../federation/registry-of-homes.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';
import pgClient from 'pg';

const PASSWORD = 'Outage-pass-42';
const UNAVAILABLE = '服务暂时不可用，请稍后再试。';
/** Reconnecting is immediate once PostgreSQL accepts connections; this only bounds a failure. */
const RECOVERY_BOUND_MS = 60_000;

let pg: PrivatePostgres;
let fed: TestFederation;
let rp: RelyingParty;
const logged: LogLine[] = [];

test.before(async () => {
  if (privatePostgresMissing) return;
  pg = await startPrivatePostgres();
  fed = await startTestFederation(['gd', 'registries'], { databaseUrl: pg.url, log: recordingLogger(logged) });
  rp = await relyingParty(fed, 'gd');
});
test.after.always(async () => {
  await fed?.close();
  await pg?.remove();
});

/** Advisory locks held in the test's PostgreSQL (only the registry publishers take session locks). */
async function advisoryLocks(): Promise<number> {
  const client = new pgClient.Client({ connectionString: pg.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted");
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

const runtime = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime;

async function unavailablePage(t: ExecutionContext, what: string, page: { status: number; html: string }) {
  t.is(page.status, 503, `${what}: ${page.html.slice(0, 500)}`);
  t.true(page.html.includes(UNAVAILABLE), `${what}: ${page.html.slice(0, 1500)}`);
}

(privatePostgresMissing ? test.skip : test)(
  `a PostgreSQL restart answers 503 meanwhile and ends without a restart of gov-id, losing and duplicating nothing${privatePostgresMissing ? ` (skipped: ${privatePostgresMissing})` : ''}`,
  async (t) => {
    t.timeout(5 * 60_000);
    const registered = await newPerson(fed);
    await registerAt(fed, opSite(fed, 'gd'), registered, PASSWORD);
    const person = await seededPerson(fed, 'gd', PASSWORD);
    const before = new UserAgent();
    const a = await authorize(rp, before);
    const tokens = await redeem(rp, await passwordLogin(before, a.page, person.id_number, PASSWORD), a);
    // A login under way when PostgreSQL goes: the password page is open.
    const halfway = new UserAgent();
    const interrupted = await authorize(rp, halfway);
    const passwordPage = await halfway.submit(interrupted.page, '/identifier', { identifier: person.id_number });
    t.is(passwordPage.status, 200);

    await loginPagesThrough(t, rp, () => pg.stop(), RECOVERY_BOUND_MS);

    // Pages, in the person's language; the OAuth endpoints; readiness.
    await unavailablePage(t, 'authorization', (await authorize(rp, new UserAgent())).page);
    await unavailablePage(t, 'password', await halfway.submit(passwordPage, '/password', { password: PASSWORD }));
    const refreshDuring = await t.throwsAsync<oidc.ClientError>(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
    await answersUnavailable(t, 'refresh', refreshDuring?.cause as Response);
    const notReady = await fetch(`${fed.url('gd')}/readyz`);
    t.is(notReady.status, 503);
    t.is(((await notReady.json()) as { error_description: string }).error_description, 'not ready: database');
    t.is((await fetch(`${fed.url('gd')}/healthz`)).status, 200);

    // PostgreSQL is back on the same data. No restart of gov-id.
    await pg.start();
    await until(
      async () => (await authorize(rp, new UserAgent())).page.status === 200,
      'the login page after PostgreSQL is back',
      RECOVERY_BOUND_MS,
    );
    t.is((await fetch(`${fed.url('gd')}/readyz`)).status, 200, 'ready again');

    // The interrupted login goes on where it stopped.
    const resumed = await halfway.submit(passwordPage, '/password', { password: PASSWORD }, 'http://127.0.0.1:9/callback');
    const resumedTokens = await redeem(rp, await throughConsent(halfway, resumed), interrupted);
    t.is(resumedTokens.claims()!.sub, tokens.claims()!.sub);

    // The refresh token from before the outage was neither lost nor used up by the refused attempt; it refreshes once.
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    t.is(refreshed.claims()?.sub, tokens.claims()!.sub);
    await t.throwsAsync(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), undefined, 'a rotated refresh token is not used twice');

    // Registrations work again; every person has one account and one home; the outbox is drained.
    const after = await newPerson(fed);
    await registerAt(fed, opSite(fed, 'gd'), after, PASSWORD);
    for (const p of [registered, person, after]) {
      const accounts = accountsOf(fed, 'gd');
      const { rows } = await runtime('gd').db.query('SELECT count(*)::int AS n FROM natural_persons WHERE id_number_index = $1', [
        accounts.identifierIndex(p.id_number),
      ]);
      t.deepEqual(rows, [{ n: 1 }], 'one account');
    }
    for (const p of [registered, after]) {
      const national = runtime('national');
      t.is(await new HomeRegistry(national.db, national.blindIndex).lookup('natural', p.id_number), fed.url('gd'));
    }
    const adminToken = runtime('gd').adminToken;
    await until(
      async () => total(await scrape(fed.url('gd'), adminToken), 'gov_id_outbox_backlog', { outbox: 'registry', state: 'pending' }) === 0,
      "gd's registry outbox to drain",
      RECOVERY_BOUND_MS,
    );
    for (const id of ['gd', 'national']) {
      const verdict = (await callAdmin(fed.topology.get(id), fed.config.dataDir, 'GET', '/admin/audit/verify')) as { intact: boolean };
      t.true(verdict.intact, `the audit log of ${id} is intact`);
    }
    // gd's outbox publisher holds its liveness lock again (so that no other instance takes its leases).
    await until(async () => (await advisoryLocks()) > 0, 'the publisher to hold its liveness lock again', RECOVERY_BOUND_MS);

    // Nothing answered a bare server error; each entity told of the outage once when it began and once when it ended.
    t.deepEqual(
      logged.filter((l) => l.msg === 'unhandled error' || l.msg === 'oidc-provider server error').map((l) => l.msg),
      [],
    );
    const outageLog = (entity: string) =>
      logged.filter((l) => l.fields.entity === entity && l.msg.startsWith('database ')).map((l) => l.level);
    t.deepEqual(outageLog('gd'), ['error', 'info']);
    for (const { entity } of fed.host.entities) t.true([0, 2].includes(outageLog(entity.id).length), entity.id);
  },
);
