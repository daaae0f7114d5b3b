/**
 * Whom an OP trusts follows the live federation, the same way for every decision. A new city OP,
 * Foshan (fs), runs beside the federation; Guangdong's host has never heard of it (its topology
 * file does not name it). Once the province admin adds it with
 * `gov-id federation add-subordinate`, Guangdong treats it as an OP of the federation for the
 * registry of homes, follows the home it names in a relayed login (`home_hint`) and asks no
 * consent of it as a broker, and the base registries answer it; once the admin removes it,
 * Guangdong refuses it all three at once.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startTestFederation, freePort, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent, type Page } from '../helpers/user-agent.ts';
import {
  authorize,
  newPerson,
  redeem,
  relyingParty,
  REDIRECT_URI,
  throughConsent,
  type Person,
  type RelyingParty,
} from '../helpers/flows.ts';
import { seedAccount } from '../helpers/integration-extra.ts';
import { startHost, type Host } from '../../cli/entity-host.ts';
import { federationCommand } from '../../cli/federation-command.ts';
import { parseTopology, type Topology } from '../../federation/topology.ts';
import { REGISTRY_LOOKUP_PATH } from '../../federation/registry-client.ts';
import { HomeRegistry } from '../../federation/registry-of-homes.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import { createLogger } from '../../infra/log.ts';

let fed: TestFederation;
let withFs: Topology;
let fsHost: Host;
let gd: string, gz: string, fs: string;

test.before(async () => {
  fed = await startTestFederation(['gd', 'gz', 'registries']);
  const raw = JSON.parse(readFileSync(fed.topologyFile, 'utf8'));
  raw.provinces
    .find((p: { code: string }) => p.code === 'gd')
    .cities.push({ code: 'fs', port: await freePort(), name: { 'zh-CN': '佛山市政务服务网', en: 'Foshan Government Services' } });
  withFs = parseTopology(raw, 'test topology with fs');
  fsHost = await startHost({ ...fed.config, topology: withFs, demo: true, log: createLogger({}, 'error') }, ['fs']);
  [gd, gz, fs] = [fed.url('gd'), fed.url('gz'), withFs.get('fs').url];
});
test.after.always(async () => {
  await fsHost?.close();
  await fed?.close();
  if (fed?.config.databaseUrl) {
    const client = new pg.Client({ connectionString: fed.config.databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${fed.config.schemaPrefix}fs" CASCADE`);
    await client.end();
  }
});

const federation = (action: string, subject: string) =>
  federationCommand(action, { entity: 'gd', subject }, { topology: fed.topology, dataDir: fed.config.dataDir });

/** Waits until Guangdong's fetch endpoint answers for fs as its configuration now says (it looks at its file at most once a second). */
async function gdVouchesForFs(expected: boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${gd}/federation/fetch?sub=${encodeURIComponent(fs)}`);
    await res.body?.cancel();
    if ((res.status === 200) === expected) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gd never ${expected ? 'started' : 'stopped'} vouching for fs`);
}

/** A call signed by fs, as its registry client and its services client make them. */
function postAsFs(to: string, path: string, body: unknown) {
  return postAsEntity({ from: fs, key: fsHost.entities[0]!.runtime.keyRing.signingKey(), to, path, body, timeoutMs: 15_000 });
}

/** fs asks Guangdong's registry of homes where an ID number is registered. */
const registryLookupByFs = (idNumber: string) => postAsFs(gd, REGISTRY_LOOKUP_PATH, { kind: 'natural', identifier: idNumber });

/** fs asks the population registry whether a person is who they say. */
const populationCheckByFs = (person: Person) =>
  postAsFs(fed.topology.services().url, '/population/verify', { name: person.name, id_number: person.id_number });

/** A person whose home is gz, known to Guangdong's registry. */
async function personOfGz(password: string): Promise<Person> {
  const person = await newPerson(fed);
  await seedAccount(fed, 'gz', person, password);
  const runtime = fed.host.entities.find((e) => e.entity.id === 'gd')!.runtime;
  await runtime.db.transaction((tx) =>
    new HomeRegistry(runtime.db, runtime.blindIndex).record(tx, { kind: 'natural', identifier: person.id_number, home: gz, via: gz }),
  );
  return person;
}

