/**
 * Licences outlive the key that signed them: after the issuer rotates its federation keys (the
 * admin API behind `gov-id keys rotate`) and the old key is retired, a licence it signed still
 * verifies through the issuer's historical keys, and licences signed with the new key through its
 * trust chain. This federation is the test's own: nothing may have resolved the issuer's chain
 * before the rotation (an immediate rotation is seen by superiors only when they next look).
 */
import test from 'ava';
import { decodeProtectedHeader } from 'jose';
import { callAdmin } from '../../infra/admin-client.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson } from '../helpers/flows.ts';
import { issueLicense, verifyAt } from '../helpers/licenses.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['registries']);
});
test.after.always(async () => {
  await fed?.close();
});

test('a licence signed before a rotation verifies after its key is retired, through the historical keys', async (t) => {
  const services = fed.url('registries');
  const person = await newPerson(fed);
  const before = await issueLicense(fed, 'registries', person);
  const oldKid = decodeProtectedHeader(before.credential).kid;

  const rotated = (await callAdmin(fed.topology.get('registries'), fed.config.dataDir, 'POST', '/admin/keys/rotate', {
    lead_seconds: 0,
    grace_seconds: 0,
  })) as { signing: string; historical: { kid: string }[] };
  t.not(rotated.signing, oldKid);
  t.true(
    rotated.historical.some((k) => k.kid === oldKid),
    'the old key is retired',
  );

  const after = await issueLicense(fed, 'registries', person);
  t.is(decodeProtectedHeader(after.credential).kid, rotated.signing);

  const old = await verifyAt(services, { license: before.credential });
  t.is(old.status, 200, JSON.stringify(old.json));
  t.deepEqual(old.json.license!.signed_with, { kid: oldKid, retired: true });
  const fresh = await verifyAt(services, { license: after.credential });
  t.is(fresh.status, 200, JSON.stringify(fresh.json));
  t.deepEqual(fresh.json.license!.signed_with, { kid: rotated.signing, retired: false });
});
