/**
 * Applications and cases over HTTP with access tokens from real OP logins: a case from receipt
 * through correction, acceptance, review, decision, result, delivery and publication to closing;
 * parallel approval with an overdue opinion; idempotent submission; deemed acceptance; and the
 * bad inputs, each a specific error that changes nothing.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { casesApi, pdf, personWithToken, type CasesApi, type Reply } from '../helpers/cases-api.ts';
import type { Person } from '../helpers/flows.ts';
import { loadMasterKey } from '../../infra/crypto.ts';
import { adminTokenFor } from '../../infra/entity-runtime.ts';
import { until } from '../helpers/until.ts';
import { runCli } from '../helpers/integration-extra.ts';
import { chinaDate } from '../../services/cases/working-calendar.ts';

/** Guangzhou's management platform: its authorities' items, cases and staff. */
const SERVICES = 'gz-services';
/** 医师执业注册 at 广州市卫生健康委员会: 行政许可 (published), promised 10 of 20 days, one material from the applicant. */
const LICENSING = '11440100000106040E3010106002000';
const HEALTH = '11440100000106040E';
/** 广州市新生儿入户一件事 at 广州市公安局 with three assisting departments. */
const JOINT = '11440100000101002C3200101013000';
const POLICE = '11440100000101002C';
const ASSISTING = ['11440100000103013Y', '11440100000111018P', '11440100000106040E'];
/** 普通护照签发: real-name level loa2. */
const PASSPORT = '11440100000101002C3010101009000';

let fed: TestFederation;
let api: CasesApi;
let applicant: { token: string; person: Person };
let other: { token: string; person: Person };
/** Holds every role at the health commission. */
let officer: { token: string; person: Person };
/** A reviewer only, at the health commission. */
let reviewer: { token: string; person: Person };
/** Staff of the police (lead of the joint item) and of each assisting department. */
let police: { token: string; person: Person };
const assisting: { token: string; person: Person }[] = [];

test.before(async () => {
  fed = await startTestFederation(['gd', 'gz', 'registries', SERVICES]);
  api = casesApi(fed, SERVICES);
  // The applicant is of Guangdong's platform; Guangzhou's staff log in at Guangzhou's OP.
  const login = (op = 'gz') => personWithToken(fed, op, SERVICES);
  const trusted = async (who: { token: string }, op: string) =>
    until(async () => (await api.call('GET', '/me', { token: who.token })).status === 200, `${op} trusted with service tokens`, 60_000);
  // An OP obtains its real-name-op trust mark after it starts; services trust its tokens from then on.
  applicant = await login('gd');
  await trusted(applicant, 'gd');
  other = await login();
  await trusted(other, 'gz');
  officer = await login();
  reviewer = await login();
  police = await login();
  await api.grant(officer.person.id_number, HEALTH, 'receiver,acceptor,reviewer,decider,sender');
  await api.grant(reviewer.person.id_number, HEALTH, 'reviewer');
  await api.grant(police.person.id_number, POLICE, 'acceptor,reviewer,decider,sender');
  for (const authority of ASSISTING) {
    const staff = await login();
    await api.grant(staff.person.id_number, authority, 'reviewer');
    assisting.push(staff);
  }
});
test.after.always(async () => {
  await fed?.close();
});

function problem(t: import('ava').ExecutionContext, reply: Reply, status: number, error: string, description?: RegExp) {
  t.is(reply.status, status, JSON.stringify(reply.json));
  t.is(reply.json.error, error, JSON.stringify(reply.json));
  if (description) t.regex(String(reply.json.error_description), description);
}

let keys = 0;
const newKey = () => `key-${Date.now()}-${++keys}`;

/** Uploads what the licensing item needs and submits; returns the receipt. */
async function applyForLicense(who = applicant, key = newKey()): Promise<Reply> {
  const form = await api.upload(who.token, pdf('医师执业注册申请审核表'));
  if (form.status !== 201) throw new Error(`upload: ${form.status} ${JSON.stringify(form.json)}`);
  return api.call('POST', '/cases', {
    token: who.token,
    headers: { 'idempotency-key': key },
    body: {
      item_code: LICENSING,
      delivery: 'electronic',
      materials: [
        { slot: 0, upload_id: form.json.upload_id },
        { slot: 1, reference: 'e-license:医师资格证书' },
        { slot: 2, reference: 'e-license:居民身份证' },
      ],
    },
  });
}

