/**
 * The data-sharing exchange over HTTP with tokens from real OP logins (docs/exchange.md): a person
 * registered at gz consents at zj's OP (a cross-tier login), and zj's node reads their population
 * facts from national's node, and the result of their case at gz from gz's node, routed through
 * national's and gd's; every refusal the issue names, each with its own code and in both nodes'
 * access logs; revocation; standing consents; the person's view of their data use, merged across
 * nodes; and the logs verifying as the auditor checks them, with a tampered entry found.
 */
import test from 'ava';
import { decodeJwt, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson, relyingParty, type Person, type RelyingParty } from '../helpers/flows.ts';
import { opSite, registerAt } from '../helpers/recognition-sites.ts';
import { serviceToken } from '../helpers/service-tokens.ts';
import {
  consentAt,
  dataAccessDetail,
  exportedLog,
  requestData,
  trustMarksHeld,
  type DataRequestBody,
  type DetailFields,
} from '../helpers/exchange-flows.ts';
import { verifyLogBundle } from '../../services/exchange/log-bundle.ts';
import { bundleChainValidator } from '../../cli/exchange-command.ts';
import { materializeTrustAnchor, topologyTrustAnchor } from '../../federation/authority-endpoints.ts';
import { casesApi, personWithToken } from '../helpers/cases-api.ts';
import { closedCase, GUANGZHOU } from '../helpers/voice-api.ts';
import { randomUUID } from 'node:crypto';
import { postAsEntity } from '../../infra/entity-request.ts';
import { callAdmin } from '../../infra/admin-client.ts';
import { signOrigin } from '../../services/exchange/request-origin.ts';
import { ROUTE_PATH } from '../../services/exchange/data-request.ts';

const PASSWORD = 'Passw0rd-gov';
const ITEM = '330100000000000000001';

let fed: TestFederation;
/** Zhejiang's node asks; national's holds the base registries. */
let requester: string;
let holder: string;
let rp: RelyingParty;

test.before(async () => {
  fed = await startTestFederation(['gz', 'zj', 'gz-services', 'gd-services', 'zj-services', 'registries']);
  requester = fed.url('zj-services');
  holder = fed.url('registries');
  rp = await relyingParty(fed, 'zj');
  await trustMarksHeld(fed, ['gz', 'zj', 'gd']);
});
test.after.always(async () => {
  await fed?.close();
});

/** A person whose home is gz (registered there, so that zj knows them only through recognition). */
async function gzPerson(): Promise<Person> {
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, PASSWORD);
  return person;
}

const facts = (over: Partial<DetailFields> = {}): DetailFields => ({
  holder,
  requester,
  dataset: 'population-facts',
  attributes: ['name', 'birth_date'],
  purpose: 'permit-application',
  item: ITEM,
  ...over,
});

/** The person consents at zj's OP (mode 'once', '30', …) and the token comes back. */
async function consented(person: Person, detail: DetailFields, mode = 'once', ua = new UserAgent()) {
  const out = await consentAt(rp, ua, { identifier: person.id_number, password: PASSWORD, details: [dataAccessDetail(detail)], mode });
  if (!out.accessToken) throw new Error(`no token: ${out.last.url}\n${out.last.html.slice(0, 1500)}`);
  return { ...out, accessToken: out.accessToken, ua };
}

const ask = (person: Person, token: string | undefined, over: Partial<DataRequestBody> = {}) =>
  requestData(fed, 'zj-services', {
    holder,
    ...(token ? { access_token: token } : {}),
    subject: { kind: 'natural', id_number: person.id_number },
    dataset: 'population-facts',
    attributes: ['name', 'birth_date'],
    purpose: 'permit-application',
    item: ITEM,
    ...over,
  });

/** An access token signed by a key of no one in the federation, with the given claims. */
async function strangerToken(claims: JWTPayload): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'stranger' }).sign(privateKey);
}

/** The log entries of one request at the given nodes (by default the holding and the requesting node). */
async function logged(requestId: string, nodes = ['registries', 'zj-services']) {
  const entries: Record<string, unknown>[] = [];
  for (const node of nodes) {
    const bundle = (await exportedLog(fed, node)) as { entries: { entry: Record<string, unknown> }[] };
    entries.push(...bundle.entries.map((r): Record<string, unknown> => ({ ...r.entry, node })).filter((e) => e.request_id === requestId));
  }
  return entries;
}

