/**
 * Organizations apply through whoever signs in for them (legal_person scope, real OP logins at gz):
 * the representative for any item, an agent only for items their mandate's service categories
 * cover; every agent sees the organization's cases; persons and organizations apply only for
 * the items meant for them.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import {
  authorize,
  newPerson,
  oidc,
  redeem,
  registerOnPage,
  relyingParty,
  throughConsent,
  REDIRECT_URI,
  type Person,
  type RelyingParty,
} from '../helpers/flows.ts';
import { casesApi, pdf, personWithToken, type CasesApi, type Reply } from '../helpers/cases-api.ts';
import { until } from '../helpers/until.ts';

const SERVICES = 'gz-services';
/** 食品经营许可 at 广州市市场监督管理局: for organizations, loa1; categories business and permits. */
const FOOD = '1144010000010402113010104005000';
/** 医师执业注册: for persons. */
const PERSONAL = '11440100000106040E3010106002000';
const PASSWORD = 'Org-cases-1';

let fed: TestFederation;
let api: CasesApi;
let rp: RelyingParty;
let rep: Person;
let taxAgent: Person;
let businessAgent: Person;
let org: { uscc: string; name: string };

async function register(p: Person) {
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  await redeem(rp, await registerOnPage(fed, ua, a.page, p, PASSWORD), a);
}

/** A token for the services entity, signed in for the organization. */
async function orgToken(p: Person): Promise<string> {
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid profile legal_person services', resource: fed.url(SERVICES) });
  const pw = await ua.submit(a.page, '/identifier', { identifier: p.id_number });
  const picker = await ua.submit(pw, '/password', { password: PASSWORD });
  const orgSubject = /<input type="radio" name="org" value="([^"]+)"/.exec(picker.html)?.[1];
  if (!orgSubject) throw new Error(`no organization to pick:\n${picker.html.slice(0, 800)}`);
  const callback = await throughConsent(ua, await ua.submit(picker, '/org', { org: orgSubject }, REDIRECT_URI));
  const tokens = await oidc.authorizationCodeGrant(
    rp.config,
    new URL(callback.url),
    { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true },
    { resource: fed.url(SERVICES) },
  );
  return tokens.access_token;
}

test.before(async () => {
  fed = await startTestFederation(['gz', 'registries', SERVICES]);
  api = casesApi(fed, SERVICES);
  rp = await relyingParty(fed, 'gz');
  [rep, taxAgent, businessAgent] = [await newPerson(fed), await newPerson(fed), await newPerson(fed)];
  for (const p of [rep, taxAgent, businessAgent]) await register(p);
  const res = await fetch(`${fed.url('registries')}/demo/organizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rep_id_number: rep.id_number }),
  });
  org = (await res.json()) as { uscc: string; name: string };
  // The representative registers the organization and authorizes the agents in the account area.
  const ua = new UserAgent();
  const login = await ua.navigate(`${fed.url('gz')}/account`);
  const account = await ua.submit(await ua.submit(login, '/identifier', { identifier: rep.id_number }), '/password', {
    password: PASSWORD,
  });
  const registered = await ua.submit(account, '/account/organizations', { uscc: org.uscc, org_name: org.name });
  const manage = await ua.navigate(
    new URL(/href="(\/account\/organizations\/[^"]+)"/.exec(registered.html)![1]!, registered.url).toString(),
  );
  for (const [agent, categories] of [
    [taxAgent, 'tax'],
    [businessAgent, 'business'],
  ] as const) {
    const added = await ua.submit(manage, '/agents', {
      name: agent.name,
      id_number: agent.id_number,
      role: 'agent',
      categories,
      expires: '',
    });
    if (added.status !== 201) throw new Error(`authorizing an agent: ${added.status}`);
  }
  const { token } = await personWithToken(fed, 'gz', SERVICES);
  await until(async () => (await api.call('GET', '/me', { token })).status === 200, 'gz trusted with service tokens', 60_000);
});
test.after.always(async () => {
  await fed?.close();
});

function problem(t: import('ava').ExecutionContext, reply: Reply, status: number, error: string) {
  t.is(reply.status, status, JSON.stringify(reply.json));
  t.is(reply.json.error, error, JSON.stringify(reply.json));
}

let keys = 0;
async function applyForFood(token: string): Promise<Reply> {
  const slots = [0, 2, 3];
  const materials = [];
  for (const slot of slots) materials.push({ slot, upload_id: (await api.upload(token, pdf(`slot ${slot}`))).json.upload_id });
  return api.call('POST', '/cases', {
    token,
    headers: { 'idempotency-key': `food-${Date.now()}-${++keys}` },
    body: { item_code: FOOD, delivery: 'electronic', materials: [...materials, { slot: 1, reference: 'e-license:营业执照' }] },
  });
}

test('the representative and an agent for business apply for the organization; an agent for tax is refused', async (t) => {
  const repToken = await orgToken(rep);
  const byRep = await applyForFood(repToken);
  t.is(byRep.status, 201, JSON.stringify(byRep.json));

  problem(t, await applyForFood(await orgToken(taxAgent)), 403, 'outside_service_categories');

  const businessToken = await orgToken(businessAgent);
  const byAgent = await applyForFood(businessToken);
  t.is(byAgent.status, 201, JSON.stringify(byAgent.json));

  // The organization's cases, whoever applied: both show in every agent's list.
  const mine = await api.call('GET', '/cases/mine', { token: businessToken });
  const numbers = (mine.json.cases as { number: string }[]).map((c) => c.number);
  t.true(numbers.includes(String(byRep.json.number)) && numbers.includes(String(byAgent.json.number)));
  const view = await api.call('GET', `/cases/${String(byRep.json.number)}`, { token: businessToken });
  t.is(view.status, 200);
});

test('a person cannot apply for an organization item, nor an organization for a personal one', async (t) => {
  const person = await personWithToken(fed, 'gz', SERVICES);
  problem(
    t,
    await api.call('POST', '/cases', {
      token: person.token,
      headers: { 'idempotency-key': `food-person-${Date.now()}` },
      body: { item_code: FOOD, delivery: 'electronic', materials: [] },
    }),
    403,
    'organization_required',
  );
  problem(
    t,
    await api.call('POST', '/cases', {
      token: await orgToken(rep),
      headers: { 'idempotency-key': `personal-org-${Date.now()}` },
      body: { item_code: PERSONAL, delivery: 'electronic', materials: [] },
    }),
    403,
    'natural_person_required',
  );
});
