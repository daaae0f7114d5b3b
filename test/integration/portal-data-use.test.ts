/**
 * The portal's "my data use" page (数据使用记录) over HTTP: a person of the hybrid province js
 * consents at js to a data request, and Nanjing's node reads their data from national's (through
 * Jiangsu's); signed in at the Nanjing portal they see the accesses (served and refused, with the
 * reason), and the consent, which they revoke there: the next request with it is refused. Without
 * a session, without the CSRF token, the page refuses; English on request.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent, type Page } from '../helpers/user-agent.ts';
import { newPerson, relyingParty, throughConsent } from '../helpers/flows.ts';
import { opSite, registerAt } from '../helpers/recognition-sites.ts';
import { consentAt, dataAccessDetail, requestData, trustMarksHeld } from '../helpers/exchange-flows.ts';

const PASSWORD = 'Passw0rd-gov';
let fed: TestFederation;

test.before(async () => {
  fed = await startTestFederation(['js', 'nj', 'nj-services', 'js-services', 'registries']);
  await trustMarksHeld(fed, ['js']);
});
test.after.always(async () => {
  await fed?.close();
});

/** Signs in at the Nanjing portal (at js) in `ua`; returns the portal's home page. */
async function portalSignIn(ua: UserAgent, identifier: string): Promise<Page> {
  const home = await ua.navigate(`${fed.url('nj')}/`);
  let page = await ua.submit(home, '/login', {});
  if (/\/identifier"/.test(page.html)) page = await ua.submit(page, '/identifier', { identifier });
  if (/\/password"/.test(page.html)) page = await ua.submit(page, '/password', { password: PASSWORD });
  return throughConsent(ua, page);
}

test('the person sees who used their data and revokes their consent on the portal', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'js'), person, PASSWORD);
  const node = fed.url('registries');
  const detail = {
    holder: node,
    requester: fed.url('nj-services'),
    dataset: 'population-facts',
    attributes: ['name', 'sex'],
    purpose: 'housing-fund',
    case: 'JS-2026-000007',
  };
  const { accessToken } = await consentAt(await relyingParty(fed, 'js'), new UserAgent(), {
    identifier: person.id_number,
    password: PASSWORD,
    details: [dataAccessDetail(detail)],
    mode: '90',
  });
  const { holder: _h, requester: _r, ...fields } = detail;
  const ask = (over = {}) =>
    requestData(fed, 'nj-services', {
      holder: node,
      access_token: accessToken!,
      subject: { kind: 'natural', id_number: person.id_number },
      ...fields,
      ...over,
    });
  t.is((await ask()).status, 200);
  t.is((await ask({ purpose: 'tax-filing' })).status, 403);

  const ua = new UserAgent();
  const home = await portalSignIn(ua, person.id_number);
  t.regex(home.html, /href="\/data-use"/, 'the home page links the data use');
  const page = await ua.navigate(`${fed.url('nj')}/data-use`);
  t.is(page.status, 200);
  for (const text of [
    '数据使用记录',
    '南京市政务服务（管理平台）',
    '人口基础信息',
    '姓名、性别',
    '住房公积金缴存与提取',
    'JS-2026-000007',
    '已提供',
    '已拒绝：超出授权的用途',
    '基础库与共享交换平台（演示）',
  ])
    t.true(page.html.includes(text), `the page shows ${text}`);
  t.false(page.html.includes(person.id_number), 'never the ID number');
  t.is((page.html.match(/<section class="record"/g) ?? []).length, 3, 'two accesses and one consent');

  const english = await ua.navigate(`${fed.url('nj')}/data-use?lang=en`);
  for (const text of ['My data use', 'Population facts', 'Name、Sex', 'Refused: a purpose you had not consented to', 'Revoke consent'])
    t.true(english.html.includes(text), text);

  const noCsrf = await ua.navigate(`${fed.url('nj')}${/action="(\/data-use\/consents\/[^"]+\/revoke)"/.exec(page.html)![1]}`, {
    form: { csrf: 'x' },
  });
  t.is(noCsrf.status, 403);
  const revoked = await ua.submit(page, '/revoke', {});
  t.is(revoked.status, 200);
  t.true(revoked.html.includes('已撤销该授权'));
  t.true(revoked.html.includes('已撤销'), 'the consent now shows as revoked');
  t.false(/action="\/data-use\/consents\/[^"]+\/revoke"/.test(revoked.html), 'no revoke button any more');
  const after = await ask();
  t.is(after.status, 403);
  t.is(after.json.error, 'consent_revoked');

  const stranger = await new UserAgent().navigate(`${fed.url('nj')}/data-use`);
  t.is(stranger.status, 401, 'no session, no data use');
  t.true(stranger.html.includes('请重新登录'));
});