test('a person registered at gz consents at zj once; the node serves exactly the consented attributes and both sides log it', async (t) => {
  const person = await gzPerson();
  const { consentPage, accessToken } = await consented(person, facts());
  t.truthy(consentPage, 'the consent page was shown');
  const page = consentPage!.html;
  for (const text of ['人口基础信息', '姓名、出生日期', '行政许可申请', ITEM, '基础库与共享交换平台（演示）', '仅本次使用'])
    t.true(page.includes(text), `the consent page names ${text}`);
  t.false(page.includes(person.id_number), 'no ID number on the page');

  const claims = decodeJwt(accessToken);
  t.is(claims.aud, holder);
  const details = claims.authorization_details as Record<string, unknown>[];
  t.is(details.length, 1);
  t.like(details[0], { type: 'gov-id:data-access', dataset: 'population-facts', purpose: 'permit-application', item: ITEM, requester });
  t.deepEqual(details[0]!.attributes, ['name', 'birth_date'], 'exactly what was consented');
  t.false(JSON.stringify(claims).includes(person.id_number), 'no ID number in the token');

  const answer = await ask(person, accessToken);
  t.is(answer.status, 200, JSON.stringify(answer.json));
  t.deepEqual(answer.json.data, {
    name: person.name,
    birth_date: `${person.id_number.slice(6, 10)}-${person.id_number.slice(10, 12)}-${person.id_number.slice(12, 14)}`,
  });
  const entries = await logged(String(answer.json.request_id));
  t.deepEqual(
    entries.map((e) => [e.node, e.role]),
    [
      ['registries', 'holder'],
      ['zj-services', 'requester'],
    ],
  );
  for (const e of entries) {
    t.like(e, {
      result: 'served',
      reason: null,
      dataset: 'population-facts',
      purpose: 'permit-application',
      item: ITEM,
      requester,
      holder,
      client_id: rp.clientId,
    });
    t.deepEqual(e.consent, { issuer: fed.url('zj'), id: details[0]!.consent });
    t.false(JSON.stringify(e).includes(person.id_number), 'whose data by blind index only');
  }
});

