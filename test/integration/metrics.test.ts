/**
 * Prometheus metrics per entity at /metrics: protected by the metrics token or the entity's admin
 * token; requests by route template and status with latencies; logins and failures by method,
 * lockouts and refusals; grants by type; cross-tier hops at every OP on the way; the registry
 * outbox's backlog; the process's own figures. Each entity counts only its own traffic, and a
 * client naming many paths cannot grow the series.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, oidc, passwordLogin, redeem, relyingParty } from '../helpers/flows.ts';
import { seededPerson } from '../helpers/integration-extra.ts';
import { loginAt, opSite, registerAt } from '../helpers/recognition-sites.ts';
import { parseExposition, scrape, total, type Sample } from '../helpers/metrics-scrape.ts';
import { THROTTLE_POLICY } from '../../idp/accounts/login-throttle.ts';
import { checkedMetricsToken } from '../../infra/metrics-endpoint.ts';
import { ConfigurationError } from '../../infra/errors.ts';

const METRICS_TOKEN = randomBytes(32).toString('hex');
const PASSWORD = 'Metrics-pass-1';
let fed: TestFederation;

test.before(async () => {
  process.env.GOV_ID_METRICS_TOKEN = METRICS_TOKEN;
  fed = await startTestFederation(['gz', 'zj', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

const adminToken = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime.adminToken;
const metricsOf = (id: string) => scrape(fed.url(id), METRICS_TOKEN);

/** How much each sample named `name` with these labels grew while `step` ran. */
async function growth(id: string, step: () => Promise<unknown>, ...series: [string, Record<string, string>?][]): Promise<number[]> {
  const before = await metricsOf(id);
  await step();
  const after = await metricsOf(id);
  return series.map(([name, labels]) => total(after, name, labels) - total(before, name, labels));
}

test('a metrics token shorter than 32 characters stops the entity at start, naming the variable', (t) => {
  const err = t.throws(() => checkedMetricsToken('too-short'), { instanceOf: ConfigurationError });
  t.is(err?.path, 'GOV_ID_METRICS_TOKEN');
  t.is(checkedMetricsToken(undefined), undefined);
  t.is(checkedMetricsToken(METRICS_TOKEN), METRICS_TOKEN);
});

test.serial('/metrics answers the metrics token and the admin token only, and is never cached', async (t) => {
  const url = `${fed.url('gz')}/metrics`;
  const anonymous = await fetch(url);
  t.is(anonymous.status, 401);
  t.is(anonymous.headers.get('www-authenticate'), 'Bearer');
  t.is(((await anonymous.json()) as { error: string }).error, 'unauthorized');
  t.is((await fetch(url, { headers: { authorization: `Bearer ${adminToken('zj')}` } })).status, 401, "another entity's admin token");
  t.is((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 405);
  for (const token of [METRICS_TOKEN, adminToken('gz')]) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    t.is(res.headers.get('cache-control'), 'no-store');
    const samples = parseExposition(await res.text());
    t.true(total(samples, 'process_resident_memory_bytes') > 0, "the process's own figures");
  }
});

test.serial('requests are counted by route template, method and status, and timed, at the entity that answered', async (t) => {
  const person = await seededPerson(fed, 'gz', PASSWORD);
  const rp = await relyingParty(fed, 'gz');
  const passwordRoute = { route: '/interaction/:uid/password', method: 'POST', status: '303' };
  const [answered, timed, atZj] = await growth(
    'gz',
    async () => {
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
    },
    ['gov_id_http_requests_total', passwordRoute],
    ['gov_id_http_request_duration_seconds_count', { route: '/interaction/:uid/password', method: 'POST' }],
    ['gov_id_http_requests_total', { entity: 'zj' }],
  );
  t.is(answered, 1);
  t.is(timed, 1);
  t.is(atZj, 0, "gz's metrics hold only gz's traffic");
  const samples = await metricsOf('gz');
  t.true(total(samples, 'gov_id_http_requests_total', { route: '/auth', method: 'GET' }) > 0, "oidc-provider's routes by template");
  t.true(total(samples, 'gov_id_http_requests_total', { route: '/token', method: 'POST', status: '200' }) > 0);
  t.true(samples.every((s) => s.labels.entity === undefined || s.labels.entity === 'gz'));
});