const staffAct = (who: { token: string }, number: string, action: string, body: unknown = {}) =>
  api.call('POST', `/staff/cases/${number}/${action}`, { token: who.token, body });

async function outbox(phone: string): Promise<string[]> {
  const res = await fetch(`${api.base}/demo/outbox?to=${phone}`);
  return ((await res.json()) as { body: string }[]).map((m) => m.body);
}

test('a case runs from receipt through one correction to a published decision and closes; each step notifies the applicant', async (t) => {
  const receipt = await applyForLicense();
  t.is(receipt.status, 201, JSON.stringify(receipt.json));
  const number = String(receipt.json.number);
  t.regex(number, /^GZ-\d{8}-\d{6}-[0-9A-Z]$/);
  t.like(receipt.json, { replayed: false, item: { code: LICENSING, version: 1, name: '医师执业注册' }, authority: HEALTH });
  t.regex(String(receipt.json.query_code), /^[A-Z2-9]{8}$/);
  t.truthy(receipt.json.acceptance_due);
  const materials = receipt.json.materials as { slot: number; digest: string | null }[];
  t.regex(String(materials.find((m) => m.slot === 0)!.digest), /^sha-256:/);

  // One notice lists everything missing; the clock stops until the person supplies it.
  const corrected = await staffAct(officer, number, 'request_correction', {
    missing: [{ slot: 0, reason: '申请审核表未盖章' }],
  });
  t.is(corrected.status, 200, JSON.stringify(corrected.json));
  t.is(corrected.json.state, 'correction_requested');
  t.is((corrected.json.clock as { promised: { status: string } }).promised.status, 'paused');
  const replacement = await api.upload(applicant.token, pdf('盖章后的申请审核表'));
  const supplied = await api.call('POST', `/cases/${number}/supply`, {
    token: applicant.token,
    body: { materials: [{ slot: 0, upload_id: replacement.json.upload_id }] },
  });
  t.is(supplied.status, 200, JSON.stringify(supplied.json));
  t.is(supplied.json.state, 'received');

  t.is((await staffAct(officer, number, 'accept')).json.state, 'under_review');
  problem(t, await staffAct(officer, number, 'complete_review'), 409, 'review_incomplete', /written/);
  t.is((await staffAct(officer, number, 'record_review', { method: 'written', finding: '材料齐全，符合条件' })).status, 200);
  t.is((await staffAct(officer, number, 'complete_review')).json.state, 'reviewed');
  const decided = await staffAct(officer, number, 'decide', { outcome: 'approved' });
  t.is(decided.json.state, 'decided');
  t.is((decided.json.clock as { phase: string }).phase, 'delivery');
  const made = await staffAct(officer, number, 'make_result');
  t.is(made.json.state, 'result_made');
  t.like(made.json.result, { name: '医师执业证书', case: number });
  t.is((await staffAct(officer, number, 'deliver')).json.state, 'delivered');
  problem(t, await staffAct(officer, number, 'close'), 409, 'publication_required');
  t.is((await staffAct(officer, number, 'publish')).json.state, 'published');
  const closed = await staffAct(officer, number, 'close');
  t.like(closed.json, { state: 'closed', outcome: 'approved' });

  // The applicant's space: the steps with start, end, duration, role and deadline; notices; every access.
  const mine = await api.call('GET', `/cases/${number}`, { token: applicant.token });
  t.is(mine.status, 200);
  const timeline = mine.json.timeline as {
    state: string;
    actor_role: string | null;
    deadline: string | null;
    ended_at: string | null;
    duration_seconds: number | null;
  }[];
  t.deepEqual(
    timeline.filter((s) => s.ended_at !== null).map((s) => s.state),
    [
      'received',
      'correction_requested',
      'received',
      'under_review',
      'under_review',
      'reviewed',
      'decided',
      'result_made',
      'delivered',
      'published',
      'closed',
    ],
  );
  t.is(timeline[0]!.actor_role, 'acceptor');
  t.truthy(timeline[0]!.deadline);
  t.true(timeline.every((s) => s.duration_seconds !== null && s.duration_seconds >= 0));
  t.false(JSON.stringify(mine.json).includes(officer.person.id_number), 'staff are shown by role and authority only');
  const notices = (mine.json.notices as { kind: string }[]).map((n) => n.kind);
  t.deepEqual(notices, [
    'received',
    'request_correction',
    'supply',
    'accept',
    'complete_review',
    'decide',
    'make_result',
    'deliver',
    'publish',
    'close',
  ]);
  const accesses = mine.json.accesses as { event: string; role: string | null }[];
  t.true(accesses.some((a) => a.event === 'case.accept' && a.role === 'acceptor'));
  const sms = await outbox(applicant.person.phone);
  t.true(sms.some((m) => m.includes(number) && m.includes('需要补正')));
  t.true(sms.some((m) => m.includes(number) && m.includes('已办结')));

  const list = await api.call('GET', '/cases/mine', { token: applicant.token });
  t.true((list.json.cases as { number: string }[]).some((c) => c.number === number));
  const publishedList = await api.call('GET', `/cases/published?authority=${HEALTH}`);
  t.true((publishedList.json.decisions as { number: string }[]).some((d) => d.number === number));
  // A supervisor of the authority reads the same figures (supervision page).
  problem(t, await api.call('GET', '/staff/supervision', { token: officer.token }), 403, 'role_required');
  await api.grant(reviewer.person.id_number, HEALTH, 'supervisor');
  const supervised = await api.call('GET', '/staff/supervision', { token: reviewer.token });
  t.true(
    (supervised.json.items as { item_code: string }[]).some((i) => i.item_code === LICENSING),
    JSON.stringify(supervised.json),
  );
  const stats = await api.call('GET', `/admin/cases/stats?authority=${HEALTH}`, { token: adminTokenOf() });
  const row = (stats.json.items as { item_code: string; closed: number; decided: number }[]).find((i) => i.item_code === LICENSING)!;
  t.true(row.closed >= 1 && row.decided >= 1);
});

