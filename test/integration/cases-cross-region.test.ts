/**
 * 跨省通办 (收受分离) over HTTP with real logins: a person registered in Guangzhou logs in at
 * Zhejiang (mutual recognition) and applies there for a Guangzhou item; Zhejiang's receiver
 * checks it (one correction) and hands it over, signed; Guangzhou's staff accept, decide and close
 * it; the person reads the same case and timeline at Zhejiang and by number. A forged, replayed or
 * misdirected hand-off is refused, and both platforms audit the hand-off.
 */
import test from 'ava';
import { SignJWT, decodeJwt, generateKeyPair, importJWK } from 'jose';
import { signEntityAssertion } from '../../infra/entity-assertion.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { readAudit } from '../../infra/audit-log.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, oidc, relyingParty, throughConsent, REDIRECT_URI, type Person } from '../helpers/flows.ts';
import { casesApi, pdf, personWithToken, type CasesApi, type Reply } from '../helpers/cases-api.ts';
import { homePublished } from '../helpers/recognition-sites.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD } from '../helpers/service-tokens.ts';
import { consentAt, dataAccessDetail } from '../helpers/exchange-flows.ts';
import { callAdmin } from '../../infra/admin-client.ts';

/** 往来港澳通行证签发 at 广州市公安局: 行政许可, handled nationwide; its one material an e-license. */
const PERMIT = '11440100000101002C3010101010000';
/** 机动车注册登记 at 广州市公安局: handled only in Guangzhou. */
const LOCAL_ONLY = '11440100000101002C3010101008000';
const GZ_POLICE = '11440100000101002C';
/** 无犯罪记录证明开具 at 广州市公安局: handled nationwide; a power of attorney uploaded. */
const CERTIFICATE = '11440100000101002C3200101012000';
/** 结婚登记 at 广州市民政局: handled nationwide, decided on the spot; needs the household register (居民户口簿). */
const MARRIAGE = '1144010000010200733070102001000';
const GZ_CIVIL_AFFAIRS = '114401000001020073';
/** 杭州市公安局: an authority of Zhejiang's platform (whose window receives for others). */
const HZ_POLICE = '11330100000101005T';

let fed: TestFederation;
let zj: CasesApi;
let gz: CasesApi;
let applicant: { token: string; person: Person };
/** The same person's token for Guangzhou's services entity, where the result is issued. */
let atHome: string;
let receiver: { token: string; person: Person };
let police: { token: string; person: Person };

const runtime = (id: string): EntityRuntime => fed.host.entities.find((e) => e.entity.id === id)!.runtime;

/** A person of Guangzhou logs in at Zhejiang's OP (routed home to Guangzhou) for Zhejiang's services entity. */
async function tokenAtZj(person: Person): Promise<string> {
  const rp = await relyingParty(fed, 'zj');
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid profile services', resource: fed.url('zj-services') }, true);
  const password = await ua.submit(a.page, '/identifier', { identifier: person.id_number });
  let page = await ua.submit(password, '/password', { password: PASSWORD }, REDIRECT_URI);
  for (let i = 0; i < 3 && !page.url.startsWith(REDIRECT_URI); i++) page = await throughConsent(ua, page);
  const tokens = await oidc.authorizationCodeGrant(
    rp.config,
    new URL(page.url),
    { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true },
    { resource: fed.url('zj-services') },
  );
  return tokens.access_token;
}

test.before(async () => {
  fed = await startTestFederation(['gz', 'zj', 'gd-services', 'registries', 'gz-services', 'zj-services']);
  zj = casesApi(fed, 'zj-services');
  gz = casesApi(fed, 'gz-services');
  const registered = await personWithToken(fed, 'gz', 'gz-services');
  await homePublished(fed, 'natural', registered.person.id_number, fed.url('gz'));
  const staffAtZj = await personWithToken(fed, 'zj', 'zj-services');
  police = await personWithToken(fed, 'gz', 'gz-services');
  for (const [api, who, op] of [
    [zj, staffAtZj, 'zj'],
    [gz, police, 'gz'],
  ] as const)
    await until(async () => (await api.call('GET', '/me', { token: who.token })).status === 200, `${op} trusted`, 60_000);
  applicant = { person: registered.person, token: await tokenAtZj(registered.person) };
  atHome = registered.token;
  await zj.grant(staffAtZj.person.id_number, HZ_POLICE, 'receiver');
  await gz.grant(police.person.id_number, GZ_POLICE, 'acceptor,reviewer,decider,sender');
  await gz.grant(police.person.id_number, GZ_CIVIL_AFFAIRS, 'acceptor,decider,sender');
  receiver = staffAtZj;
});
test.after.always(async () => {
  await fed?.close();
});

