/**
 * A real browser (Debian's Chromium), scripts off, on a phone-sized screen (390 px), at the
 * Nanjing portal: the public verify page (its platform's services entity verifying licences the
 * national node issued) takes a pasted licence and an uploaded file and says which check a
 * revoked one fails; a person signs in, gets demo licences in 我的证照, opens one
 * (its QR code shown), shares two of its claims, and the presentation verifies on the verify page
 * for that verifier and nonce. Nothing breaks the CSP or the screen's width. Screenshots go to
 * test-output/screenshots/.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { callAdmin } from '../../infra/admin-client.ts';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { browserTest, fillRegistration, hasChromium, launchChromium } from '../helpers/browser.ts';
import { newPerson } from '../helpers/flows.ts';
import { issueLicense, untilTrustMarked } from '../helpers/licenses.ts';

const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'screenshots');
const PHONE = { width: 390, height: 844 };

let fed: TestFederation;
let browser: Browser;
let portal: string;
let scratch: string;

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['js', 'nj', 'nj-services', 'registries']);
  portal = fed.url('nj');
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), 'gov-id-e2e-licences-'));
  await untilTrustMarked(fed, 'js');
});

test.after.always(async () => {
  await browser?.close();
  await fed?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A phone-sized context without scripts, its pages' CSP violations collected. */
async function phone(): Promise<{ context: BrowserContext; page: Page; violations: string[] }> {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  return { context, page, violations };
}

const heading = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();
const fitsTheScreen = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

browserTest('the verify page: a pasted licence verifies, an uploaded revoked one fails at the status check', async (t) => {
  const person = await newPerson(fed);
  const valid = await issueLicense(fed, 'registries', person);
  const revoked = await issueLicense(fed, 'registries', person);
  await callAdmin(fed.topology.get('registries'), fed.config.dataDir, 'POST', `/admin/licenses/${revoked.id}/revoke`, { reason: '注销' });
  const { context, page, violations } = await phone();

  await page.goto(`${portal}/`);
  await page.getByRole('link', { name: '证照核验' }).click();
  t.is(await heading(page), '证照核验');
  await page.getByLabel('证照内容').fill(valid.credential);
  await page.getByRole('button', { name: '核验', exact: true }).click();
  await page.waitForURL(`${portal}/licenses/verify`);
  t.is(await heading(page), '核验通过');
  t.true(await page.getByText(person.name, { exact: true }).isVisible());
  t.true(await fitsTheScreen(page), 'the result fits the screen');
  await page.screenshot({ path: join(SCREENSHOTS, 'license-verified-390.png'), fullPage: true });

  const file = join(scratch, 'revoked.sd-jwt');
  writeFileSync(file, revoked.credential);
  await page.getByLabel('或上传证照文件').setInputFiles(file);
  await page.getByRole('button', { name: '核验', exact: true }).click();
  await page.waitForURL(`${portal}/licenses/verify`);
  t.is(await heading(page), '核验未通过');
  t.true(await page.getByRole('alert').getByText('该证照已被签发机关注销').isVisible());
  t.true(await page.getByText('证照状态', { exact: true }).isVisible(), 'the failed check named');
  t.true(await fitsTheScreen(page));
  await page.screenshot({ path: join(SCREENSHOTS, 'license-revoked-390.png'), fullPage: true });
  t.deepEqual(violations, []);
  await context.close();
});

browserTest('我的证照: sign in, get demo licences, open one with its QR code, share two claims, verify the presentation', async (t) => {
  const person = await newPerson(fed);
  const { context, page, violations } = await phone();

  await page.goto(`${portal}/licenses`);
  t.true(await page.getByText('请先登录，才能查看您的电子证照。').isVisible());
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${fed.url('js')}/**`);
  await page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
  await fillRegistration(page, fed, person);
  await page.getByLabel('密码').fill('Licence-browser9');
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${portal}/`);

  await page.getByRole('link', { name: '我的证照' }).click();
  t.is(await heading(page), '我的证照');
  await page.getByRole('button', { name: '领取演示证照' }).click();
  await page.waitForURL(`${portal}/licenses`);
  t.true(await page.getByRole('link', { name: '居民身份证' }).isVisible());
  t.true(await fitsTheScreen(page));
  await page.screenshot({ path: join(SCREENSHOTS, 'licenses-mine-390.png'), fullPage: true });

  await page.getByRole('link', { name: '户籍证明' }).click();
  t.is(await heading(page), '户籍证明');
  t.true(await page.getByText(person.id_number, { exact: true }).isVisible(), "the holder's own view");
  const qr = page.getByRole('img', { name: '核验本证照的二维码' });
  t.true(await qr.isVisible());
  t.true(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the QR code renders under the CSP');
  t.true(await fitsTheScreen(page));
  await page.screenshot({ path: join(SCREENSHOTS, 'license-page-390.png'), fullPage: true });

  await page.getByRole('link', { name: '出示（选择性披露）' }).click();
  await page.getByLabel('姓名/名称').check();
  await page.getByLabel('户籍地址').check();
  await page.getByLabel('验证方（对方的名称或网址）').fill('南京市某银行');
  await page.getByLabel('验证方提供的随机码').fill('bank-0042');
  await page.getByRole('button', { name: '生成出示凭证' }).click();
  t.is(await heading(page), '证照出示凭证');
  const presentation = (await page.getByLabel('证照出示凭证').inputValue()).trim();
  t.true(await fitsTheScreen(page));

  await page.goto(`${portal}/licenses/verify`);
  await page.getByLabel('证照内容').fill(presentation);
  await page.getByLabel('验证方（核验出示凭证时填写').fill('南京市某银行');
  await page.getByLabel('随机码（核验出示凭证时填写）').fill('bank-0042');
  await page.getByRole('button', { name: '核验', exact: true }).click();
  t.is(await heading(page), '核验通过');
  t.true(await page.getByText(person.name, { exact: true }).isVisible());
  t.false(await page.getByText(person.id_number).isVisible(), 'the ID number was not shared');
  t.true(await page.getByText('由持证人本人出示').isVisible());
  await page.screenshot({ path: join(SCREENSHOTS, 'license-presentation-verified-390.png'), fullPage: true });
  t.deepEqual(violations, []);
  await context.close();
});