function adminTokenOf(): string {
  return adminTokenFor(loadMasterKey(fed.config.dataDir), fed.url(SERVICES));
}

test('a retried submission makes one application; a different one under the same key is refused', async (t) => {
  const key = newKey();
  const form = await api.upload(applicant.token, pdf());
  const body = {
    item_code: LICENSING,
    delivery: 'pickup',
    materials: [
      { slot: 0, upload_id: form.json.upload_id },
      { slot: 1, reference: 'e-license:医师资格证书' },
      { slot: 2, reference: 'e-license:居民身份证' },
    ],
  };
  const first = await api.call('POST', '/cases', { token: applicant.token, headers: { 'idempotency-key': key }, body });
  const again = await api.call('POST', '/cases', { token: applicant.token, headers: { 'idempotency-key': key }, body });
  t.is(first.status, 201);
  t.is(again.status, 200);
  t.is(again.json.number, first.json.number);
  t.true(again.json.replayed as boolean);
  t.is(again.json.query_code, undefined, 'the query code is shown once');
  problem(
    t,
    await api.call('POST', '/cases', { token: applicant.token, headers: { 'idempotency-key': key }, body: { ...body, delivery: 'mail' } }),
    409,
    'idempotency_key_reused',
  );
  problem(t, await api.call('POST', '/cases', { token: applicant.token, body }), 400, 'invalid_request', /idempotency-key/);
});

