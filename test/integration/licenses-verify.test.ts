/**
 * E-licenses over HTTP at a running federation: a licence issued at the services entity verifies
 * in each of its forms, and every way of breaking one is refused with the problem code of the
 * check it fails (docs/licenses.md, "Errors"): signature, key outside the chain, issuer outside
 * the federation, validity, disclosures, Key Binding, status. Presentations come from the
 * holder's own API, with an access token from a real login at the person's OP.
 */
import test from 'ava';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { callAdmin } from '../../infra/admin-client.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import { HolderKeys } from '../../services/licenses/holder-keys.ts';
import { DirectoryWriter } from '../../services/licenses/license-directory.ts';
import { signer } from '../../services/licenses/jws.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson, type Person } from '../helpers/flows.ts';
import { serviceToken } from '../helpers/service-tokens.ts';
import {
  asHolder,
  disclosureOf,
  freshKey,
  issueLicense,
  resign,
  untilTrustMarked,
  verifyAt,
  withDisclosure,
  type Issued,
} from '../helpers/licenses.ts';
import { until } from '../helpers/until.ts';

let fed: TestFederation;
let services: string;
let person: Person;
let licence: Issued;
test.before(async () => {
  fed = await startTestFederation(['gd', 'registries']);
  services = fed.url('registries');
  person = await newPerson(fed);
  licence = await issueLicense(fed, 'registries', person);
  await untilTrustMarked(fed, 'gd');
});
test.after.always(async () => {
  await fed?.close();
});

const runtimeOf = (id: string) => fed.host.entities.find((e) => e.entity.id === id)!.runtime;
const verify = (license: string, extra: Record<string, unknown> = {}) => verifyAt(services, { license, ...extra });
const refusedWith = async (t: import('ava').ExecutionContext, license: string, problem: string, check: string, extra = {}) => {
  const r = await verify(license, extra);
  t.is(r.status, problem.endsWith('_unavailable') || problem === 'issuer_unreachable' ? 503 : 422, JSON.stringify(r.json));
  t.like(r.json, { error: problem, valid: false, check });
  t.is(typeof r.json.error_description, 'string');
  return r;
};

test('an issued licence verifies as the full SD-JWT and as the compact JWS, which shows no claim', async (t) => {
  t.is(decodeProtectedHeader(licence.credential).typ, 'dc+sd-jwt');
  const jws = licence.credential.split('~')[0]!;
  const claims = decodeJwt(jws);
  t.is(claims.iss, services);
  t.is(claims.vct, 'urn:gov-id:license:resident_id_card');
  t.false(jws.includes(person.id_number) || JSON.stringify(claims).includes(person.id_number), 'no ID number in the JWS');
  t.false(JSON.stringify(claims).includes(person.name), 'no name in the JWS');

  const full = await verify(licence.credential);
  t.is(full.status, 200, JSON.stringify(full.json));
  t.like(full.json, {
    valid: true,
    license: { id: licence.id, form: 'sd-jwt', issuer: services, type: 'resident_id_card', status: 'valid' },
  });
  t.like(full.json.license!.disclosed as object, { name: person.name, id_number: person.id_number, sex: '女' });

  const bare = await verify(jws);
  t.is(bare.status, 200);
  t.like(bare.json.license!, { form: 'jws', disclosed: {}, undisclosed: 7 });
});

test('a broken signature is signature_invalid, and so is another key under a kid of the chain', async (t) => {
  const [jwt, ...rest] = licence.credential.split('~');
  const flipped = jwt!.slice(0, -4) + (jwt!.slice(-4, -3) === 'A' ? 'B' : 'A') + jwt!.slice(-3);
  await refusedWith(t, [flipped, ...rest].join('~'), 'signature_invalid', 'signature');

  const kid = decodeProtectedHeader(licence.credential).kid!;
  const impostor = { ...(await freshKey()), kid };
  await refusedWith(t, resign(licence.credential, impostor), 'signature_invalid', 'signature');

  // A claim changed in the signed JWT (a longer validity) breaks it too.
  const [h, p, s] = jwt!.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, number>;
  const longer = Buffer.from(JSON.stringify({ ...payload, exp: payload.exp! + 3650 * 86400 })).toString('base64url');
  await refusedWith(t, [`${h}.${longer}.${s}`, ...rest].join('~'), 'signature_invalid', 'signature');
});

