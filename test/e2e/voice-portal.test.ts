/**
 * A real browser on a phone-sized screen (390 px), scripts off, at the Nanjing portal: a person
 * registered at the province rates a closed case "very dissatisfied" with a complaint, finding
 * every field by its label; the authority answers; the person sees the outcome and says they are
 * satisfied; then asks about an item from its guide and takes the answer offered. No page breaks
 * the CSP or scrolls sideways. Screenshots go to test-output/screenshots/.
 */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { browserTest, fillRegistration, hasChromium, launchChromium } from '../helpers/browser.ts';
import { newPerson } from '../helpers/flows.ts';
import { PASSWORD, serviceToken } from '../helpers/service-tokens.ts';
import { casesApi, personWithToken, type CasesApi } from '../helpers/cases-api.ts';
import { until } from '../helpers/until.ts';
import { closedCase, NANJING } from '../helpers/voice-api.ts';

const CITY = NANJING;
const SERVICES = CITY.services;
const { police: POLICE, birthRegistration: BIRTH_REGISTRATION } = CITY;
const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'screenshots');
const PHONE = { width: 390, height: 844 };

let fed: TestFederation;
let browser: Browser;
let api: CasesApi;
let portalUrl: string;

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['js', 'nj', 'registries']);
  api = casesApi(fed, SERVICES);
  portalUrl = fed.url('nj');
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.after.always(async () => {
  await browser?.close();
  await fed?.close();
});

browserTest('on a phone, scripts off: rate a case with a complaint, see the outcome, ask from a guide', async (t) => {
  const person = await newPerson(fed);
  const context = await browser.newContext({ locale: 'zh-CN', viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  const fits = async (name: string) => {
    t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), page.url());
    await page.screenshot({ path: join(SCREENSHOTS, `voice-${name}-390.png`), fullPage: true });
  };
  const heading = (p: Page) => p.getByRole('heading', { level: 1 }).innerText();

  // Registered and signed in at the portal through the province's pages.
  await page.goto(`${portalUrl}/`);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${fed.url('js')}/**`);
  await page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
  await fillRegistration(page, fed, person);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${portalUrl}/`);

  // A case of theirs, run to its end by the police's staff over the API.
  const { accessToken } = await serviceToken(fed, { op: 'js', resource: fed.url(SERVICES), person });
  await until(async () => (await api.call('GET', '/me', { token: accessToken })).status === 200, 'js trusted with service tokens', 60_000);
  const staff = await personWithToken(fed, 'js', SERVICES);
  await api.grant(staff.person.id_number, POLICE, 'decider,sender,rectifier');
  const number = await closedCase(api, CITY, { token: accessToken }, staff);

  // My space → rate the closure.
  await page.getByRole('link', { name: /我的空间/ }).click();
  t.is(await heading(page), '我的空间');
  t.true(await page.getByText('实名用户（L3）').isVisible());
  await fits('my-space');
  await page.getByRole('link', { name: '办结评价' }).click();
  t.is(await heading(page), '评价办件');
  await page.getByRole('radio', { name: '非常不满意' }).check();
  await page.getByLabel('办事效率').selectOption({ label: '不满意' });
  await page.getByLabel('评价内容').fill('排队两个小时 <3');
  await page.getByLabel('投诉').fill('窗口要求提交办事指南没有列出的材料。');
  await fits('rate');
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.waitForURL(`${portalUrl}/my/ratings`);
  t.true(await page.getByText('排队两个小时 <3').isVisible(), 'shown as typed, escaped');
  t.true(await page.getByText('整改中').first().isVisible());
  await fits('my-ratings');

  // The authority calls back and resolves; the person sees the outcome and is satisfied.
  const task = (
    (await api.call('GET', '/staff/rectifications', { token: staff.token })).json.tasks as { id: string; case_number: string }[]
  ).find((x) => x.case_number === number)!;
  const step = (name: string, body: unknown) => api.call('POST', `/staff/rectifications/${task.id}/${name}`, { token: staff.token, body });
  t.is((await step('call_back', { reached: true, note: '已电话回访。' })).status, 200);
  t.is((await step('resolve', { resolution: 'fixed_now', explanation: '已按办事指南收取材料，并向您致歉。' })).status, 200);
  await page.reload();
  t.true(await page.getByText('已按办事指南收取材料，并向您致歉。').first().isVisible());
  await page.getByRole('button', { name: '满意', exact: true }).click();
  await page.waitForURL(`${portalUrl}/my/ratings`);
  t.true(await page.getByText('已办结').first().isVisible());

  // 我要问 from the item's guide: the guide's materials answer it.
  await page.goto(`${portalUrl}/items/${BIRTH_REGISTRATION}`);
  await page.getByRole('link', { name: '对本事项有疑问？我要问' }).click();
  t.is(await heading(page), '我要问');
  await page.getByLabel('问题').fill('办理出生登记需要带什么材料？');
  await fits('ask');
  await page.getByRole('button', { name: '提交问题' }).click();
  t.is(await heading(page), '这些解答也许能帮到您');
  t.true(
    await page
      .getByText(/出生医学证明/)
      .first()
      .isVisible(),
  );
  await fits('offered');
  await page.getByRole('button', { name: '问题已解决' }).click();
  await page.waitForURL(`${portalUrl}/my/questions`);
  t.true(await page.getByText('已自助解决').isVisible());
  t.deepEqual(cspViolations, []);
  await context.close();
});