test('bad applications: step-up, materials missing, wrong type, oversize, version not in force, no token', async (t) => {
  const passport = await api.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': newKey() },
    body: { item_code: PASSPORT, delivery: 'pickup', materials: [] },
  });
  problem(t, passport, 401, 'insufficient_user_authentication', /loa2/);
  t.regex(passport.headers.get('www-authenticate') ?? '', /insufficient_user_authentication/);

  const missing = await api.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': newKey() },
    body: {
      item_code: LICENSING,
      delivery: 'pickup',
      materials: [
        { slot: 1, reference: 'x' },
        { slot: 2, reference: 'y' },
      ],
    },
  });
  problem(t, missing, 400, 'materials_missing', /0 \(医师执业注册申请审核表\)/);
  const referenced = await api.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': newKey() },
    body: {
      item_code: LICENSING,
      delivery: 'pickup',
      materials: [
        { slot: 0, reference: 'x' },
        { slot: 1, reference: 'x' },
        { slot: 2, reference: 'y' },
      ],
    },
  });
  problem(t, referenced, 400, 'invalid_material', /not held as an e-license: upload it/);
  const foreign = await api.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': newKey() },
    body: {
      item_code: LICENSING,
      delivery: 'pickup',
      materials: [
        { slot: 0, upload_id: (await api.upload(other.token, pdf())).json.upload_id },
        { slot: 1, reference: 'x' },
        { slot: 2, reference: 'y' },
      ],
    },
  });
  problem(t, foreign, 400, 'unknown_upload');
  const old = await api.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': newKey() },
    body: { item_code: LICENSING, item_version: 7, delivery: 'pickup', materials: [] },
  });
  problem(t, old, 409, 'version_not_in_force', /version 1 is/);
  problem(t, await api.upload(applicant.token, Buffer.from('GIF89a'), 'image/gif'), 415, 'unsupported_material_type');
  problem(t, await api.upload(applicant.token, Buffer.from('not a pdf'), 'application/pdf'), 415, 'material_type_mismatch');
  const big = Buffer.concat([pdf(), Buffer.alloc(2 * 1024 * 1024)]);
  t.is((await api.upload(applicant.token, big)).status, 413);
  problem(t, await api.call('GET', '/cases/mine'), 401, 'invalid_request');
  problem(t, await api.call('GET', '/cases/mine', { token: 'not.a.token' }), 401, 'invalid_token');
  const mine = await api.call('GET', '/cases/mine', { token: applicant.token });
  t.false(
    (mine.json.cases as { item: { code: string } }[]).some((c) => c.item.code === PASSPORT),
    'nothing was written',
  );
});

test('staff act only in their role at their authority; applicants read only their own cases', async (t) => {
  const number = String((await applyForLicense()).json.number);
  problem(t, await staffAct(reviewer, number, 'accept'), 403, 'role_required', /acceptor/);
  problem(t, await staffAct(police, number, 'accept'), 403, 'outside_authority');
  problem(t, await staffAct(other, number, 'accept'), 403, 'not_staff');
  // Staff of Guangzhou's platform log in at Guangzhou's OP, not at another tier's.
  const elsewhere = await personWithToken(fed, 'gd', SERVICES);
  await api.grant(elsewhere.person.id_number, HEALTH, 'acceptor');
  problem(t, await staffAct(elsewhere, number, 'accept'), 403, 'wrong_tier_login');
  problem(
    t,
    await staffAct(officer, number, 'decide', { outcome: 'approved' }),
    409,
    'transition_not_allowed',
    /received cannot take decide/,
  );
  problem(t, await staffAct(officer, number, 'refuse', {}), 400, 'invalid_request', /reasons/);
  problem(t, await staffAct(officer, number, 'fly'), 404, 'unknown_action');
  problem(t, await api.call('GET', `/staff/cases/${number}`, { token: police.token }), 403, 'outside_authority');
  problem(t, await api.call('GET', `/cases/${number}`, { token: other.token }), 403, 'not_your_case');
  problem(t, await api.call('POST', `/cases/${number}/withdraw`, { token: other.token, body: {} }), 403, 'not_your_case');

  const view = await api.call('GET', `/cases/${number}`, { token: applicant.token });
  t.is(view.json.state, 'received', 'nothing changed');
  const refused = (view.json.accesses as { event: string }[]).filter((a) => a.event === 'case.refused');
  t.true(refused.length >= 4, 'each refused attempt is in the audit log');

  const staffView = await api.call('GET', `/staff/cases/${number}`, { token: officer.token });
  t.like(staffView.json.applicant, { name: applicant.person.name });
  t.deepEqual(staffView.json.actions, ['request_correction', 'accept', 'refuse'], 'what the officer can do next');
  const upload = (staffView.json.materials as { id: string; source: string }[]).find((m) => m.source === 'upload')!;
  const file = await fetch(`${api.base}/staff/cases/${number}/materials/${upload.id}`, {
    headers: { authorization: `Bearer ${officer.token}` },
  });
  t.is(file.headers.get('content-type'), 'application/pdf');
  t.true(
    Buffer.from(await file.arrayBuffer())
      .subarray(0, 5)
      .equals(Buffer.from('%PDF-')),
  );
  const after = await api.call('GET', `/cases/${number}`, { token: applicant.token });
  t.true(
    (after.json.accesses as { event: string }[]).some((a) => a.event === 'case.material_read'),
    'the applicant sees the reading',
  );

  const withdrawn = await api.call('POST', `/cases/${number}/withdraw`, { token: applicant.token, body: { reason: '不再需要' } });
  t.like(withdrawn.json, { state: 'closed', outcome: 'withdrawn' });
});