test('a licence signed with a key outside the issuer’s trust chain is key_not_in_chain', async (t) => {
  const outsider = await freshKey();
  const r = await refusedWith(t, resign(licence.credential, outsider), 'key_not_in_chain', 'key');
  t.true(String(r.json.error_description).includes(outsider.kid));
});

test('an issuer that is no services entity of the federation is issuer_untrusted', async (t) => {
  // gd is in the federation, but as an OP: its federation key does not make licences.
  const gd = runtimeOf('gd');
  const byOp = resign(licence.credential, gd.keyRing.signingKey(), {
    payload: (p) => {
      p.iss = fed.url('gd');
      (p.status as { status_list: { uri: string } }).status_list.uri = `${fed.url('gd')}/licenses/status-lists/1`;
    },
  });
  await refusedWith(t, byOp, 'issuer_untrusted', 'issuer');
  // An address no authority of the federation lists.
  const stranger = resign(licence.credential, await freshKey(), { payload: (p) => (p.iss = 'http://127.0.0.1:9') });
  await refusedWith(t, stranger, 'issuer_untrusted', 'issuer');
});

test('validity: an expired licence is license_expired, one valid from tomorrow license_not_yet_valid', async (t) => {
  const day = 86_400_000;
  const expired = await issueLicense(fed, 'registries', person, {
    valid_from: new Date(Date.now() - 2 * day).toISOString(),
    valid_until: new Date(Date.now() - day).toISOString(),
  });
  await refusedWith(t, expired.credential, 'license_expired', 'validity');
  const future = await issueLicense(fed, 'registries', person, { valid_from: new Date(Date.now() + day).toISOString() });
  await refusedWith(t, future.credential, 'license_not_yet_valid', 'validity');
});

test('a tampered disclosure is disclosure_invalid: a value changed, one from another licence, one given twice', async (t) => {
  const { value } = disclosureOf(licence.credential, 'address');
  await refusedWith(
    t,
    withDisclosure(licence.credential, 'address', [value[0], 'address', '深圳市南山区']),
    'disclosure_invalid',
    'disclosures',
  );

  const other = await issueLicense(fed, 'registries', await newPerson(fed));
  const foreign = other.credential.split('~')[disclosureOf(other.credential, 'name').index]!;
  const parts = licence.credential.split('~');
  parts[disclosureOf(licence.credential, 'name').index] = foreign;
  await refusedWith(t, parts.join('~'), 'disclosure_invalid', 'disclosures');

  const twice = licence.credential.split('~');
  twice.splice(1, 0, twice[1]!);
  await refusedWith(t, twice.join('~'), 'disclosure_invalid', 'disclosures');
});

test('malformed licences are license_malformed; a request without a licence is invalid_request', async (t) => {
  for (const bad of ['not a licence', 'a.b', 'e30.e30.', `${licence.credential.split('~')[0]}~%%%~`]) {
    await refusedWith(t, bad, 'license_malformed', 'format');
  }
  const vct = resign(licence.credential, await freshKey(), { payload: (p) => (p.vct = 'urn:example:diploma') });
  await refusedWith(t, vct, 'license_type_unknown', 'format');
  const none = await verifyAt(services, {});
  t.is(none.status, 400);
  t.is(none.json.error, 'invalid_request');
  const extra = await verify(licence.credential, { unknown: 1 });
  t.is(extra.status, 400);
});

