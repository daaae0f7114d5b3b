/**
 * A real browser (Debian's Chromium through playwright-core) at the relying portal of a hybrid
 * city (nj): 登录 takes it to the province OP (js), where the person registers with their real
 * name, finding every field by its label; back at the portal the home page greets them, and 退出
 * signs them out at the portal and the OP. No page may break the CSP.
 */
import test from 'ava';
import type { Browser } from 'playwright-core';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson } from '../helpers/flows.ts';
import { browserTest, fillRegistration, hasChromium, launchChromium } from '../helpers/browser.ts';

let fed: TestFederation;
let browser: Browser;
let portalUrl: string;

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['national', 'js', 'nj', 'registries']);
  portalUrl = fed.url('nj');
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  await fed?.close();
});

browserTest('a person signs in at the city portal with real-name registration at the province, then signs out', async (t) => {
  const person = await newPerson(fed);
  const context = await browser.newContext({ locale: 'zh-CN' });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });

  await page.goto(`${portalUrl}/`);
  t.is(await page.getAttribute('html', 'lang'), 'zh-CN');
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), '南京市政务服务');
  // The stylesheet is the portal's own and applies (the header is painted in the city's colour, #0b5394).
  t.is(await page.locator('header.site').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(11, 83, 148)');
  await page.getByRole('button', { name: '登录', exact: true }).click();

  // The province OP's pages.
  await page.waitForURL(`${fed.url('js')}/**`);
  await page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
  await fillRegistration(page, fed, person);
  await page.getByLabel('密码').fill('Portal-browser9');
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();

  // Back at the portal, signed in.
  await page.waitForURL(`${portalUrl}/`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), `${person.name}，您好`);
  t.is(await page.getByRole('definition').first().innerText(), person.name);
  t.true(await page.locator('dl.claims').getByText('自然人', { exact: true }).isVisible());
  const cookies = await context.cookies(portalUrl);
  const session = cookies.find((c) => c.name === 'gov_id_nj_session');
  t.truthy(session);
  t.true(session!.httpOnly);
  t.is(session!.sameSite, 'Lax');

  // 退出: the portal, then the OP (which asks for confirmation), then home again, signed out.
  await page.getByRole('button', { name: '退出' }).click();
  await page.waitForURL(`${fed.url('js')}/**`);
  await page.getByRole('button', { name: '确认退出' }).click();
  await page.waitForURL(`${portalUrl}/`);
  t.true(await page.getByRole('button', { name: '登录', exact: true }).isVisible());
  t.falsy((await context.cookies(portalUrl)).find((c) => c.name === 'gov_id_nj_session'));

  // English on request.
  await page.getByRole('link', { name: 'English' }).click();
  t.is(await page.getAttribute('html', 'lang'), 'en');
  t.true(await page.getByRole('button', { name: 'Sign in', exact: true }).isVisible());
  t.deepEqual(cspViolations, []);
  await context.close();
});