test('progress by number needs the phone tail or the query code; wrong answers are limited', async (t) => {
  const receipt = await applyForLicense();
  const number = String(receipt.json.number);
  const byPhone = await api.call('POST', '/cases/lookup', {
    body: { number: number.toLowerCase(), phone_tail: applicant.person.phone.slice(-4) },
  });
  t.is(byPhone.status, 200, JSON.stringify(byPhone.json));
  t.like(byPhone.json, { number, state: 'received', item: { name: '医师执业注册' } });
  t.false(JSON.stringify(byPhone.json).includes(applicant.person.name), 'no personal data');
  t.is((await api.call('POST', '/cases/lookup', { body: { number, query_code: receipt.json.query_code } })).status, 200);
  problem(t, await api.call('POST', '/cases/lookup', { body: { number } }), 400, 'invalid_request', /phone_tail or query_code/);
  problem(t, await api.call('POST', '/cases/lookup', { body: { number: 'GZ-1', phone_tail: '0000' } }), 400, 'invalid_case_number');
  const typo = number.slice(0, -1) + (number.endsWith('0') ? '1' : '0');
  problem(
    t,
    await api.call('POST', '/cases/lookup', { body: { number: typo, phone_tail: '0000' } }),
    400,
    'invalid_case_number',
    /check character/,
  );
  const wrongTail = applicant.person.phone.slice(-4) === '0000' ? '1111' : '0000';
  for (let i = 0; i < 5; i++)
    problem(t, await api.call('POST', '/cases/lookup', { body: { number, phone_tail: wrongTail } }), 404, 'unknown_case');
  problem(
    t,
    await api.call('POST', '/cases/lookup', { body: { number, phone_tail: applicant.person.phone.slice(-4) } }),
    429,
    'too_many_requests',
  );
});

test('parallel approval: one case, opinions with their own deadlines, the lead decides when all are in; an overdue opinion is flagged', async (t) => {
  const key = newKey();
  const receipt = await api.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': key },
    body: { item_code: JOINT, delivery: 'pickup', materials: [0, 1, 2, 3].map((slot) => ({ slot, reference: `e-license:${slot}` })) },
  });
  t.is(receipt.status, 201, JSON.stringify(receipt.json));
  const number = String(receipt.json.number);
  const accepted = await staffAct(police, number, 'accept', { opinion_days: 1 });
  t.is(accepted.status, 200, JSON.stringify(accepted.json));
  const opinions = accepted.json.opinions as { authority: string; due_on: string }[];
  t.deepEqual(opinions.map((o) => o.authority).sort(), [...ASSISTING].sort());

  t.is((await staffAct(assisting[0]!, number, 'give_opinion', { opinion: 'agree', reason: '已办理参保登记' })).status, 200);
  t.is((await staffAct(assisting[1]!, number, 'give_opinion', { opinion: 'agree', reason: '已办理医保登记' })).status, 200);
  problem(t, await staffAct(assisting[1]!, number, 'give_opinion', { opinion: 'agree', reason: 'again' }), 409, 'opinion_given');
  problem(t, await staffAct(police, number, 'give_opinion', { opinion: 'agree', reason: '越权' }), 403, 'outside_authority');
  await staffAct(police, number, 'record_review', { method: 'written', finding: '材料齐全' });
  problem(t, await staffAct(police, number, 'complete_review'), 409, 'opinions_pending', /1 assisting/);

  // Days pass: the third department's opinion is overdue, in its queue and on the case.
  const aged = await api.call('POST', `/demo/cases/${number}/age`, { body: { days: 7 } });
  t.is(aged.status, 200, JSON.stringify(aged.json));
  const late = await api.call('GET', '/staff/queue?status=overdue', { token: assisting[2]!.token });
  const owed = (late.json.opinions as { number: string; flag: string }[]).find((o) => o.number === number);
  t.is(owed?.flag, 'overdue');
  const detail = await api.call('GET', `/staff/cases/${number}`, { token: police.token });
  const flags = (detail.json.opinions as { authority: string; overdue: boolean }[]).filter((o) => o.overdue).map((o) => o.authority);
  t.deepEqual(flags, [ASSISTING[2]]);

  t.is((await staffAct(assisting[2]!, number, 'give_opinion', { opinion: 'agree', reason: '出生医学证明核验一致' })).status, 200);
  t.is((await staffAct(police, number, 'complete_review')).json.state, 'reviewed');
  t.is((await staffAct(police, number, 'decide', { outcome: 'approved' })).json.state, 'decided');
});