test('status: revoked and suspended licences fail at once at their issuer, a reinstated one verifies, a revoked one stays revoked', async (t) => {
  const issued = await issueLicense(fed, 'registries', person);
  const admin = (path: string, body: unknown) => callAdmin(fed.topology.get('registries'), fed.config.dataDir, 'POST', path, body);
  t.is((await verify(issued.credential)).status, 200);
  t.like(await admin(`/admin/licenses/${issued.id}/suspend`, { reason: '暂扣' }), { state: 'suspended' });
  await refusedWith(t, issued.credential, 'license_suspended', 'status');
  t.like(await admin(`/admin/licenses/${issued.id}/reinstate`, { reason: '恢复' }), { state: 'valid' });
  t.is((await verify(issued.credential)).status, 200);
  t.like(await admin(`/admin/licenses/${issued.id}/revoke`, { reason: '注销' }), { state: 'revoked' });
  await refusedWith(t, issued.credential, 'license_revoked', 'status');
  await refusedWith(t, issued.credential.split('~')[0]!, 'license_revoked', 'status');
  t.like(await callAdmin(fed.topology.get('registries'), fed.config.dataDir, 'GET', `/admin/licenses/${issued.id}`), {
    id: issued.id,
    type: 'resident_id_card',
    state: 'revoked',
    expired: false,
  });
  await t.throwsAsync(admin(`/admin/licenses/${issued.id}/reinstate`, { reason: 'x' }), { message: /409 license_state/ });
  await t.throwsAsync(admin(`/admin/licenses/00000000-0000-4000-8000-000000000000/revoke`, { reason: 'x' }), {
    message: /404 license_not_found/,
  });
});

test('the status list is a statuslist+jwt of the issuer, about its own URI', async (t) => {
  const uri = (decodeJwt(licence.credential.split('~')[0]!).status as { status_list: { uri: string } }).status_list.uri;
  const res = await fetch(uri);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^application\/statuslist\+jwt/);
  const token = await res.text();
  t.is(decodeProtectedHeader(token).typ, 'statuslist+jwt');
  t.like(decodeJwt(token), { iss: services, sub: uri, ttl: 30, status_list: { bits: 2 } });
  t.is((await fetch(`${services}/licenses/status-lists/999`)).status, 404);
  t.is((await fetch(`${services}/licenses/status-lists/x`)).status, 404);
});

test('issuance through the admin API: checked field by field, and only with the admin token', async (t) => {
  const admin = (body: unknown) => callAdmin(fed.topology.get('registries'), fed.config.dataDir, 'POST', '/admin/licenses', body);
  const holder = { kind: 'natural', id_number: person.id_number, name: person.name };
  await t.throwsAsync(admin({ type: 'diploma', holder, claims: {} }), { message: /400 invalid_request type/ });
  await t.throwsAsync(admin({ type: 'business_license', holder, claims: {} }), { message: /400 invalid_request holder/ });
  await t.throwsAsync(admin({ type: 'driving_licence', holder, claims: { vehicle_class: 'Z9' } }), {
    message: /400 invalid_request claims\.vehicle_class/,
  });
  await t.throwsAsync(admin({ type: 'marriage_certificate', holder: { ...holder, id_number: '110101199001011230' }, claims: {} }), {
    message: /400 invalid_request/,
  });
  const res = await fetch(`${services}/admin/licenses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(res.status, 401);
});

test('the national directory learns which platform holds which type; services entities may ask it, OPs may not', async (t) => {
  const holder = await newPerson(fed);
  await issueLicense(fed, 'registries', holder);
  const registries = runtimeOf('registries');
  const ask = (from: string, key = runtimeOf(from).keyRing.signingKey()) =>
    postAsEntity({
      from: fed.url(from),
      key,
      to: services,
      path: '/licenses/directory/lookup',
      body: { holder_kind: 'natural', holder_id: holder.id_number },
      timeoutMs: 10_000,
    });
  await until(async () => ((await ask('registries')).json.entries as unknown[]).length > 0, 'the directory entry', 10_000);
  const answer = await ask('registries');
  t.is(answer.status, 200);
  t.deepEqual(
    (answer.json.entries as { platform: string; type: string }[]).map(({ platform, type }) => ({ platform, type })),
    [{ platform: services, type: 'resident_id_card' }],
  );
  t.is((await ask('gd')).status, 401, 'an OP is no services entity');
  const { rows } = await registries.db.query<{ holder_index: string }>('SELECT holder_index FROM license_directory');
  t.false(JSON.stringify(rows).includes(holder.id_number), 'national keeps a blind index, never the ID number');
  const plain = await fetch(`${services}/licenses/directory/lookup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ holder_kind: 'natural', holder_id: holder.id_number }),
  });
  t.is(plain.status, 401);
});

