/**
 * The level of assurance a recognized login carries is capped by policy as well as by trust
 * marks: when a province's metadata policy leaves one of its cities only loa1 (its resolved
 * acr_values_supported), a loa2 login at that city is believed elsewhere as loa1 only.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson } from '../helpers/flows.ts';
import { accountsOf, runCli } from '../helpers/integration-extra.ts';
import { loginAt, opSite, registerAt } from '../helpers/recognition-sites.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gz', 'zj', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

test("a province's policy that leaves a city loa1 only caps that city's loa2 logins to loa1 elsewhere", async (t) => {
  const policy = join(fed.config.dataDir, 'gz-loa.json');
  writeFileSync(policy, JSON.stringify({ openid_provider: { acr_values_supported: { subset_of: ['urn:gov-id:loa:1'] } } }));
  const set = await runCli([
    'federation',
    'set-policy',
    '--entity',
    'gd',
    '--subject',
    'gz',
    '--policy',
    policy,
    '--topology',
    fed.topologyFile,
    '--data',
    fed.config.dataDir,
  ]);
  t.is(set.code, 0, set.stderr);
  // Taken up live (checked at most once a second): wait until gd's statement about gz carries it.
  for (let i = 0; i < 50; i++) {
    const statement = await (await fetch(`${fed.url('gd')}/federation/fetch?sub=${encodeURIComponent(fed.url('gz'))}`)).text();
    if (JSON.stringify(decodeJwt(statement).metadata_policy ?? {}).includes('acr_values_supported')) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, 'Policy-pass-1');
  // A level gz's real-name-op mark (loa2 for a city) allows, but its province's policy does not.
  const gz = fed.host.entities.find((e) => e.entity.id === 'gz')!.runtime;
  await gz.db.query("UPDATE natural_persons SET loa = 'loa2' WHERE id_number_index = $1", [
    accountsOf(fed, 'gz').idNumberIndex(person.id_number),
  ]);
  const atHome = await loginAt(new UserAgent(), opSite(fed, 'gz'), person.id_number, 'Policy-pass-1');
  t.is(atHome.signedIn.acr, 'urn:gov-id:loa:2');
  const elsewhere = await loginAt(new UserAgent(), opSite(fed, 'zj'), person.id_number, 'Policy-pass-1');
  t.true(elsewhere.signedIn.recognized);
  t.is(elsewhere.signedIn.acr, 'urn:gov-id:loa:1');
});
