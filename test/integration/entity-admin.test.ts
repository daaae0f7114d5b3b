/** Every entity's administration: its audit log can be read and its hash chain verified, with the admin token only. */
import test from 'ava';
import { callAdmin } from '../../cli/admin-client.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, redeem, registerOnPage, relyingParty } from '../helpers/flows.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gd', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

test('the audit log of an OP records a registration and its hash chain verifies', async (t) => {
  const rp = await relyingParty(fed, 'gd');
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const person = await newPerson(fed);
  const tokens = await redeem(rp, await registerOnPage(fed, ua, a.page, person, 'Audit-pass1'), a);
  const gd = fed.topology.get('gd');
  const entries = (await callAdmin(gd, fed.config.dataDir, 'GET', '/admin/audit?limit=20')) as { event: string; subject: string | null }[];
  t.true(entries.some((e) => e.event === 'account.registered' && e.subject === tokens.claims()!.sub));
  t.true(entries.some((e) => e.event === 'client.registered'));
  const text = JSON.stringify(entries);
  t.false(text.includes(person.id_number) || text.includes(person.phone), 'no ID number or phone in the audit log');
  const verdict = (await callAdmin(gd, fed.config.dataDir, 'GET', '/admin/audit/verify')) as {
    intact: boolean;
    entries: number;
    broken_at: number | null;
  };
  t.true(verdict.intact);
  t.is(verdict.broken_at, null);
  t.true(verdict.entries >= entries.length);
  const services = (await callAdmin(fed.topology.services(), fed.config.dataDir, 'GET', '/admin/audit/verify')) as { intact: boolean };
  t.true(services.intact);
});

test('the audit API needs the admin token and refuses a bad limit', async (t) => {
  t.is((await fetch(`${fed.url('gd')}/admin/audit/verify`)).status, 401);
  await t.throwsAsync(callAdmin(fed.topology.get('gd'), fed.config.dataDir, 'GET', '/admin/audit?limit=0'), {
    message: /400 invalid_request/,
  });
});
