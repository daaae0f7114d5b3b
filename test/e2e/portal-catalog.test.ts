/**
 * A real browser on a phone-sized screen (390 px wide) at the Nanjing portal: it searches from the
 * home page's form, opens a guide from the results and reads it without scrolling sideways, all
 * under the strict CSP and without scripts. Screenshots go to test-output/screenshots/ (ignored by
 * git) for a person to look at.
 */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { browserTest, hasChromium, launchChromium } from '../helpers/browser.ts';

const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'screenshots');
const PHONE = { width: 390, height: 844 };

let fed: TestFederation;
let browser: Browser;
let portalUrl: string;

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['nj', 'nj-services']);
  portalUrl = fed.url('nj');
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.after.always(async () => {
  await browser?.close();
  await fed?.close();
});

browserTest('on a 390-pixel screen a person searches, opens a guide and reads it, with scripts off', async (t) => {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  const fitsTheScreen = async () =>
    t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), page.url());

  await page.goto(`${portalUrl}/`);
  await fitsTheScreen();
  await page.screenshot({ path: join(SCREENSHOTS, 'portal-home-390.png'), fullPage: true });

  await page.getByLabel('查找办事事项').fill('身份证');
  await page.getByRole('button', { name: '搜索', exact: true }).click();
  await page.waitForURL(`${portalUrl}/search?q=*`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), '搜索结果');
  await fitsTheScreen();
  await page.screenshot({ path: join(SCREENSHOTS, 'portal-search-390.png'), fullPage: true });

  await page.getByRole('link', { name: '居民身份证换领' }).first().click();
  await page.waitForURL(`${portalUrl}/items/*`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), '居民身份证换领办事指南');
  t.true(await page.getByText('申请材料', { exact: true }).isVisible());
  await fitsTheScreen();
  await page.screenshot({ path: join(SCREENSHOTS, 'portal-guide-390.png'), fullPage: true });

  t.deepEqual(cspViolations, []);
  await context.close();
});
