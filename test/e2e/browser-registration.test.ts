/**
 * A real browser (Debian's Chromium through playwright-core) registers and logs in on the OP's
 * pages, finding every field by its label; openid-client is the relying party.
 */
import { newPerson, relyingParty, type RelyingParty } from '../helpers/flows.ts';
import { browserFederation, browserTest, fillRegistration, redeemAt, startAuthorization as startAt } from '../helpers/browser.ts';

const env = browserFederation(['zj', 'registries']);

const startAuthorization = (rp: RelyingParty) => startAt(rp, env.callbackUrl, 'openid profile phone');

browserTest('a person registers with their real name in a browser, then logs in with the password', async (t) => {
  const rp = await relyingParty(env.fed, 'zj', { redirect_uris: [env.callbackUrl], client_name: '浙江政务服务网门户' });
  const person = await newPerson(env.fed);
  const password = 'Browser-pass9';
  const context = await env.browser.newContext({ locale: 'zh-CN' });
  const page = await context.newPage();

  const first = await startAuthorization(rp);
  await page.goto(first.url);
  t.is(await page.getAttribute('html', 'lang'), 'zh-CN');
  await page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
  await fillRegistration(page, env.fed, person);
  // The form keeps what was typed (but never the password) across the code request.
  t.is(await page.getByLabel('姓名').inputValue(), person.name);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL(`${env.callbackUrl}?**`);
  const tokens = await redeemAt(rp, page, first);
  t.is(tokens.claims()!.name, person.name);

  // Same person, another browser profile, English pages: identifier first, then the password.
  const other = await env.browser.newContext({ locale: 'en-US' });
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
  await page2.waitForURL(`${env.callbackUrl}?**`);
  const again = await redeemAt(rp, page2, second);
  t.is(again.claims()!.sub, tokens.claims()!.sub);
  await context.close();
  await other.close();
});
