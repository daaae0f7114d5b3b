/**
 * 我的 over HTTP with access tokens from real OP logins: the profile with the real-name level and
 * how to raise it, my cases with the stages I may rate, my notices (each saying why it was sent:
 * case steps, what to do next after a case, an item I applied for that changed) and the
 * categories I turn off.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { casesApi, personWithToken, type CasesApi } from '../helpers/cases-api.ts';
import type { Person } from '../helpers/flows.ts';
import { callAdmin } from '../../infra/admin-client.ts';
import { until } from '../helpers/until.ts';
import { closedCase, GUANGZHOU } from '../helpers/voice-api.ts';

const CITY = GUANGZHOU;
const SERVICES = CITY.services;
const { police: POLICE, birthRegistration: BIRTH_REGISTRATION } = CITY;
type Who = { token: string; person: Person };
interface Notice {
  category: string;
  text: string;
  reason: string;
  link: Record<string, string>;
}

let fed: TestFederation;
let api: CasesApi;
let person: Who;
let officer: Who;

test.before(async () => {
  fed = await startTestFederation(['gz', 'registries', SERVICES]);
  api = casesApi(fed, SERVICES);
  person = await personWithToken(fed, 'gz', SERVICES);
  await until(async () => (await api.call('GET', '/me', { token: person.token })).status === 200, 'gz trusted with service tokens', 60_000);
  officer = await personWithToken(fed, 'gz', SERVICES);
  await api.grant(officer.person.id_number, POLICE, 'decider,sender');
});
test.after.always(async () => {
  await fed?.close();
});

const notices = async () =>
  (await api.call('GET', '/my/notices', { token: person.token })).json as { settings: Record<string, boolean>; notices: Notice[] };
const admin = (method: string, path: string, body?: unknown) =>
  callAdmin(fed.topology.get(SERVICES), fed.config.dataDir, method as 'POST', path, body);

test.serial('my profile says my real-name level and how to raise it', async (t) => {
  const res = await api.call('GET', '/my/profile', { token: person.token });
  t.is(res.status, 200, JSON.stringify(res.json));
  t.is(res.headers.get('cache-control'), 'no-store');
  t.like(res.json, { name: person.person.name, level: 'loa1', loa: { level: 'loa1', next: { level: 'loa2' } } });
  t.regex(String(res.json.phone), /^\d{3}\*{4}\d{4}$/);
  t.regex(String((res.json.loa as { next: { how: { 'zh-CN': string } } }).next.how['zh-CN']), /实人核验/);
  t.is((await api.call('GET', '/my/profile')).status, 401);
  t.deepEqual((await api.call('GET', '/my/licences', { token: person.token })).json, { licences: [] });
});

test.serial('my cases show which stages I may rate; my notices say why each was sent', async (t) => {
  const number = await closedCase(api, CITY, person, officer);
  const cases = (await api.call('GET', '/my/cases', { token: person.token })).json.cases as {
    number: string;
    rating: Record<string, string>;
  }[];
  t.deepEqual(cases.find((c) => c.number === number)!.rating, { acceptance: 'open', closure: 'open' });
  t.is((await api.call('POST', '/ratings', { token: person.token, body: { case_number: number, level: 5 } })).status, 201);
  const after = (await api.call('GET', '/my/cases', { token: person.token })).json.cases as {
    number: string;
    rating: Record<string, string>;
  }[];
  t.is(after.find((c) => c.number === number)!.rating.closure, 'rated');

  const { notices: list, settings } = await notices();
  t.deepEqual(settings, { replies: true, case_suggestions: true, item_changes: true, licence_expiry: true });
  t.true(list.some((n) => n.category === 'case_progress' && n.text.includes(number) && n.text.includes('已办结')));
  t.true(list.some((n) => n.category === 'replies' && n.text.includes(number) && n.reason.includes('评价')));
  const next = list.find((n) => n.category === 'case_suggestions' && n.link.case === number)!;
  t.truthy(next, JSON.stringify(list));
  t.regex(next.text, /您可能还需要办理：.*需准备/);
  t.regex(next.reason, /出生登记/);
  t.is((await notices()).notices.filter((n) => n.category === 'case_suggestions' && n.link.case === number).length, 1, 'posted once');

  // Categories turned off are not shown; replies always come.
  const off = await api.call('PUT', '/my/notice-settings', { token: person.token, body: { case_suggestions: false } });
  t.is(off.status, 200, JSON.stringify(off.json));
  t.false((await notices()).notices.some((n) => n.category === 'case_suggestions'));
  const refused = await api.call('PUT', '/my/notice-settings', { token: person.token, body: { replies: false } });
  t.like(refused, { status: 400, json: { error: 'category_required' } });
  const unknown = await api.call('PUT', '/my/notice-settings', { token: person.token, body: { spam: false } });
  t.like(unknown, { status: 400, json: { error: 'invalid_request' } });
  t.is((await notices()).settings.case_suggestions, false);
  await api.call('PUT', '/my/notice-settings', { token: person.token, body: { case_suggestions: true } });
});

test.serial('a change to an item I applied for comes as a notice naming what changed', async (t) => {
  const item = ((await api.call('GET', `/catalog/items/${BIRTH_REGISTRATION}`)).json as { item: Record<string, unknown> }).item;
  const draft = (await admin('POST', '/admin/catalog/changes', {
    actor: POLICE,
    person: '甲',
    kind: 'implementation',
    item: { ...item, hours: '周一至周六 9:00-17:30（法定节假日除外）' },
  })) as { id: string };
  await admin('POST', `/admin/catalog/changes/${draft.id}/submit`, { actor: POLICE, person: '甲' });
  await admin('POST', `/admin/catalog/changes/${draft.id}/approve`, { actor: POLICE, person: '乙' });
  const change = (await notices()).notices.find((n) => n.category === 'item_changes')!;
  t.truthy(change);
  t.regex(change.text, /出生登记.*第 2 版.*办理时间/);
  t.regex(change.reason, /您申请过该事项/);

  await api.call('PUT', '/my/notice-settings', { token: person.token, body: { item_changes: false } });
  t.false((await notices()).notices.some((n) => n.category === 'item_changes'));
});
