/**
 * A real browser at the portal of a province (Guangdong, separate mode): on a 390-pixel screen
 * with scripts off it searches, sees which platform handles each item (its own, or national's held
 * through the feed), opens a guide and browses the province's own items, nothing wider than the
 * screen; then it signs in at Guangdong's OP, which accepts the portal by automatic registration,
 * registering with a real name. Screenshots go to test-output/screenshots/ (ignored by git).
 */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { pullCatalogFeeds } from '../helpers/catalog-feeds.ts';
import { newPerson } from '../helpers/flows.ts';
import { browserTest, fillRegistration, hasChromium, launchChromium } from '../helpers/browser.ts';

const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'screenshots');
const PHONE = { width: 390, height: 844 };

let fed: TestFederation;
let browser: Browser;
let portalUrl: string;

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['gd-portal', 'gd-services', 'registries']);
  await pullCatalogFeeds(fed, ['gd-services']);
  portalUrl = fed.url('gd-portal');
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.after.always(async () => {
  await browser?.close();
  await fed?.close();
});

function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  return violations;
}

browserTest('on a phone, with scripts off, a person finds items of the province and of national, and reads a guide', async (t) => {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  const csp = watchCsp(page);
  const fitsTheScreen = async () =>
    t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), page.url());

  await page.goto(`${portalUrl}/`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), '广东省政务服务网');
  t.true(await page.getByText('登录和实名注册由 广东省政务服务网 统一身份认证提供。').isVisible());
  await fitsTheScreen();
  await page.screenshot({ path: join(SCREENSHOTS, 'province-portal-home-390.png'), fullPage: true });

  await page.getByLabel('查找办事事项').fill('个人所得税');
  await page.getByRole('button', { name: '搜索', exact: true }).click();
  await page.waitForURL(`${portalUrl}/search?q=*`);
  const results = page.locator('ol.results > li');
  // The province's own item first-hand; national's says where it is handled, by name.
  t.true(await results.filter({ hasText: '国家税务总局广东省税务局' }).first().isVisible());
  t.true(await page.getByText('本事项由国家政务服务平台的国家税务总局办理（国家级）。').isVisible());
  t.notRegex(await page.content(), /http:\/\/127\.0\.0\.1/);
  await fitsTheScreen();
  await page.screenshot({ path: join(SCREENSHOTS, 'province-portal-search-390.png'), fullPage: true });

  await results.filter({ hasText: '国家税务总局广东省税务局' }).first().getByRole('link').click();
  await page.waitForURL(`${portalUrl}/items/*`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), '个人所得税综合所得汇算清缴办事指南');
  t.true(await page.getByText('申请材料', { exact: true }).isVisible());
  await fitsTheScreen();
  await page.screenshot({ path: join(SCREENSHOTS, 'province-portal-guide-390.png'), fullPage: true });

  await page.goto(`${portalUrl}/`);
  await page.getByRole('link', { name: '本省办理的事项' }).click();
  await page.waitForURL(`${portalUrl}/browse?platform=gd`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), '浏览事项：广东省政务服务网');
  t.true(await page.getByRole('link', { name: '广东省人才优粤卡申领' }).isVisible());
  t.is(await page.locator('.where.other').count(), 0, "every item listed is the province's own");
  await fitsTheScreen();
  t.deepEqual(csp, []);
  await context.close();
});

browserTest('a person signs in at the province portal, registering with a real name at the province OP', async (t) => {
  const person = await newPerson(fed);
  const context = await browser.newContext({ locale: 'zh-CN' });
  const page = await context.newPage();
  const csp = watchCsp(page);
  await page.goto(`${portalUrl}/`);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${fed.url('gd')}/**`);
  await page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
  await fillRegistration(page, fed, person);
  await page.getByLabel('密码').fill('Province-portal9');
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${portalUrl}/`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), `${person.name}，您好`);
  t.true(await page.locator('dl.claims').getByText('自然人', { exact: true }).isVisible());
  const session = (await context.cookies(portalUrl)).find((c) => c.name === 'gov_id_gd-portal_session');
  t.truthy(session);
  t.true(session!.httpOnly);
  // Signed in, the catalog is still there.
  t.true(await page.getByLabel('查找办事事项').isVisible());
  t.deepEqual(csp, []);
  await context.close();
});