test.serial('logins and failures by method, lockouts, and attempts refused while locked', async (t) => {
  const person = await seededPerson(fed, 'gz', PASSWORD);
  const rp = await relyingParty(fed, 'gz');
  const [failures, lockouts, refused, successes] = await growth(
    'gz',
    async () => {
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      const passwordPage = await ua.submit(a.page, '/identifier', { identifier: person.id_number });
      for (let i = 0; i < THROTTLE_POLICY.failuresPerAccount + 1; i++)
        await ua.submit(passwordPage, '/password', { identifier: person.id_number, password: 'Wrong-pass-1' });
    },
    ['gov_id_logins_total', { method: 'password', outcome: 'failure' }],
    ['gov_id_lockouts_total'],
    ['gov_id_login_refusals_total', { reason: 'locked' }],
    ['gov_id_logins_total', { outcome: 'success' }],
  );
  t.deepEqual(
    { failures, lockouts, refused, successes },
    { failures: THROTTLE_POLICY.failuresPerAccount, lockouts: 1, refused: 1, successes: 0 },
  );
});

test.serial('grants by type and outcome', async (t) => {
  const person = await seededPerson(fed, 'gz', PASSWORD);
  const rp = await relyingParty(fed, 'gz');
  const [codes, refreshes, refused] = await growth(
    'gz',
    async () => {
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      const tokens = await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
      await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
      await t.throwsAsync(oidc.refreshTokenGrant(rp.config, 'not-a-refresh-token'));
    },
    ['gov_id_grants_total', { grant_type: 'authorization_code', outcome: 'success' }],
    ['gov_id_grants_total', { grant_type: 'refresh_token', outcome: 'success' }],
    ['gov_id_grants_total', { grant_type: 'refresh_token', outcome: 'failure' }],
  );
  t.deepEqual({ codes, refreshes, refused }, { codes: 1, refreshes: 1, refused: 1 });
});

test.serial(
  'a cross-tier login counts its hops at every OP on the way, a recognized login where it started, and the outbox drains',
  async (t) => {
    const person = await newPerson(fed);
    await registerAt(fed, opSite(fed, 'gz'), person, PASSWORD);
    const hops = (s: Sample[]) => ({
      start: total(s, 'gov_id_cross_tier_hops_total', { stage: 'start', outcome: 'ok' }),
      finish: total(s, 'gov_id_cross_tier_hops_total', { stage: 'finish', outcome: 'ok' }),
      recognized: total(s, 'gov_id_logins_total', { method: 'recognized', outcome: 'success' }),
    });
    const ids = ['zj', 'national', 'gd', 'gz'];
    const before = await Promise.all(ids.map(async (id) => hops(await metricsOf(id))));
    const { signedIn } = await loginAt(new UserAgent(), opSite(fed, 'zj'), person.id_number, PASSWORD);
    t.is(signedIn.home, fed.url('gz'));
    const after = await Promise.all(ids.map(async (id) => hops(await metricsOf(id))));
    const grew = Object.fromEntries(
      ids.map((id, i) => [
        id,
        {
          start: after[i]!.start - before[i]!.start,
          finish: after[i]!.finish - before[i]!.finish,
          recognized: after[i]!.recognized - before[i]!.recognized,
        },
      ]),
    );
    t.deepEqual(grew, {
      zj: { start: 1, finish: 1, recognized: 1 },
      national: { start: 1, finish: 1, recognized: 0 },
      gd: { start: 1, finish: 1, recognized: 0 },
      gz: { start: 0, finish: 0, recognized: 0 },
    });
    // The registration's publication went up gz → gd → national: nothing waits in gz's outbox.
    const gz = await metricsOf('gz');
    t.is(total(gz, 'gov_id_outbox_backlog', { outbox: 'registry', state: 'pending' }), 0);
    t.is(total(gz, 'gov_id_outbox_oldest_pending_seconds', { outbox: 'registry' }), 0);
    t.true(gz.some((s) => s.name === 'gov_id_outbox_backlog' && s.labels.state === 'conflict'));
  },
);

test.serial('paths a client makes up do not grow the series', async (t) => {
  const base = fed.url('zj');
  for (let i = 0; i < 150; i++) {
    const junk = randomBytes(6).toString('hex');
    await fetch(`${base}/no-such-${junk}`);
    await fetch(`${base}/interaction/${junk}%00/login`);
    await fetch(`${base}/.well-known/openid-federation?x=${junk}`, { method: 'DELETE' });
  }
  const routes = new Set((await metricsOf('zj')).filter((s) => s.name === 'gov_id_http_requests_total').map((s) => s.labels.route));
  t.true(routes.has('unmatched'));
  t.true(routes.size < 100, [...routes].join(' '));
  t.false(
    [...routes].some((r) => /[0-9a-f]{12}/.test(r!)),
    [...routes].join(' '),
  );
});
