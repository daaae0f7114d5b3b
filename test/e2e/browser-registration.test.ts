/**
 * A real browser (Debian's Chromium through playwright-core) registers and logs in on the OP's
 * pages, finding every field by its label; openid-client is the relying party.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { latestOtp, newPerson, oidc, relyingParty, type RelyingParty } from '../helpers/flows.ts';

const CHROMIUM = '/usr/bin/chromium';
const browserTest = existsSync(CHROMIUM) ? test : test.skip;

let fed: TestFederation;
let browser: Browser;
let callbackServer: Server;
let callbackUrl: string;

test.before(async () => {
  if (!existsSync(CHROMIUM)) return;
  fed = await startTestFederation(['zj', 'registries']);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  // The relying portal's callback: a real endpoint the browser lands on.
  callbackServer = createServer((_req, res) => res.end('<!DOCTYPE html><title>portal</title><p>signed in</p>'));
  await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callbackServer.address() as { port: number }).port}/callback`;
});

test.after.always(async () => {
  await browser?.close();
  callbackServer?.close();
  await fed?.close();
});

async function startAuthorization(rp: RelyingParty) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await oidc.buildAuthorizationUrlWithPAR(rp.config, {
    redirect_uri: callbackUrl,
    scope: 'openid profile phone',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url: url.toString(), verifier, state };
}

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
  await page.getByLabel('姓名').fill(person.name);
  await page.getByLabel('居民身份证号码').fill(person.id_number);
  await page.getByLabel('手机号码').fill(person.phone);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await page.getByRole('status').waitFor();
  // The form keeps what was typed (but never the password) across the code request.
  t.is(await page.getByLabel('姓名').inputValue(), person.name);
  await page.getByLabel('短信验证码').fill(await latestOtp(fed, person.phone));
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${callbackUrl}?**`);
  const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(page.url()), { pkceCodeVerifier: first.verifier, expectedState: first.state });
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
  const again = await oidc.authorizationCodeGrant(rp.config, new URL(page2.url()), { pkceCodeVerifier: second.verifier, expectedState: second.state });
  t.is(again.claims()!.sub, tokens.claims()!.sub);
  await context.close();
  await other.close();
});