test('an application not answered within five working days counts as accepted from its receipt', async (t) => {
  const receipt = await applyForLicense();
  const number = String(receipt.json.number);
  await api.call('POST', `/demo/cases/${number}/age`, { body: { days: 14 } });
  problem(
    t,
    await staffAct(officer, number, 'request_correction', { missing: [{ slot: 0, reason: '迟到的补正' }] }),
    409,
    'acceptance_deemed',
  );
  const view = await api.call('GET', `/cases/${number}`, { token: applicant.token });
  t.like(view.json, { state: 'under_review', deemed_accepted: true });
  t.is(view.json.accepted_on, chinaDate(new Date(String(view.json.received_at))), 'accepted as of the day of receipt');
  const queue = await api.call('GET', '/staff/queue', { token: officer.token });
  t.true((queue.json.cases as { number: string }[]).some((c) => c.number === number));
});

test('the command line grants staff roles (refusing bad ones) and prints supervision figures', async (t) => {
  const clerk = await personWithToken(fed, 'gz', SERVICES);
  const cli = (...args: string[]) => runCli([...args, '--entity', SERVICES, '--topology', fed.topologyFile, '--data', fed.config.dataDir]);
  const granted = await cli('staff', 'grant', '--id-number', clerk.person.id_number, '--authority', HEALTH, '--role', 'sender,receiver');
  t.is(granted.code, 0, granted.stderr);
  t.like(JSON.parse(granted.stdout), { authority: HEALTH, tier: 'city', roles: ['sender', 'receiver'] });
  t.false(granted.stdout.includes(clerk.person.id_number));
  const me = await api.call('GET', '/staff/me', { token: clerk.token });
  t.deepEqual((me.json.grants as { role: string }[]).map((g) => g.role).sort(), ['receiver', 'sender']);
  const listed = await cli('staff', 'list', '--authority', HEALTH);
  t.true(listed.stdout.includes(`${clerk.person.id_number.slice(0, 4)}**********${clerk.person.id_number.slice(-4)}`));
  const badRole = await cli('staff', 'grant', '--id-number', clerk.person.id_number, '--authority', HEALTH, '--role', 'boss');
  t.is(badRole.code, 2);
  t.regex(badRole.stderr, /role: boss is not one of receiver, acceptor, reviewer, decider, sender/);
  const badAuthority = await cli(
    'staff',
    'grant',
    '--id-number',
    clerk.person.id_number,
    '--authority',
    '11440100000199999X',
    '--role',
    'sender',
  );
  t.regex(badAuthority.stderr, /unknown_authority/);
  const revoked = await cli('staff', 'revoke', '--id-number', clerk.person.id_number, '--authority', HEALTH, '--role', 'sender,receiver');
  t.is(revoked.code, 0, revoked.stderr);
  problem(t, await api.call('GET', '/staff/me', { token: clerk.token }), 403, 'not_staff');

  await applyForLicense();
  const stats = await cli('cases', 'stats', '--authority', HEALTH);
  t.is(stats.code, 0, stats.stderr);
  const row = (JSON.parse(stats.stdout) as { items: { item_code: string; received: number; promised_days: number }[] }).items.find(
    (i) => i.item_code === LICENSING,
  )!;
  t.true(row.received >= 1);
  t.is(row.promised_days, 10);
});
