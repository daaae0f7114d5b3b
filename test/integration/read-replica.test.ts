/**
 * PostgreSQL read replicas for real: a primary of this test's own (wal_level replica) and a hot
 * standby streaming from it (pg_basebackup -R), both on loopback. The federation runs on the
 * primary with DATABASE_REPLICA_URLS naming the standby. Catalog searches are served by the
 * standby: with its replay paused, an approved change is on the primary and not in search;
 * replayed, it is. A standby further behind than the bound, or stopped, serves nothing: searches
 * go to the primary without an error, and come back to the standby when it has caught up. While
 * the primary is down, the standby goes on answering searches. Logins
 * and tokens never touch it: the standby logs every statement with its connection's
 * application_name, and all of them come from the services entity's lag-tolerant reads.
 */
import test from 'ava';
import pgClient from 'pg';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { privatePostgresMissing, startPrivatePostgres, startPrivateReplica, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, oidc, passwordLogin, redeem, relyingParty } from '../helpers/flows.ts';
import { seededPerson } from '../helpers/integration-extra.ts';
import { until } from '../helpers/until.ts';
import { scrape, total } from '../helpers/metrics-scrape.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';
import { schemaName } from '../../infra/database.ts';
import type { CatalogFile } from '../../services/catalog/catalog-schema.ts';

const SERVICES = 'gz-services';
const OP = 'gz';
const PASSWORD = 'Replica-pass-7';
/** The lag bound the federation runs with: wide, so that "paused, still serving" holds on a loaded machine. */
const MAX_LAG_SECONDS = 20;
/** Bounds failures only: each wait ends as soon as its condition holds. */
const BOUND_MS = 120_000;
const WEDDING = '结婚登记';

let primary: PrivatePostgres;
let standby: PrivatePostgres;
let fed: TestFederation;
const logged: LogLine[] = [];
/** Statements the standby ran, with the application_name of the connection that sent them. */
const standbyStatements: { app: string; text: string }[] = [];

test.before(async () => {
  if (privatePostgresMissing) return;
  primary = await startPrivatePostgres({ settings: { wal_level: 'replica', max_wal_senders: '4' } });
  standby = await startPrivateReplica(primary, {
    settings: { log_statement: 'all', log_line_prefix: '[%a] ' },
    onLog: (line) => {
      const m = /^\[(.*?)\] LOG:\s+(?:statement|execute [^:]*): (.*)$/.exec(line);
      if (m) standbyStatements.push({ app: m[1]!, text: m[2]! });
    },
  });
  fed = await startTestFederation([OP, SERVICES, 'registries'], {
    databaseUrl: primary.url,
    deployment: { databaseReplicaUrls: [standby.url], replicaMaxLagSeconds: MAX_LAG_SECONDS },
    log: recordingLogger(logged),
  });
});
test.after.always(async () => {
  await fed?.close();
  await standby?.remove();
  await primary?.remove();
});

const runtime = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime;
const metrics = (id: string) => scrape(fed.url(id), runtime(id).adminToken);

