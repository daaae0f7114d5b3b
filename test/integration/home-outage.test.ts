/**
 * A home OP that goes down, or stops answering, in the middle of a cross-tier login: the person
 * has typed their password at the home (gz) and is on the way back through the brokers (gd,
 * national) to the OP where they started (zj) when gz's token endpoint cannot be reached. gz runs
 * in a host of its own so that it can be stopped, or replaced by a listener that never answers.
 * The person sees zj's page saying their home cannot be reached (503), within the hop's bounded
 * time; every hop counts it; once gz is back the same login works, with no restart of anything else.
 */
import test, { type ExecutionContext } from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { startHost, type Host } from '../../cli/entity-host.ts';
import { createLogger } from '../../infra/log.ts';
import { UserAgent, type Page } from '../helpers/user-agent.ts';
import { newPerson, REDIRECT_URI, type Person } from '../helpers/flows.ts';
import { loginAt, opSite, registerAt, type Site } from '../helpers/recognition-sites.ts';
import { BROKER_CALLBACK_PATH } from '../../idp/login/cross-tier-hops.ts';
import { BROKER_TIMEOUTS } from '../../idp/broker/broker-timeouts.ts';
import { scrape, total } from '../helpers/metrics-scrape.ts';
import { readAudit } from '../../infra/audit-log.ts';

const PASSWORD = 'Home-outage-1';
const HOME_UNAVAILABLE = '您的账号注册地平台暂时无法访问，请稍后再试。';
/** The hop's own bound and some room for a loaded machine: a hang would be far beyond. */
const ANSWER_BOUND_MS = BROKER_TIMEOUTS.hopSeconds * 1000 + 10_000;

let fed: TestFederation;
let gzHost: Host | null = null;
let zj: Site;
let person: Person;

const startGz = async () => {
  gzHost = await startHost(
    { ...fed.config, topology: fed.topology, demo: true, log: createLogger({}, (process.env.TEST_LOG_LEVEL as 'error') ?? 'error') },
    ['gz'],
  );
};
const stopGz = async () => {
  await gzHost?.close();
  gzHost = null;
};

test.before(async () => {
  // Everything but gz in one host; gz in a host of its own, on the same storage and keys.
  fed = await startTestFederation(['gd', 'zj', 'registries']);
  await startGz();
  zj = opSite(fed, 'zj');
  person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, PASSWORD);
});
test.after.always(async () => {
  await stopGz();
  await fed?.close();
});

const runtime = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime;
const hopFailures = async (id: string) =>
  total(await scrape(fed.url(id), runtime(id).adminToken), 'gov_id_cross_tier_hops_total', { stage: 'finish' }) -
  total(await scrape(fed.url(id), runtime(id).adminToken), 'gov_id_cross_tier_hops_total', { stage: 'finish', outcome: 'ok' });

/** Starts the login at zj and types the password at gz; stops where gz sends the browser back to gd with the code. */
async function passwordTypedAtHome(ua: UserAgent): Promise<Page> {
  const login = await zj.start(ua);
  const passwordPage = await ua.submit(login.page, '/identifier', { identifier: person.id_number });
  if (!passwordPage.url.startsWith(fed.url('gz'))) throw new Error(`not at the home's password page: ${passwordPage.url}`);
  const back = await ua.submit(passwordPage, '/password', { password: PASSWORD }, `${fed.url('gd')}${BROKER_CALLBACK_PATH}`);
  if (!back.url.startsWith(fed.url('gd'))) throw new Error(`not sent back to gd: ${back.status} ${back.url}`);
  return back;
}

async function homeUnavailableAtZj(t: ExecutionContext, ua: UserAgent, back: Page) {
  const before = { gd: await hopFailures('gd'), national: await hopFailures('national'), zj: await hopFailures('zj') };
  const started = Date.now();
  const page = await ua.navigate(back.url, {}, REDIRECT_URI);
  const ms = Date.now() - started;
  t.log(`answered ${page.status} in ${ms} ms`);
  t.true(page.url.startsWith(fed.url('zj')), `the person is back at zj: ${page.url}`);
  t.is(page.status, 503, page.html.slice(0, 1500));
  t.true(page.html.includes(HOME_UNAVAILABLE), page.html.slice(0, 1500));
  t.true(ms < ANSWER_BOUND_MS, `answered in ${ms} ms`);
  // The failed hop is counted where it failed and at each OP on the way back; gd audited why.
  for (const id of ['gd', 'national', 'zj'] as const) t.is((await hopFailures(id)) - before[id], 1, id);
  const [refusal] = (await readAudit(runtime('gd').db, 20)).filter((e) => e.event === 'recognition.refused');
  t.is((refusal?.detail as { reason?: string } | undefined)?.reason, 'home_unavailable');
}

test.serial('a home that goes down while the person is on the way back: the OP they started at says so', async (t) => {
  const ua = new UserAgent();
  const back = await passwordTypedAtHome(ua);
  await stopGz();
  try {
    await homeUnavailableAtZj(t, ua, back);
  } finally {
    await startGz();
  }
  const { signedIn } = await loginAt(new UserAgent(), zj, person.id_number, PASSWORD);
  t.is(signedIn.home, fed.url('gz'), 'the login works once the home is back');
});

test.serial('a home that stops answering while the person is on the way back: the answer comes within the bounded time', async (t) => {
  const ua = new UserAgent();
  const back = await passwordTypedAtHome(ua);
  await stopGz();
  // Something on gz's port that takes connections and never answers.
  const sockets: Socket[] = [];
  const hanging: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => hanging.listen(fed.topology.get('gz').port, '127.0.0.1', resolve));
  try {
    await homeUnavailableAtZj(t, ua, back);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => hanging.close(resolve));
    await startGz();
  }
  const { signedIn } = await loginAt(new UserAgent(), zj, person.id_number, PASSWORD);
  t.is(signedIn.home, fed.url('gz'), 'the login works once the home answers again');
});