test('the holder lists, downloads and presents their licences with an access token; Key Binding is checked for audience, nonce, disclosures and age', async (t) => {
  const { accessToken, person: holder } = await serviceToken(fed, { op: 'gd', resource: services });
  const demo = await asHolder(services, accessToken, 'POST', '/licenses/mine/demo');
  t.is(demo.status, 201, JSON.stringify(demo.json));
  const mine = await asHolder(services, accessToken, 'GET', '/licenses/mine');
  t.is(mine.status, 200);
  const licences = mine.json.licenses as { id: string; type: string; state: string }[];
  t.true(licences.some((l) => l.type === 'household_register_extract'));
  t.deepEqual(mine.json.elsewhere, []);
  const extract = licences.find((l) => l.type === 'household_register_extract')!;
  const one = await asHolder(services, accessToken, 'GET', `/licenses/mine/${extract.id}`);
  t.is(one.status, 200);
  t.like(one.json.claims as object, { name: holder.name, id_number: holder.id_number });

  const present = (body: Record<string, unknown>) =>
    asHolder(services, accessToken, 'POST', `/licenses/mine/${extract.id}/presentations`, body);
  const audience = 'https://verifier.example';
  const shared = await present({ disclose: ['name', 'household_address'], audience, nonce: 'n-123' });
  t.is(shared.status, 201, JSON.stringify(shared.json));
  const presentation = shared.json.presentation as string;
  t.false(presentation.includes(Buffer.from(holder.id_number).toString('base64url').slice(0, 12)));

  const ok = await verify(presentation, { audience, nonce: 'n-123', require_key_binding: true });
  t.is(ok.status, 200, JSON.stringify(ok.json));
  t.deepEqual(ok.json.license!.disclosed, {
    name: holder.name,
    household_address: (one.json.claims as Record<string, string>).household_address,
  });
  t.like(ok.json.license!, { undisclosed: 4, key_binding: { audience, nonce: 'n-123' } });

  await refusedWith(t, presentation, 'kb_audience_mismatch', 'key_binding', { audience: 'https://other.example', nonce: 'n-123' });
  await refusedWith(t, presentation, 'kb_audience_mismatch', 'key_binding', { nonce: 'n-123' });
  await refusedWith(t, presentation, 'kb_nonce_mismatch', 'key_binding', { audience, nonce: 'n-456' });
  await refusedWith(t, presentation, 'kb_nonce_mismatch', 'key_binding', { audience });
  // A disclosure dropped after the holder signed: the verifier is not shown what the holder presented.
  const parts = presentation.split('~');
  await refusedWith(t, [parts[0], ...parts.slice(2)].join('~'), 'kb_sd_hash_mismatch', 'key_binding', { audience, nonce: 'n-123' });
  // Key Binding signed by someone else's key.
  const kb = parts.at(-1)!;
  const [kh, kp] = kb.split('.');
  const forgedKb = `${kh}.${kp}.${signer(await freshKey())(`${kh}.${kp}`)}`;
  await refusedWith(t, [...parts.slice(0, -1), forgedKb].join('~'), 'kb_invalid', 'key_binding', { audience, nonce: 'n-123' });
  // Made two hours ago (signed with the holder's own custodial key, as the platform keeps it).
  const registries = runtimeOf('registries');
  const holderKey = await new HolderKeys(registries.cipher).find(registries.db, registries.blindIndex.of('id_number', holder.id_number));
  const old = JSON.parse(Buffer.from(kp!, 'base64url').toString('utf8')) as Record<string, number>;
  const staleInput = `${kh}.${Buffer.from(JSON.stringify({ ...old, iat: old.iat! - 7200 })).toString('base64url')}`;
  const staleKb = `${staleInput}.${signer(holderKey!)(staleInput)}`;
  await refusedWith(t, [...parts.slice(0, -1), staleKb].join('~'), 'kb_stale', 'key_binding', { audience, nonce: 'n-123' });
  // Without Key Binding, when the verifier asks for it.
  await refusedWith(t, one.json.credential as string, 'key_binding_required', 'key_binding', { require_key_binding: true });

  const unknownClaim = await present({ disclose: ['blood_type'], audience });
  t.is(unknownClaim.status, 400);
  const generated = await present({ disclose: ['name'], audience });
  t.is(typeof generated.json.nonce, 'string', 'a nonce is made when the holder brings none');
});