test('refusals: no consent, beyond dataset, attributes, purpose or case, another person, another audience, outside the federation, expired, a used once-only consent', async (t) => {
  const person = await gzPerson();
  const other = await newPerson(fed);
  const org = (await (
    await fetch(`${fed.url('registries')}/demo/organizations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
  ).json()) as { uscc: string };
  const { accessToken } = await consented(person, facts());
  const cases: [string, Promise<{ status: number; json: Record<string, unknown> }>, number][] = [
    ['consent_required', ask(person, undefined), 403],
    [
      'dataset_not_consented',
      ask(person, accessToken, { dataset: 'legal-person-facts', attributes: ['org_name'], subject: { kind: 'legal', uscc: org.uscc } }),
      403,
    ],
    ['attributes_not_consented', ask(person, accessToken, { attributes: ['name', 'region_code'] }), 403],
    ['purpose_not_consented', ask(person, accessToken, { purpose: 'tax-filing' }), 403],
    ['case_not_consented', ask(person, accessToken, { item: null, case: 'ZJ-2026-000001' }), 403],
    ['subject_mismatch', ask(other, accessToken), 403],
    // An ID token of the same login is for the portal, not for the holding node.
    ['token_audience', ask(person, (await serviceToken(fed, { op: 'zj', resource: holder, person })).idToken), 401],
    // A token from outside the federation, and one that has expired (its claims copied, its signature its own).
    ['invalid_token', ask(person, await strangerToken(decodeJwt(accessToken))), 401],
    ['token_expired', ask(person, await strangerToken({ ...decodeJwt(accessToken), exp: Math.floor(Date.now() / 1000) - 5 })), 401],
  ];
  for (const [code, pending, status] of cases) {
    const answer = await pending;
    t.is(answer.status, status, `${code}: ${JSON.stringify(answer.json)}`);
    t.is(answer.json.error, code);
    const entries = await logged(String(answer.json.request_id));
    t.is(entries.length, 2, `${code} is logged by the holding and the requesting side`);
    for (const e of entries) t.like(e, { result: 'refused', reason: code });
  }
  // The request that none of these spent: the once-only consent serves once, then never again.
  t.is((await ask(person, accessToken)).status, 200);
  const replayed = await ask(person, accessToken);
  t.is(replayed.status, 403);
  t.is(replayed.json.error, 'consent_used');
});

test('a consent for a period serves again without asking, until the person revokes it in their account area', async (t) => {
  const person = await gzPerson();
  const first = await consented(person, facts(), '30');
  t.is((await ask(person, first.accessToken)).status, 200);
  // The same request again in the same browser: no consent page, a new token under the standing consent.
  const again = await consentAt(rp, first.ua, {
    identifier: person.id_number,
    password: PASSWORD,
    details: [dataAccessDetail(facts({ attributes: ['name'] }))],
    mode: null,
  });
  t.is(again.consentPage, null, 'the standing consent covers a request for fewer attributes');
  t.truthy(again.accessToken);
  t.is((await ask(person, again.accessToken!, { attributes: ['name'] })).status, 200);

  // At zj, where the consent was given: its account area lists and revokes it (a recognized account's too).
  const list = await first.ua.navigate(`${fed.url('zj')}/account/consents`);
  t.is(list.status, 200);
  t.true(list.html.includes('人口基础信息') && list.html.includes('有效'));
  const revoked = await first.ua.submit(list, '/revoke', {});
  t.is(revoked.status, 200);
  t.true(revoked.html.includes('已撤销'));

  for (const token of [first.accessToken, again.accessToken!]) {
    const answer = await ask(person, token, { attributes: ['name'] });
    t.is(answer.status, 403);
    t.is(answer.json.error, 'consent_revoked', 'a revoked consent stops the next request, whatever token carries it');
  }
  const twice = await first.ua.submit(list, '/revoke', {});
  t.is(twice.status, 409, 'an ended consent is not revoked again');
});

test('denying the consent (on the page in English) gives the portal no token; a request that names no item or case is refused at the OP', async (t) => {
  const person = await gzPerson();
  const english = new UserAgent();
  english.acceptLanguage = 'en';
  const denied = await consentAt(rp, english, {
    identifier: person.id_number,
    password: PASSWORD,
    details: [dataAccessDetail(facts())],
    mode: null,
    params: { ui_locales: 'en' },
  });
  const page = denied.consentPage!.html;
  for (const text of [
    'Data-sharing consents',
    'Population facts',
    'Name、Date of birth',
    'Applying for an administrative licence',
    'This time only',
    'For 30 days',
  ])
    t.true(page.includes(text), `in English: ${text}`);
  t.regex(page, /<html lang="en">/);
  t.is(new URL(denied.last.url).searchParams.get('error'), 'access_denied');

  const { item: _item, ...noItem } = dataAccessDetail(facts());
  const refused = await consentAt(rp, new UserAgent(), {
    identifier: person.id_number,
    password: PASSWORD,
    details: [noItem],
    mode: 'once',
  }).catch((e: Error) => e);
  t.regex(String((refused as { error?: string }).error ?? refused), /invalid_authorization_details/);
  const unknown = await consentAt(rp, new UserAgent(), {
    identifier: person.id_number,
    password: PASSWORD,
    details: [dataAccessDetail(facts({ attributes: ['name', 'blood_type'] }))],
    mode: 'once',
  }).catch((e: Error) => e);
  t.regex(String((unknown as { error_description?: string }).error_description ?? unknown), /no blood_type/);
});

test('the person reads the accesses to their data, and their consents, through the portal token for the node', async (t) => {
  const person = await gzPerson();
  const { accessToken } = await consented(person, facts());
  const served = await ask(person, accessToken);
  const refused = await ask(person, accessToken, { purpose: 'tax-filing' });
  // The zj portal's token is for zj's node: it asks national's for its part of the log.
  const { accessToken: portalToken } = await serviceToken(fed, { op: 'zj', resource: requester, person });
  const mine = await fetch(`${requester}/exchange/my/accesses`, { headers: { authorization: `Bearer ${portalToken}` } });
  t.is(mine.status, 200);
  const body = (await mine.json()) as { accesses: { request_id: string; result: string; reason: string | null; logged_by: string[] }[] };
  t.deepEqual(
    body.accesses.map((a) => [a.request_id, a.result, a.reason]),
    [
      [refused.json.request_id, 'refused', 'purpose_not_consented'],
      [served.json.request_id, 'served', null],
    ],
    'exactly the accesses made, newest first, one row per request',
  );
  t.deepEqual(body.accesses[0]!.logged_by.sort(), [holder, requester].sort(), 'merged from both nodes');
  const consents = await fetch(`${requester}/exchange/my/consents`, { headers: { authorization: `Bearer ${portalToken}` } });
  const listed = (await consents.json()) as { consents: { status: string; detail: { dataset: string } }[] };
  t.deepEqual(
    listed.consents.map((c) => [c.detail.dataset, c.status]),
    [['population-facts', 'used']],
  );
  // The consent token itself opens no door to the person's space.
  const withConsentToken = await fetch(`${holder}/exchange/my/accesses`, { headers: { authorization: `Bearer ${accessToken}` } });
  t.is(withConsentToken.status, 403);
});

test("the node's log verifies as the auditor checks it, and an edited entry is found", async (t) => {
  const person = await gzPerson();
  const { accessToken } = await consented(person, facts());
  const served = await ask(person, accessToken);
  t.is(served.status, 200);
  const anchor = await materializeTrustAnchor(topologyTrustAnchor(fed.topology));
  const verify = (bundle: unknown) =>
    verifyLogBundle(
      bundle,
      bundleChainValidator(anchor, () => true),
    );
  const bundle = await exportedLog(fed, 'registries');
  const result = await verify(bundle);
  t.like(result, { intact: true, entity: holder, trust_anchor: fed.url('national') }, JSON.stringify(result));

  // A database administrator edits an entry, past the triggers: the chain shows where.
  const node = fed.host.entities.find((e) => e.entity.id === 'registries')!.runtime.db;
  const { rows } = await node.query<{ seq: string }>(
    `SELECT seq::text AS seq FROM exchange_access_log WHERE entry->>'request_id' = $1 AND entry->>'role' = 'holder'`,
    [served.json.request_id],
  );
  const seq = Number(rows[0]!.seq);
  await node.transaction(async (tx) => {
    await tx.query('ALTER TABLE exchange_access_log DISABLE TRIGGER exchange_access_log_no_change');
    await tx.query(`UPDATE exchange_access_log SET entry = jsonb_set(entry, '{purpose}', '"tax-filing"') WHERE seq = $1`, [seq]);
    await tx.query('ALTER TABLE exchange_access_log ENABLE TRIGGER exchange_access_log_no_change');
  });
  t.like(await verify(await exportedLog(fed, 'registries')), { intact: false, broken_at: seq, problem: 'hash_mismatch' });

  // A bundle whose entries were cut after export no longer matches what the node signed.
  const cut = { ...(bundle as { entries: unknown[] }), entries: (bundle as { entries: unknown[] }).entries.slice(0, -1) };
  t.like(await verify(cut), { intact: false, problem: 'truncated' });
});

test("zj's node reads the result of the person's case at gz, routed through national's and gd's; another's case is no record of theirs", async (t) => {
  const gz = fed.url('gz-services');
  const api = casesApi(fed, 'gz-services');
  const applicant = await personWithToken(fed, 'gz', 'gz-services');
  const officer = await personWithToken(fed, 'gz', 'gz-services');
  await api.grant(officer.person.id_number, GUANGZHOU.police, 'decider,sender');
  const number = await closedCase(api, GUANGZHOU, applicant, officer);
  const other = await personWithToken(fed, 'gz', 'gz-services');
  const othersCase = await closedCase(api, GUANGZHOU, other, officer);

  const attributes = ['case_number', 'outcome', 'result_name'];
  const results = (caseNumber: string) => facts({ holder: gz, dataset: 'case-results', attributes, item: undefined, case: caseNumber });
  const { accessToken } = await consented(applicant.person, results(number), '30');
  const askFor = (caseNumber: string, token = accessToken) =>
    ask(applicant.person, token, { holder: gz, dataset: 'case-results', attributes, item: null, case: caseNumber });
  const served = await askFor(number);
  t.is(served.status, 200, JSON.stringify(served.json));
  t.like(served.json.data, { case_number: number, outcome: 'approved' });
  const entries = await logged(String(served.json.request_id), ['zj-services', 'registries', 'gd-services', 'gz-services']);
  t.deepEqual(
    entries.map((e) => [e.node, e.role, e.result]),
    [
      ['zj-services', 'requester', 'served'],
      ['gz-services', 'holder', 'served'],
    ],
    'logged at both ends, not on the way',
  );

  t.is((await askFor(othersCase)).json.error, 'case_not_consented', 'another case than the consented one');
  const { accessToken: forOthers } = await consented(applicant.person, results(othersCase));
  const notTheirs = await askFor(othersCase, forOthers);
  t.is(notTheirs.status, 404);
  t.is(notTheirs.json.error, 'no_record', "someone else's case is no record of this person");
});

test("the issue's case: zj's node reads a gz person's household register extract issued at gz, routed through national's and gd's, until gz revokes it", async (t) => {
  const person = await gzPerson();
  const gz = fed.url('gz-services');
  const admin = (method: 'POST' | 'GET', path: string, body?: unknown) =>
    callAdmin(fed.topology.get('gz-services'), fed.config.dataDir, method, path, body);
  const issued = (await admin('POST', '/admin/licenses', {
    type: 'household_register_extract',
    holder: { kind: 'natural', id_number: person.id_number, name: person.name },
    claims: {
      household_address: '广州市越秀区北京街道 1 号',
      household_head: person.name,
      relationship: '户主',
      registration_authority: '广州市公安局越秀区分局',
    },
  })) as { id: string };
  const attributes = ['name', 'household_address'];
  const extract = { holder: gz, dataset: 'license.household_register_extract', attributes, item: ITEM };
  const { consentPage, accessToken } = await consented(person, facts(extract), '30');
  t.true(
    consentPage!.html.includes('户籍证明') && consentPage!.html.includes('户籍地址'),
    'the consent page names the licence type and its claims',
  );
  const askExtract = () => ask(person, accessToken, extract);
  const served = await askExtract();
  t.is(served.status, 200, JSON.stringify(served.json));
  t.deepEqual(served.json.data, { name: person.name, household_address: '广州市越秀区北京街道 1 号' });
  const entries = await logged(String(served.json.request_id), ['zj-services', 'registries', 'gd-services', 'gz-services']);
  t.deepEqual(
    entries.map((e) => [e.node, e.role]),
    [
      ['zj-services', 'requester'],
      ['gz-services', 'holder'],
    ],
  );

  await admin('POST', `/admin/licenses/${issued.id}/revoke`, { reason: '户籍已迁出' });
  const revoked = await askExtract();
  t.is(revoked.status, 404);
  t.is(revoked.json.error, 'no_record', 'a revoked licence is no record');
});

test('a request replayed by a node, a route with a loop, and a request another node signed are refused', async (t) => {
  const person = await gzPerson();
  const { accessToken } = await consented(person, facts());
  const zj = fed.host.entities.find((e) => e.entity.id === 'zj-services')!.runtime;
  const gd = fed.host.entities.find((e) => e.entity.id === 'gd-services')!.runtime;
  const unsigned = {
    request_id: randomUUID(),
    route: [requester],
    holder,
    access_token: accessToken,
    subject: { kind: 'natural' as const, id_number: person.id_number },
    dataset: 'population-facts',
    attributes: ['name'],
    purpose: 'permit-application',
    item: ITEM,
    case: null,
  };
  const routed = { ...unsigned, origin: await signOrigin(zj, unsigned) };
  const hop = async (from: typeof zj, body: unknown) =>
    postAsEntity({ from: from.self.url, key: from.keyRing.signingKey(), to: holder, path: ROUTE_PATH, body, timeoutMs: 10_000 });
  t.is((await hop(zj, routed)).status, 200);
  const replayed = await hop(zj, routed);
  t.is(replayed.status, 409);
  t.is(replayed.json.error, 'request_replayed');

  const loop = await hop(zj, { ...routed, request_id: randomUUID(), route: [holder, requester] });
  t.is(loop.json.error, 'route_loop');
  // gd's node passes off a request as zj's: zj never signed it.
  const forged = await hop(gd, { ...routed, request_id: randomUUID(), route: [requester, fed.url('gd-services')] });
  t.is(forged.status, 401);
  t.is(forged.json.error, 'origin_invalid');
  const stranger = await fetch(`${holder}${ROUTE_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(routed),
  });
  t.is(stranger.status, 401, 'a caller without an entity assertion');
});