function problem(t: import('ava').ExecutionContext, reply: Reply, status: number, error: string) {
  t.is(reply.status, status, JSON.stringify(reply.json));
  t.is(reply.json.error, error, JSON.stringify(reply.json));
}

const act = (api: CasesApi, who: { token: string }, number: string, action: string, body: unknown = {}) =>
  api.call('POST', `/staff/cases/${number}/${action}`, { token: who.token, body });

let keys = 0;
const apply = (item: string, key = `cross-${Date.now()}-${++keys}`) =>
  zj.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': key },
    body: {
      item_code: item,
      delivery: 'mail',
      delivery_address: '浙江省杭州市西湖区某路1号',
      materials: [{ slot: 0, reference: 'e-license:居民身份证' }],
    },
  });

test('received at Zhejiang, handed over signed, decided at Guangzhou: one case and one timeline at both', async (t) => {
  const receipt = await apply(PERMIT);
  t.is(receipt.status, 201, JSON.stringify(receipt.json));
  const number = String(receipt.json.number);
  t.regex(number, /^ZJ-\d{8}-\d{6}-[0-9A-Z]$/);

  // Zhejiang's window checks the form: one correction, supplied at Zhejiang.
  problem(t, await act(zj, receiver, number, 'accept'), 403, 'role_required');
  t.is(
    (await act(zj, receiver, number, 'request_correction', { missing: [{ slot: 0, reason: '证件照片不清晰' }] })).json.state,
    'correction_requested',
  );
  const supplied = await zj.call('POST', `/cases/${number}/supply`, {
    token: applicant.token,
    body: { materials: [{ slot: 0, reference: 'e-license:居民身份证#2' }] },
  });
  t.is(supplied.json.state, 'received', JSON.stringify(supplied.json));

  const handed = await act(zj, receiver, number, 'hand_off');
  t.is(handed.status, 200, JSON.stringify(handed.json));
  t.is(handed.json.state, 'handed_off');

  // Guangzhou runs the case under the same number.
  const queue = await gz.call('GET', '/staff/queue', { token: police.token });
  t.true(
    (queue.json.cases as { number: string }[]).some((c) => c.number === number),
    'in the handling authority’s queue',
  );
  for (const [action, body] of [
    ['accept', {}],
    ['record_review', { method: 'written', finding: '符合签发条件' }],
    ['complete_review', {}],
    ['decide', { outcome: 'approved' }],
    ['make_result', {}],
    ['deliver', {}],
    ['publish', {}],
    ['close', {}],
  ] as const)
    t.is((await act(gz, police, number, action, body)).status, 200, action);

  // The person reads it at Zhejiang: the same case, the same timeline, from the receipt on.
  const seen = await zj.call('GET', `/cases/${number}`, { token: applicant.token });
  t.is(seen.status, 200, JSON.stringify(seen.json));
  t.like(seen.json, { number, state: 'closed', outcome: 'approved', received_here: true });
  const steps = seen.json.timeline as { state: string; event: string | null; note?: unknown }[];
  t.deepEqual(
    steps.slice(0, 3).map((s) => s.event),
    ['request_correction', 'supply', 'hand_off'],
    'Zhejiang’s steps come first',
  );
  t.true(steps.some((s) => s.event === 'accept'));
  const byNumber = await zj.call('POST', '/cases/lookup', { body: { number, phone_tail: applicant.person.phone.slice(-4) } });
  t.like(byNumber.json, { number, state: 'closed' });
  const atGuangzhou = await gz.call('POST', '/cases/lookup', { body: { number, phone_tail: applicant.person.phone.slice(-4) } });
  t.like(atGuangzhou.json, { number, state: 'closed' });

  // The result is an e-license of the person, issued at Guangzhou, which verifies anywhere through the trust chain.
  const result = seen.json.result as { kind: string; id: string };
  t.is(result.kind, 'e_license');
  const held = await gz.call('GET', `/licenses/mine/${result.id}`, { token: atHome });
  t.is(held.status, 200, JSON.stringify(held.json));
  t.like(held.json.claims, { case_number: number, item_code: PERMIT });
  const verified = await zj.call('POST', '/licenses/verify', { body: { license: held.json.credential } });
  t.is(verified.status, 200, JSON.stringify(verified.json));
  t.like(verified.json, { valid: true });

  // Signed and logged at both ends.
  const sent = (await readAudit(runtime('zj-services').db, 200)).find((e) => e.event === 'case.hand_off' && e.subject === `case:${number}`);
  const taken = (await readAudit(runtime('gz-services').db, 200)).find(
    (e) => e.event === 'case.handoff_received' && e.subject === `case:${number}`,
  );
  t.truthy(sent);
  t.truthy(taken);
  t.is(taken!.detail!.from, fed.url('zj-services'));
});