test('the holder routes need the holder’s access token, and another person’s licence is not found', async (t) => {
  t.is((await fetch(`${services}/licenses/mine`)).status, 401);
  t.is((await asHolder(services, 'not-a-token', 'GET', '/licenses/mine')).status, 401);
  const { accessToken } = await serviceToken(fed, { op: 'gd', resource: services });
  const theirs = await asHolder(services, accessToken, 'GET', `/licenses/mine/${licence.id}`);
  t.is(theirs.status, 404);
  t.is(theirs.json.error, 'license_not_found');
  const present = await asHolder(services, accessToken, 'POST', `/licenses/mine/${licence.id}/presentations`, {
    disclose: ['name'],
    audience: 'x',
  });
  t.is(present.status, 404);
});

test('demo mode: an organization of the legal-person registry gets its business licence, which verifies', async (t) => {
  const org = (await (await fetch(`${services}/demo/organizations`, { method: 'POST' })).json()) as { uscc: string; name: string };
  const res = await fetch(`${services}/demo/licenses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ uscc: org.uscc }),
  });
  t.is(res.status, 201);
  const { licenses } = (await res.json()) as { licenses: Issued[] };
  t.is(licenses[0]!.type, 'business_license');
  const r = await verify(licenses[0]!.credential);
  t.is(r.status, 200, JSON.stringify(r.json));
  t.like(r.json.license!, { holder: { kind: 'legal' }, disclosed: { name: org.name, uscc: org.uscc } });
  const unknown = await fetch(`${services}/demo/licenses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id_number: '110101199001011237' }),
  });
  t.is(unknown.status, 404);
});

test('an issuing node’s directory entries go to the national directory over HTTP with its entity assertion, and wait when it cannot be reached', async (t) => {
  // The registries entity as an issuing node of its own directory, through the HTTP path every other node takes.
  const registries = runtimeOf('registries');
  const writer = (directoryUrl: string) =>
    new DirectoryWriter({
      db: registries.db,
      cipher: registries.cipher,
      self: services,
      directoryUrl,
      local: null,
      signingKey: () => registries.keyRing.signingKey(),
      log: registries.log,
    });
  const holder = await newPerson(fed);
  const entry = { holderKind: 'natural' as const, identifier: holder.id_number, type: 'driving_licence' };
  const down = writer('http://127.0.0.1:9');
  await registries.db.transaction((tx) => down.inTransaction(tx, entry));
  t.is(await down.deliver(), 1, 'kept while the directory cannot be reached');
  const { rows } = await registries.db.query<{ attempts: number; last_error: string; holder_enc: string }>(
    'SELECT attempts, last_error, holder_enc FROM license_directory_outbox',
  );
  t.like(rows[0], { attempts: 1 });
  t.false(JSON.stringify(rows).includes(holder.id_number), 'the outbox keeps the ID number encrypted');

  t.is(await writer(services).deliver(), 0, 'delivered once the directory answers');
  const lookup = await postAsEntity({
    from: services,
    key: registries.keyRing.signingKey(),
    to: services,
    path: '/licenses/directory/lookup',
    body: { holder_kind: 'natural', holder_id: holder.id_number },
    timeoutMs: 10_000,
  });
  t.deepEqual(
    (lookup.json.entries as { platform: string; type: string }[]).map(({ platform, type }) => ({ platform, type })),
    [{ platform: services, type: 'driving_licence' }],
  );
  const byOp = await postAsEntity({
    from: fed.url('gd'),
    key: runtimeOf('gd').keyRing.signingKey(),
    to: services,
    path: '/licenses/directory/entries',
    body: { holder_kind: 'natural', holder_id: holder.id_number, type: 'marriage_certificate' },
    timeoutMs: 10_000,
  });
  t.is(byOp.status, 401, 'an OP writes no directory entries');
});
