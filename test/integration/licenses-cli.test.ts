/**
 * `gov-id license …` as a separate process against a running federation: a licence verifies
 * (exit 0) both in the command itself, which resolves the issuer's chain from the trust anchor
 * over HTTP, and at a services entity (--entity); once revoked with `gov-id license revoke` it
 * fails in both (exit 1, license_revoked); other failures and usage errors have their own exits.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson, type Person } from '../helpers/flows.ts';
import { issueLicense } from '../helpers/licenses.ts';

let fed: TestFederation;
let scratch: string;
let person: Person;
test.before(async () => {
  fed = await startTestFederation(['registries']);
  scratch = mkdtempSync(join(tmpdir(), 'gov-id-license-cli-'));
  person = await newPerson(fed);
});
test.after.always(async () => {
  await fed?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli([...args, '--topology', fed.topologyFile, '--data', fed.config.dataDir]);
let files = 0;
function file(text: string): string {
  const path = join(scratch, `licence-${files++}.txt`);
  writeFileSync(path, text);
  return path;
}

test('a licence verifies here and at the services entity, and after `license revoke` fails in both with license_revoked', async (t) => {
  const issued = await issueLicense(fed, 'registries', person);
  const path = file(issued.credential);
  for (const where of [[], ['--entity', 'registries']]) {
    const r = await cli('license', 'verify', ...where, path);
    t.is(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout) as { valid: boolean; license: { id: string; disclosed: Record<string, string> } };
    t.true(answer.valid);
    t.is(answer.license.id, issued.id);
    t.is(answer.license.disclosed.name, person.name);
  }
  const revoked = await cli('license', 'revoke', '--entity', 'registries', '--reason', '证照注销', issued.id);
  t.is(revoked.code, 0, revoked.stderr);
  t.like(JSON.parse(revoked.stdout), { id: issued.id, state: 'revoked' });
  for (const where of [[], ['--entity', 'registries']]) {
    const r = await cli('license', 'verify', ...where, path);
    t.is(r.code, 1, r.stderr);
    t.like(JSON.parse(r.stdout), { valid: false, error: 'license_revoked', check: 'status' });
    t.regex(r.stderr, /license_revoked/);
  }
});

test('other failures exit 1 with their problem code; usage errors and unreadable files exit 2', async (t) => {
  const day = 86_400_000;
  const expired = await issueLicense(fed, 'registries', person, {
    valid_from: new Date(Date.now() - 2 * day).toISOString(),
    valid_until: new Date(Date.now() - day).toISOString(),
  });
  const e = await cli('license', 'verify', file(expired.credential));
  t.is(e.code, 1, e.stderr);
  t.like(JSON.parse(e.stdout), { error: 'license_expired', check: 'validity' });
  const m = await cli('license', 'verify', file('not a licence'));
  t.is(m.code, 1);
  t.like(JSON.parse(m.stdout), { error: 'license_malformed', check: 'format' });

  const missing = await cli('license', 'verify', join(scratch, 'nowhere.txt'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /ENOENT/);
  t.is((await cli('license', 'verify')).code, 2);
  const notServices = await cli('license', 'verify', '--entity', 'national', file(expired.credential));
  t.is(notServices.code, 2);
  t.regex(notServices.stderr, /not a services entity/);
  const noReason = await cli('license', 'revoke', '--entity', 'registries', expired.id);
  t.is(noReason.code, 2);
  t.regex(noReason.stderr, /--reason/);
});

test('`license issue` issues what a request file describes', async (t) => {
  const request = {
    type: 'marriage_certificate',
    holder: { kind: 'natural', id_number: person.id_number, name: person.name },
    claims: { spouse_name: '李娜', registration_date: '2024-05-20', registration_authority: '广州市天河区民政局' },
  };
  const r = await cli('license', 'issue', '--entity', 'registries', file(JSON.stringify(request)));
  t.is(r.code, 0, r.stderr);
  const issued = JSON.parse(r.stdout) as { id: string; credential: string; valid_until: string | null };
  t.is(issued.valid_until, null, 'a marriage certificate does not expire');
  const v = await cli('license', 'verify', file(issued.credential));
  t.is(v.code, 0, v.stderr);
  const refused = await cli('license', 'issue', '--entity', 'registries', file('{"type": "marriage_certificate"}'));
  t.is(refused.code, 2);
  t.regex(refused.stderr, /400 invalid_request/);
});
