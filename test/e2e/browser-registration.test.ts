/**
 * A real browser (Debian's Chromium through playwright-core) registers and logs in on the OP's
 * pages, finding every field by its label; openid-client is the relying party.
 */
import test from 'ava';
import type { Browser } from 'playwright-core';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson, relyingParty, type RelyingParty } from '../helpers/flows.ts';
import { browserTest, callbackEndpoint, fillRegistration, hasChromium, launchChromium, redeemAt, startAuthorization as startAt } from '../helpers/browser.ts';

let fed: TestFederation;
let browser: Browser;
let callback: { url: string; close(): void };
let callbackUrl: string;

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['zj', 'registries']);
  browser = await launchChromium();
  callback = await callbackEndpoint();
  callbackUrl = callback.url;
});

test.after.always(async () => {
  await browser?.close();
  callback?.close();
  await fed?.close();
});

const startAuthorization = (rp: RelyingParty) => startAt(rp, callbackUrl, 'openid profile phone');

browserTest('a person registers with their real name in a browser, then logs in with the password', async (t) => {
  const rp = await relyingParty(fed, 'zj', { redirect_uris: [callbackUrl], client_name: '浙江政务服务网门户' });
  const person = await newPerson(fed);
  const password = 'Browser-pass9';
  const context = await browser.newContext({ locale: 'zh-CN' });
  const page = await context.newPage();

  const first = await startAuthorization(rp);
  await page.goto(first.url);
  t.is(await page.getAttribute('html', 'lang'), 'zh-CN');
  await page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
  await fillRegistration(page, fed, person);
  // The form keeps what was typed (but never the password) across the code request.
  t.is(await page.getByLabel('姓名').inputValue(), person.name);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${callbackUrl}?**`);
  const tokens = await redeemAt(rp, page, first);
  t.is(tokens.claims()!.name, person.name);

  // Same person, another browser profile, English pages: identifier first, then the password.
  const other = await browser.newContext({ locale: 'en-US' });
  const page2 = await other.newPage();
  const second = await startAuthorization(rp);
  await page2.goto(second.url);
  t.is(await page2.getAttribute('html', 'lang'), 'en');
  await page2.getByLabel('ID number or mobile number').fill(person.id_number);
  await page2.getByRole('button', { name: 'Next' }).click();
  await page2.getByLabel('Password').fill('wrong-password1');
  await page2.getByRole('button', { name: 'Sign in' }).click();
  t.regex(await page2.getByRole('alert').innerText(), /Wrong account or password/);
  await page2.getByLabel('Password').fill(password);
  await page2.getByRole('button', { name: 'Sign in' }).click();
  await page2.waitForURL(`${callbackUrl}?**`);
  const again = await redeemAt(rp, page2, second);
  t.is(again.claims()!.sub, tokens.claims()!.sub);
  await context.close();
  await other.close();
});