test('an item handled only where it is cannot be applied for elsewhere', async (t) => {
  problem(t, await apply(LOCAL_ONLY), 403, 'not_cross_region');
});

test('an application received for another platform, sent again under its key, answers its receipt', async (t) => {
  const key = `cross-again-${Date.now()}`;
  const first = await apply(PERMIT, key);
  t.is(first.status, 201, JSON.stringify(first.json));
  const again = await apply(PERMIT, key);
  t.is(again.status, 200, JSON.stringify(again.json));
  t.like(again.json, { number: first.json.number, replayed: true, item: first.json.item });
});

test('a forged, misdirected or replayed hand-off is refused; the same one again changes nothing', async (t) => {
  const number = String((await apply(PERMIT)).json.number);
  const handed = await act(zj, receiver, number, 'hand_off');
  t.is(handed.status, 200, JSON.stringify(handed.json));
  const zjUrl = fed.url('zj-services');
  const gzUrl = fed.url('gz-services');
  const { rows } = await runtime('zj-services').db.query<{ handoff: string }>('SELECT handoff FROM case_handoffs WHERE number = $1', [
    number,
  ]);
  const handoff = rows[0]!.handoff;
  const post = async (from: string, assertion: string, body: unknown) => {
    const res = await fetch(`${gzUrl}/case-handoffs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${assertion}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown>, from };
  };
  const zjKey = runtime('zj-services').keyRing.signingKey();

  // The same hand-off again, from Zhejiang: the same receipt, no second case.
  const again = await post(zjUrl, await signEntityAssertion(zjKey, zjUrl, gzUrl), { handoff });
  t.is(again.status, 200, JSON.stringify(again.json));
  // The same application signed anew (as after a crash lost the answer): the hand-off taken first and its receipt.
  const resign = async (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: zjKey.alg!, kid: zjKey.kid, typ: 'case-handoff+jwt' })
      .setIssuer(zjUrl)
      .setAudience(gzUrl)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(`again-${number}-${Date.now()}`)
      .sign(await importJWK(zjKey, zjKey.alg));
  const taken = decodeJwt(handoff).handoff as { steps: { ended_at: string | null }[]; delivery: string };
  const steps = taken.steps.map((s) => ({ ...s, ended_at: new Date().toISOString() }));
  const signedAgain = await post(zjUrl, await signEntityAssertion(zjKey, zjUrl, gzUrl), {
    handoff: await resign({ handoff: { ...taken, steps } }),
  });
  t.is(signedAgain.status, 200, JSON.stringify(signedAgain.json));
  t.deepEqual(signedAgain.json, again.json, 'the first hand-off and its receipt');
  t.is(signedAgain.json.handoff, handoff);
  // Another application under the same number is a conflict.
  const other = await post(zjUrl, await signEntityAssertion(zjKey, zjUrl, gzUrl), {
    handoff: await resign({ handoff: { ...taken, delivery: taken.delivery === 'mail' ? 'pickup' : 'mail' } }),
  });
  t.is(other.status, 409, JSON.stringify(other.json));
  t.is(other.json.error, 'handoff_conflict');
  // An entity assertion used twice.
  const assertion = await signEntityAssertion(zjKey, zjUrl, gzUrl);
  await post(zjUrl, assertion, { handoff });
  const replayed = await post(zjUrl, assertion, { handoff });
  t.is(replayed.status, 401);
  t.regex(String(replayed.json.error_description), /already used/);
  // Zhejiang's hand-off presented by another services entity.
  const gdUrl = fed.url('gd-services');
  const misdirected = await post(gdUrl, await signEntityAssertion(runtime('gd-services').keyRing.signingKey(), gdUrl, gzUrl), { handoff });
  t.is(misdirected.status, 401);
  t.is(misdirected.json.error, 'invalid_handoff');
  // A hand-off signed with a key the federation never trusted.
  const { privateKey } = await generateKeyPair('ES256');
  const forgedJws = await new SignJWT({ handoff: { number } })
    .setProtectedHeader({ alg: 'ES256', kid: zjKey.kid, typ: 'case-handoff+jwt' })
    .setIssuer(zjUrl)
    .setAudience(gzUrl)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti('forged')
    .sign(privateKey);
  const forged = await post(zjUrl, await signEntityAssertion(zjKey, zjUrl, gzUrl), { handoff: forgedJws });
  t.is(forged.status, 401);
  t.is(forged.json.error, 'invalid_handoff');
  const count = await runtime('gz-services').db.query('SELECT 1 FROM cases WHERE number = $1', [number]);
  t.is(count.rows.length, 1, 'one case at Guangzhou');
});

test('a correction the handling platform asks for is supplied where the case was received, files and all', async (t) => {
  const upload = async (text: string) => String((await zj.upload(applicant.token, pdf(text))).json.upload_id);
  const receipt = await zj.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': `cross-supply-${Date.now()}` },
    body: {
      item_code: CERTIFICATE,
      delivery: 'pickup',
      materials: [
        { slot: 0, reference: 'e-license:居民身份证' },
        { slot: 1, upload_id: await upload('委托书') },
      ],
    },
  });
  t.is(receipt.status, 201, JSON.stringify(receipt.json));
  const number = String(receipt.json.number);
  t.is((await act(zj, receiver, number, 'hand_off')).status, 200);
  const atGz = await gz.call('GET', `/staff/cases/${number}`, { token: police.token });
  const handed = (atGz.json.materials as { slot: number; source: string; digest: string }[]).find((m) => m.slot === 1)!;
  t.is(handed.source, 'upload', 'the uploaded file went with the hand-off');
  t.is(handed.digest, (receipt.json.materials as { slot: number; digest: string }[]).find((m) => m.slot === 1)!.digest, 'the same content');

  t.is(
    (await act(gz, police, number, 'request_correction', { missing: [{ slot: 1, reason: '委托书缺少签名' }] })).json.state,
    'correction_requested',
  );
  const supplied = await zj.call('POST', `/cases/${number}/supply`, {
    token: applicant.token,
    body: { materials: [{ slot: 1, upload_id: await upload('签名后的委托书') }] },
  });
  t.is(supplied.status, 200, JSON.stringify(supplied.json));
  t.like(supplied.json, { number, state: 'received', received_here: true });
  const after = await gz.call('GET', `/staff/cases/${number}`, { token: police.token });
  t.true(
    (after.json.materials as { slot: number; round: number }[]).some((m) => m.slot === 1 && m.round === 1),
    'the correction is at Guangzhou',
  );
});

test("the issue's story: a household register extract issued at Guangzhou fills the application at Zhejiang with the person's consent; corrected once, decided at Guangzhou, closed with an e-license that verifies", async (t) => {
  const person = applicant.person;
  const gzUrl = fed.url('gz-services');
  await callAdmin(fed.topology.get('gz-services'), fed.config.dataDir, 'POST', '/admin/licenses', {
    type: 'household_register_extract',
    holder: { kind: 'natural', id_number: person.id_number, name: person.name },
    claims: {
      household_address: '广州市越秀区北京街道 1 号',
      household_head: person.name,
      relationship: '户主',
      registration_authority: '广州市公安局越秀区分局',
    },
  });
  // The person consents at Zhejiang's OP (their password typed at home): Zhejiang's node may read the extract at Guangzhou's, once, for this item.
  const fetchFields = {
    dataset: 'license.household_register_extract',
    attributes: ['name', 'household_address'],
    purpose: 'permit-application',
  };
  const consent = await consentAt(await relyingParty(fed, 'zj'), new UserAgent(), {
    identifier: person.id_number,
    password: PASSWORD,
    details: [dataAccessDetail({ holder: gzUrl, requester: fed.url('zj-services'), item: MARRIAGE, ...fetchFields })],
    mode: 'once',
  });
  t.truthy(consent.accessToken, consent.last.url);
  const statement = String((await zj.upload(applicant.token, pdf('声明'))).json.upload_id);
  const receipt = await zj.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': `story-${Date.now()}` },
    body: {
      item_code: MARRIAGE,
      delivery: 'electronic',
      materials: [
        { slot: 0, reference: 'e-license:居民身份证' },
        { slot: 1, exchange: { holder: gzUrl, access_token: consent.accessToken, ...fetchFields } },
        { slot: 2, upload_id: statement },
      ],
    },
  });
  t.is(receipt.status, 201, JSON.stringify(receipt.json));
  const number = String(receipt.json.number);
  const extract = (receipt.json.materials as { slot: number; source: string; digest: string | null }[]).find((m) => m.slot === 1)!;
  t.is(extract.source, 'exchange');
  t.regex(String(extract.digest), /^sha-256:/);

  // Zhejiang's window: one correction of the statement, then the hand-off.
  await act(zj, receiver, number, 'request_correction', { missing: [{ slot: 2, reason: '声明未签名' }] });
  const signed = String((await zj.upload(applicant.token, pdf('签名后的声明'))).json.upload_id);
  t.is(
    (await zj.call('POST', `/cases/${number}/supply`, { token: applicant.token, body: { materials: [{ slot: 2, upload_id: signed }] } }))
      .status,
    200,
  );
  t.is((await act(zj, receiver, number, 'hand_off')).json.state, 'handed_off');

  // Guangzhou reads the extract the exchange served, decides on the spot, issues the result and closes.
  const atGz = await gz.call('GET', `/staff/cases/${number}`, { token: police.token });
  const record = (atGz.json.materials as { id: string; slot: number }[]).find((m) => m.slot === 1)!;
  const file = await fetch(`${gzUrl}/staff/cases/${number}/materials/${record.id}`, {
    headers: { authorization: `Bearer ${police.token}` },
  });
  t.like((await file.json()) as Record<string, unknown>, {
    dataset: 'license.household_register_extract',
    data: { household_address: '广州市越秀区北京街道 1 号' },
  });
  for (const action of ['decide_on_the_spot', 'make_result', 'deliver', 'close'])
    t.is((await act(gz, police, number, action, action === 'decide_on_the_spot' ? { outcome: 'approved' } : {})).status, 200, action);

  const seen = await zj.call('GET', `/cases/${number}`, { token: applicant.token });
  t.like(seen.json, { state: 'closed', outcome: 'approved' });
  const result = seen.json.result as { id: string };
  const held = await gz.call('GET', `/licenses/mine/${result.id}`, { token: atHome });
  const verified = await zj.call('POST', '/licenses/verify', { body: { license: held.json.credential } });
  t.like(verified.json, { valid: true });

  // The consent was for once: the same token fills no second application.
  const again = await zj.call('POST', '/cases', {
    token: applicant.token,
    headers: { 'idempotency-key': `story-again-${Date.now()}` },
    body: {
      item_code: MARRIAGE,
      delivery: 'electronic',
      materials: [
        { slot: 0, reference: 'e-license:居民身份证' },
        { slot: 1, exchange: { holder: gzUrl, access_token: consent.accessToken, ...fetchFields } },
        { slot: 2, upload_id: String((await zj.upload(applicant.token, pdf('x'))).json.upload_id) },
      ],
    },
  });
  problem(t, again, 403, 'consent_used');
});
