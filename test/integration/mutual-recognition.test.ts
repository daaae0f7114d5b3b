/**
 * Register once, recognized everywhere (一地注册, 各地互认), across the three build modes: for
 * every ordered pair of the demo's platforms — a city of separate-mode gd (gz), province gd,
 * hybrid js (through its city portal nj), unified zj and national — a person registered at the
 * first through the real forms logs in at the second with the same account: the visited OP
 * issues its own tokens saying `recognized` and naming the home, and it never asked for a
 * second registration; the same for an agent acting for an organization registered at the first.
 * Logins go through the brokers of the real federation (PAR at each hop,
 * trust chains, the registry of homes).
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson } from '../helpers/flows.ts';
import { loginAt, opSite, organizationWithAgent, portalSite, registerAt, type Site } from '../helpers/recognition-sites.ts';

let fed: TestFederation;
let sites: Site[];

test.before(async () => {
  fed = await startTestFederation(['national', 'gd', 'gz', 'sz', 'js', 'zj', 'registries', 'nj']);
  sites = [opSite(fed, 'gz'), opSite(fed, 'gd'), portalSite(fed, 'nj'), opSite(fed, 'zj'), opSite(fed, 'national')];
});

test.after.always(async () => {
  await fed?.close();
});

const PAIRS = ['gz', 'gd', 'js', 'zj', 'national'].flatMap((a) =>
  ['gz', 'gd', 'js', 'zj', 'national'].filter((b) => b !== a).map((b) => [a, b] as const),
);
const site = (op: string) => sites.find((s) => s.op === op)!;

for (const [from, to] of PAIRS) {
  test(`a person registered at ${from} logs in at ${to} with the same account`, async (t) => {
    const person = await newPerson(fed);
    const password = `Recognized-${from}1`;
    const registered = await registerAt(fed, site(from), person, password);
    t.is(registered.home, fed.url(from));

    const ua = new UserAgent();
    const { signedIn, passwordPage } = await loginAt(ua, site(to), person.id_number, password);
    // The password was typed on the home's page, never on the visited OP's.
    t.truthy(passwordPage);
    t.true(passwordPage!.url.startsWith(fed.url(from)), passwordPage!.url);
    t.is(signedIn.home, fed.url(from));
    t.true(signedIn.recognized);
    t.is(signedIn.name, person.name);
  });

  test(`an agent of an organization registered at ${from} acts for it at ${to}`, async (t) => {
    const password = `Agent-${from}-pass1`;
    const { org, agent } = await organizationWithAgent(fed, site(from), password);
    const { signedIn, passwordPage } = await loginAt(new UserAgent(), site(to), agent.id_number, password, {}, true);
    t.true(passwordPage!.url.startsWith(fed.url(from)), passwordPage!.url);
    t.is(signedIn.userType, 'legal');
    t.is(signedIn.home, fed.url(from));
    t.true(signedIn.recognized);
    t.is(signedIn.orgName, org.name);
    t.is(signedIn.actName, agent.name);
  });
}