let fsPortal: Promise<RelyingParty> | undefined;

/** At a portal of fs, the person picks gz as the platform of the account: fs relays the login to Guangdong with `home_hint` gz. */
async function chooseGzAtFs(ua: UserAgent) {
  fsPortal ??= relyingParty({ ...fed, topology: withFs, url: (id) => withFs.get(id).url }, 'fs');
  const rp = await fsPortal;
  const a = await authorize(rp, ua, { scope: 'openid profile' });
  const link = /href="([^"]*\/regions[^"]*)"/.exec(a.page.html)![1]!.replace(/&amp;/g, '&');
  const chooser = await ua.navigate(new URL(link, a.page.url).toString());
  return { rp, a, page: await ua.submit(chooser, '/regions', { home: gz }) };
}

const at = (page: Page, origin: string) => page.url.startsWith(origin + '/');

test.serial(
  'an OP added live is trusted alike for the registry, its home_hint and consent; removed live, it is refused all three',
  async (t) => {
    const password = 'Foshan-trust-1';
    const person = await personOfGz(password);

    // Not (yet) vouched for: no OP of the federation, whose keys its calls would be checked with.
    t.is((await registryLookupByFs(person.id_number)).status, 401);
    t.is((await populationCheckByFs(person)).status, 401);

    await federation('add-subordinate', fs);
    await gdVouchesForFs(true);

    // The registry of homes answers fs.
    const lookup = await registryLookupByFs(person.id_number);
    t.is(lookup.status, 200, JSON.stringify(lookup.json));
    t.is(lookup.json.home, gz);
    // So do the base registries (a person registering at fs is checked there), once their fetch
    // policy forgets its refusal of fs from before it was added (federation/fetch-policy.ts: ten seconds).
    let check = await populationCheckByFs(person);
    for (let i = 0; check.status === 401 && i < 150; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      check = await populationCheckByFs(person);
    }
    t.is(check.status, 200, JSON.stringify(check.json));
    t.true(check.json.match);

    // Guangdong follows the home fs named: the browser goes on to gz, where the ID number is typed.
    const ua = new UserAgent();
    const { rp, a, page } = await chooseGzAtFs(ua);
    t.true(at(page, gz), page.url);
    const pw = await ua.submit(page, '/identifier', { identifier: person.id_number });
    const back = await ua.submit(pw, '/password', { password }, REDIRECT_URI);
    // No consent page at Guangdong for its broker fs: the person is back at fs (its own consent for its portal, or the portal).
    t.false(at(back, gd), back.url);
    const tokens = await redeem(rp, await throughConsent(ua, back), a);
    t.is(tokens.claims()!.home, gz);
    t.true(tokens.claims()!.recognized);

    await federation('remove-subordinate', fs);
    await gdVouchesForFs(false);

    // At once, not after a cache period: the registry refuses fs ...
    t.is((await registryLookupByFs(person.id_number)).status, 401);
    // ... and Guangdong, which still knows fs as a client for a while (automatic registration keeps
    // a resolved client for FEDERATION_DEFAULTS.trustCacheSeconds), ignores the home it names:
    // the person (another one: consent once given holds) is asked for the ID number at Guangdong ...
    const other = await personOfGz(password);
    const ua2 = new UserAgent();
    const again = await chooseGzAtFs(ua2);
    t.true(at(again.page, gd), again.page.url);
    t.regex(again.page.html, /name="identifier"/);
    // ... and, once authenticated at home, for consent at Guangdong: fs is no broker of it any more.
    const pw2 = await ua2.submit(again.page, '/identifier', { identifier: other.id_number });
    t.true(at(pw2, gz), pw2.url);
    const consent = await ua2.submit(pw2, '/password', { password }, REDIRECT_URI);
    t.true(at(consent, gd), consent.url);
    t.regex(consent.url, /\/consent/);
  },
);
