/**
 * Issue 17, cross-tier logins: every OP resolves its neighbours' trust chains in the background
 * (federation/neighbour-chains.ts), so that no login waits for one. Counted at the servers: the
 * statements the authorities and OPs served (`gov_id_http_requests_total` of the federation's
 * routes) and the chains resolved while a request waited (`gov_id_trust_chain_resolutions_total
 * {how="on_demand"}`), over the whole federation, around one cross-province login.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson } from '../helpers/flows.ts';
import { loginAt, opSite, registerAt } from '../helpers/recognition-sites.ts';
import { until } from '../helpers/until.ts';

/** Routes a trust chain resolution fetches from (entity configurations, subordinate statements) or asks (resolve). */
const STATEMENT_ROUTES = new Set(['/.well-known/openid-federation', '/federation/fetch', '/federation/resolve']);

async function counter(fed: TestFederation, name: string, matches: (labels: Record<string, unknown>) => boolean): Promise<number> {
  let total = 0;
  for (const h of fed.host.entities) {
    const metric = h.runtime.metrics.registry.getSingleMetric(name);
    if (!metric) continue;
    for (const v of (await metric.get()).values) if (matches(v.labels)) total += v.value;
  }
  return total;
}

const statementsServed = (fed: TestFederation) => counter(fed, 'gov_id_http_requests_total', (l) => STATEMENT_ROUTES.has(String(l.route)));
const resolvedOnDemand = (fed: TestFederation) => counter(fed, 'gov_id_trust_chain_resolutions_total', (l) => l.how === 'on_demand');
const resolvedAhead = (fed: TestFederation) => counter(fed, 'gov_id_trust_chain_resolutions_total', (l) => l.how === 'ahead');

async function warm(fed: TestFederation): Promise<void> {
  await Promise.all(fed.host.entities.map((h) => h.neighbourChains?.whenWarm()));
}

/** A person registered at gz (a city of gd) logs in at zj (another province): zj → national → gd → gz and back. */
async function crossLogin(fed: TestFederation, person: { id_number: string }, password: string) {
  return loginAt(new UserAgent(), opSite(fed, 'zj'), person.id_number, password);
}

test.serial('the first cross-tier login after the federation starts resolves no trust chain', async (t) => {
  const fed = await startTestFederation(['national', 'gd', 'gz', 'zj', 'registries'], { warmNeighbourChains: true });
  t.teardown(() => fed.close());
  await warm(fed);
  const password = 'Neighbour-1';
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, password);

  const [served, onDemand] = [await statementsServed(fed), await resolvedOnDemand(fed)];
  const { signedIn, passwordPage } = await crossLogin(fed, person, password);
  t.is(signedIn.home, fed.url('gz'));
  t.true(signedIn.recognized);
  t.not(passwordPage, null);
  t.is(await resolvedOnDemand(fed), onDemand, 'no OP resolved a chain while the login waited');
  t.is(await statementsServed(fed), served, 'no entity configuration or subordinate statement was fetched during the login');
});

test.serial('the background refresh keeps the chains warm past the cache lifetime', async (t) => {
  const lifetimeSeconds = 4;
  const fed = await startTestFederation(['national', 'gd', 'gz', 'zj', 'registries'], {
    trustCacheSeconds: lifetimeSeconds,
    warmNeighbourChains: true,
  });
  t.teardown(() => fed.close());
  await warm(fed);
  const password = 'Neighbour-2';
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, password);
  await crossLogin(fed, person, password);

  // Two lifetimes later every chain remembered at the first login has expired; refreshed ones stand in.
  const ahead = await resolvedAhead(fed);
  const expired = Date.now() + 2 * lifetimeSeconds * 1000;
  await until(async () => Date.now() > expired, 'two cache lifetimes', 4 * lifetimeSeconds * 1000);
  t.true((await resolvedAhead(fed)) > ahead, 'the chains were resolved again in the background');

  const onDemand = await resolvedOnDemand(fed);
  const { signedIn } = await crossLogin(fed, person, password);
  t.is(signedIn.home, fed.url('gz'));
  t.is(await resolvedOnDemand(fed), onDemand, 'no OP resolved a chain while the login waited');
});
