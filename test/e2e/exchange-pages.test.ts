/**
 * A real browser (Debian's Chromium) on a 390-pixel screen with scripts off, under the strict CSP:
 * the OP's consent page for a data request names the requesting authority, the holding node, the
 * dataset, the data items, the purpose and the case, and the person picks how long by its label;
 * then, signed in at the Nanjing portal, "my data use" lists the access and the consent, which
 * they revoke with its button. Screenshots go to test-output/screenshots/.
 */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { browserTest, callbackEndpoint, hasChromium, launchChromium } from '../helpers/browser.ts';
import { newPerson, oidc, relyingParty } from '../helpers/flows.ts';
import { opSite, registerAt } from '../helpers/recognition-sites.ts';
import { dataAccessDetail, requestData, trustMarksHeld } from '../helpers/exchange-flows.ts';

const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'screenshots');
const PHONE = { width: 390, height: 844 };
const PASSWORD = 'Passw0rd-gov';

let fed: TestFederation;
let browser: Browser;
let callback: { url: string; close(): void };

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['js', 'nj', 'nj-services', 'js-services', 'registries']);
  browser = await launchChromium();
  callback = await callbackEndpoint();
  mkdirSync(SCREENSHOTS, { recursive: true });
  await trustMarksHeld(fed, ['js']);
});
test.after.always(async () => {
  await browser?.close();
  callback?.close();
  await fed?.close();
});

async function phonePage(t: { true(v: boolean, m?: string): void }) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  const fits = async (page: Page) =>
    t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), page.url());
  return { context, page, cspViolations, fits };
}

browserTest('the consent page, then "my data use" with a revoke, on a phone without scripts', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'js'), person, PASSWORD);
  const node = fed.url('registries');
  const detail = {
    holder: node,
    requester: fed.url('nj-services'),
    dataset: 'population-facts',
    attributes: ['name', 'birth_date'],
    purpose: 'social-insurance',
    case: 'JS-2026-000123',
  };
  const rp = await relyingParty(fed, 'js', { redirect_uris: [callback.url] });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(rp.config, {
    redirect_uri: callback.url,
    scope: 'openid profile',
    resource: node,
    authorization_details: JSON.stringify([dataAccessDetail(detail)]),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  const { context, page, cspViolations, fits } = await phonePage(t);
  await page.goto(url.toString());
  await page.getByLabel('身份证号或手机号').fill(person.id_number);
  await page.getByRole('button', { name: '下一步' }).click();
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录', exact: true }).click();

  // The consent page.
  await page.getByRole('heading', { name: '数据共享授权' }).waitFor();
  const requested = page.locator('dl.data-request');
  for (const [term, value] of [
    ['申请机构', '南京市政务服务（管理平台）'],
    ['数据提供方', '基础库与共享交换平台（演示）'],
    ['数据集', '人口基础信息'],
    ['数据项', '姓名、出生日期'],
    ['用途', '社会保险参保与待遇'],
    ['办件编号', 'JS-2026-000123'],
  ])
    t.is(await requested.locator(`dt:text-is("${term}") + dd`).innerText(), value);
  t.true(await page.getByLabel('仅本次使用').isChecked(), 'once is the default');
  await fits(page);
  await page.screenshot({ path: join(SCREENSHOTS, 'op-data-consent-390.png'), fullPage: true });
  await page.getByLabel('90 天内有效').check();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${callback.url}?**`);
  const tokens = await oidc.authorizationCodeGrant(
    rp.config,
    new URL(page.url()),
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
    { resource: node },
  );
  const { holder: _h, requester: _r, ...fields } = detail;
  const ask = () =>
    requestData(fed, 'nj-services', {
      holder: node,
      access_token: tokens.access_token,
      subject: { kind: 'natural', id_number: person.id_number },
      ...fields,
    });
  t.is((await ask()).status, 200);

  // My data use, at the Nanjing portal: the same browser is signed in at js already.
  const portal = fed.url('nj');
  await page.goto(`${portal}/`);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${portal}/`);
  await page.getByRole('link', { name: '数据使用记录' }).click();
  await page.waitForURL(`${portal}/data-use`);
  t.is(await page.getByRole('heading', { level: 1 }).innerText(), '数据使用记录');
  const access = page.locator('section.record').first();
  t.is(await access.locator('dt:text-is("结果") + dd').innerText(), '已提供');
  t.is(await access.locator('dt:text-is("用途") + dd').innerText(), '社会保险参保与待遇');
  await fits(page);
  await page.screenshot({ path: join(SCREENSHOTS, 'portal-data-use-390.png'), fullPage: true });

  await page.getByRole('button', { name: '撤销授权' }).click();
  await page.getByRole('status').waitFor();
  t.is(await page.getByRole('status').innerText(), '已撤销该授权：此后凭它提出的数据请求都将被拒绝。');
  t.is(await page.getByRole('button', { name: '撤销授权' }).count(), 0);
  t.is((await ask()).json.error, 'consent_revoked');
  t.deepEqual(cspViolations, []);
  await context.close();
});