async function onStandby<R>(sql: string): Promise<R[]> {
  const client = new pgClient.Client({ connectionString: standby.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as R[];
  } finally {
    await client.end();
  }
}

/** The search's hit for the wedding registration: its code and version, as whichever server answered has it. */
async function searchWedding(): Promise<{ status: number; hit?: { code: string; version: number } }> {
  const res = await fetch(`${fed.url(SERVICES)}/catalog/search?q=${encodeURIComponent(WEDDING)}`);
  if (res.status !== 200) return { status: res.status };
  const { results } = (await res.json()) as { results: { code: string; name: string; version: number }[] };
  const hit = results.find((r) => r.name === WEDDING);
  return { status: 200, ...(hit ? { hit: { code: hit.code, version: hit.version } } : {}) };
}

async function replicaState(): Promise<string | undefined> {
  return (await metrics(SERVICES)).find((s) => s.name === 'gov_id_read_replica_serving' && s.labels.replica === '1')?.labels.state;
}

/** Searches until the standby is in `state`: the searches start its checks, and every one must answer. */
async function searchUntilReplica(state: string, what: string): Promise<void> {
  await until(
    async () => {
      const { status } = await searchWedding();
      if (status !== 200) throw new Error(`a search answered ${status} while waiting for ${what}`);
      return (await replicaState()) === state;
    },
    what,
    BOUND_MS,
  );
}

async function adminCall(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(fed.url(SERVICES) + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${runtime(SERVICES).adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A new version of the wedding registration item, approved on the primary; its version number. */
async function approveWeddingChange(hours: string): Promise<number> {
  const exported = await fetch(`${fed.url(SERVICES)}/admin/catalog/export`, {
    headers: { authorization: `Bearer ${runtime(SERVICES).adminToken}` },
  });
  const catalog = (await exported.json()) as CatalogFile;
  const wedding = catalog.implementation.find((i) => i.name === WEDDING && i.level === 'main')!;
  const owner = wedding.implementing_authority;
  const draft = await adminCall('/admin/catalog/changes', {
    actor: owner,
    person: '甲',
    kind: 'implementation',
    item: { ...wedding, hours },
  });
  await adminCall(`/admin/catalog/changes/${String(draft.id)}/submit`, { actor: owner, person: '甲' });
  const approved = (await adminCall(`/admin/catalog/changes/${String(draft.id)}/approve`, { actor: owner, person: '乙' })) as {
    change: { version: number };
  };
  return approved.change.version;
}

(privatePostgresMissing ? test.skip : test.serial)(
  `catalog searches are served by the standby, follow its replay, and fall back to the primary when it lags or stops${privatePostgresMissing ? ` (skipped: ${privatePostgresMissing})` : ''}`,
  async (t) => {
    t.timeout(8 * 60_000);
    await searchUntilReplica('serving', 'the standby to serve lag-tolerant reads');
    const before = (await searchWedding()).hit!;
    const servedBefore = total(await metrics(SERVICES), 'gov_id_lag_tolerant_reads_total', { served_by: 'replica' });
    t.true(servedBefore > 0, 'searches were served by the standby');

    // Replay paused: the standby keeps what it had. An approved change is on the primary, not in search.
    await onStandby('SELECT pg_wal_replay_pause()');
    const version = await approveWeddingChange('周一至周五 9:00-17:00（复制测试）');
    t.true(version > before.version);
    const paused = await searchWedding();
    t.is(paused.status, 200);
    t.is(paused.hit?.version, before.version, 'the search came from the paused standby, which has not replayed the change');
    t.true(
      total(await metrics(SERVICES), 'gov_id_lag_tolerant_reads_total', { served_by: 'replica' }) > servedBefore,
      'and the metrics count it as served by the replica',
    );

    // Paused past the bound: the standby is lagging, searches go to the primary and find the change.
    const pausedAt = Date.now();
    await searchUntilReplica('lagging', `the standby to be further behind than ${MAX_LAG_SECONDS} s`);
    t.log(`lagging ${(Date.now() - pausedAt) / 1000} s after the pause (bound ${MAX_LAG_SECONDS} s)`);
    t.is((await searchWedding()).hit?.version, version, 'the primary answers while the standby lags');
    const lag = (await metrics(SERVICES)).find((s) => s.name === 'gov_id_read_replica_lag_seconds')?.value;
    t.true(lag !== undefined && lag > MAX_LAG_SECONDS, `lag measured: ${lag}`);

    // Replayed: the standby serves again, and has the change.
    const resumedAt = Date.now();
    await onStandby('SELECT pg_wal_replay_resume()');
    await searchUntilReplica('serving', 'the standby to catch up and serve again');
    t.log(`serving again ${(Date.now() - resumedAt) / 1000} s after replay resumed`);
    const servedAfterReplay = total(await metrics(SERVICES), 'gov_id_lag_tolerant_reads_total', { served_by: 'replica' });
    t.is((await searchWedding()).hit?.version, version, 'the change is visible through search once replayed');
    t.true(total(await metrics(SERVICES), 'gov_id_lag_tolerant_reads_total', { served_by: 'replica' }) > servedAfterReplay);

    // Stopped: every search still answers, from the primary; back on the standby once it runs again.
    await standby.stop();
    const stoppedAt = Date.now();
    await searchUntilReplica('unreachable', 'the stopped standby to be found unreachable');
    t.log(`unreachable ${(Date.now() - stoppedAt) / 1000} s after it stopped`);
    for (let i = 0; i < 5; i++) t.is((await searchWedding()).hit?.version, version, 'the primary answers while the standby is down');
    await standby.start();
    const restartedAt = Date.now();
    await searchUntilReplica('serving', 'the restarted standby to serve again');
    t.log(`serving ${(Date.now() - restartedAt) / 1000} s after it accepted connections again`);

    // The primary down: nothing is being committed, and the standby that serves goes on answering searches.
    await primary.stop();
    try {
      for (let i = 0; i < 3; i++) t.is((await searchWedding()).hit?.version, version, 'the standby answers while the primary is down');
      t.is(await replicaState(), 'serving');
    } finally {
      await primary.start();
    }
    await searchUntilReplica('serving', 'the standby to serve once the primary is back');

    // Each change of the standby's state was logged once (a standby catching up after its start or
    // restart may be 'lagging' for a check or two between these).
    const states = logged
      .filter((l) => l.fields.entity === SERVICES && l.msg.startsWith('read replica '))
      .map((l) => /^read replica (serving|lagging|unreachable)/.exec(l.msg)?.[1]);
    t.true(
      states.every((s, i) => s !== states[i - 1]),
      `no state logged twice in a row: ${states.join(' ')}`,
    );
    const expected = ['serving', 'lagging', 'serving', 'unreachable', 'serving'];
    let next = 0;
    for (const s of states) if (s === expected[next]) next++;
    t.is(next, expected.length, `the log tells each change in order: ${states.join(' ')}`);
    t.deepEqual(
      logged.filter((l) => l.msg === 'unhandled error').map((l) => l.msg),
      [],
    );
  },
);

(privatePostgresMissing ? test.skip : test.serial)(
  `logins and tokens never touch the standby${privatePostgresMissing ? ` (skipped: ${privatePostgresMissing})` : ''}`,
  async (t) => {
    const person = await seededPerson(fed, OP, PASSWORD);
    const rp = await relyingParty(fed, OP);
    const ua = new UserAgent();
    const a = await authorize(rp, ua);
    const tokens = await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    t.is(refreshed.claims()?.sub, tokens.claims()!.sub);
    // A search after the login: its statements on the standby are logged after the login's would be.
    await searchUntilReplica('serving', 'the standby to serve');
    const searchesLogged = standbyStatements.length;
    await until(async () => (await searchWedding()).status === 200 && standbyStatements.length > searchesLogged, 'the search', BOUND_MS);

    const readsPool = `gov-id reads ${schemaName(`${fed.config.schemaPrefix}${SERVICES}`)}`;
    const ours = standbyStatements.filter((s) => s.app.startsWith('gov-id'));
    t.true(ours.length > 0);
    t.deepEqual([...new Set(ours.map((s) => s.app))], [readsPool], 'only the services entity reads from the standby');
    t.deepEqual(
      ours.filter((s) => /natural_persons|oidc|grant|refresh|session|account/i.test(s.text)).map((s) => s.text),
      [],
      'no statement about accounts, grants or tokens',
    );
    const opMetrics = await metrics(OP);
    t.is(total(opMetrics, 'gov_id_lag_tolerant_reads_total'), 0, 'the OP reads nothing lag-tolerant');
    t.is(opMetrics.find((s) => s.name === 'gov_id_read_replica_serving')?.labels.state, 'unchecked', 'and never connected to the standby');
  },
);
