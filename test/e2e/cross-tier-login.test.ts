/**
 * Mutual recognition in a real browser (Debian's Chromium through playwright-core), across the
 * three build modes of the demo federation. A person registers at the unified province zj through
 * its own pages (and signs out there); in the same browser they sign in at the Nanjing portal
 * (hybrid province js), where the brokers (js → national → zj) take the browser to zj's password
 * page and back; a second cross-tier visit (province gd, separate mode) asks for no password; 退出
 * at the portal ends the sessions along the chain, so the next login asks for zj's password again.
 * Real browsers honour cookie paths, the CSP and self-submitting forms: no page may break the CSP.
 */
import type { Page } from 'playwright-core';
import { newPerson, relyingParty, type RelyingParty } from '../helpers/flows.ts';
import { homePublished } from '../helpers/recognition-sites.ts';
import { browserFederation, browserTest, fillRegistration, redeemAt, startAuthorization as startAt } from '../helpers/browser.ts';

const env = browserFederation(['gd', 'zj', 'nj', 'registries']);

const startAuthorization = (rp: RelyingParty) => startAt(rp, env.callbackUrl);

/** The documents the browser fetched (redirects included), most recent last: shown when a step fails. */
const trail: string[] = [];
const lastSteps = () =>
  trail
    .slice(-14)
    .map((l) => `  ${l}`)
    .join('\n');

type UrlTest = (url: URL) => boolean;
const onOrigin =
  (base: string): UrlTest =>
  (url) =>
    url.origin === new URL(base).origin;
const atCallback: UrlTest = (url) => url.href.startsWith(`${env.callbackUrl}?`);
const at =
  (exact: string): UrlTest =>
  (url) =>
    url.href === exact;

/** Waits until the browser shows a page whose URL passes `where`, or fails with what it shows instead. */
async function arriveAt(page: Page, where: UrlTest, what: string): Promise<void> {
  try {
    await page.waitForURL(where, { timeout: 8000 });
  } catch {
    const text = await page
      .locator('body')
      .innerText()
      .catch(() => '(no body)');
    throw new Error(`expected ${what}; the browser shows ${page.url()}:\n${text.slice(0, 1000)}\nafter:\n${lastSteps()}`);
  }
}

/** Waits until the page shows the field labelled `label`, or fails with what the browser shows instead. */
async function showsField(page: Page, label: string, what: string) {
  const field = page.getByLabel(label, { exact: true });
  try {
    await field.waitFor({ timeout: 8000 });
  } catch {
    const text = await page
      .locator('body')
      .innerText()
      .catch(() => '(no body)');
    throw new Error(`expected ${what}; the browser shows ${page.url()}:\n${text.slice(0, 1000)}\nafter:\n${lastSteps()}`);
  }
  return field;
}

/** Allows on the OP's consent page when it asks (first use of a client by this account), until `where`. */
async function consentIfAsked(page: Page, where: UrlTest, what: string): Promise<void> {
  const allow = page.getByRole('button', { name: '同意授权' });
  const arrived = page.waitForURL(where, { timeout: 8000 }).then(() => 'arrived' as const);
  const asked = allow.waitFor({ timeout: 8000 }).then(() => 'asked' as const);
  const first = await Promise.race([arrived, asked]).catch(() => 'neither' as const);
  arrived.catch(() => {});
  asked.catch(() => {});
  if (first === 'asked' && !where(new URL(page.url()))) await allow.click();
  await arriveAt(page, where, what);
}

browserTest(
  'registered once at zj, a person signs in at the Nanjing portal and at gd through the brokers, then logs out everywhere',
  async (t) => {
    const person = await newPerson(env.fed);
    const password = 'Cross-tier-9';
    const [zjUrl, jsUrl, gdUrl, portalUrl] = ['zj', 'js', 'gd', 'nj'].map((id) => env.fed.url(id)) as [string, string, string, string];
    const atZj = await relyingParty(env.fed, 'zj', { redirect_uris: [env.callbackUrl], client_name: '浙江政务服务网门户' });
    const atGd = await relyingParty(env.fed, 'gd', { redirect_uris: [env.callbackUrl], client_name: '广东政务服务网门户' });

    const context = await env.browser.newContext({ locale: 'zh-CN' });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(`${page.url()}: ${msg.text()}`);
    });
    // Every page the browser shows (redirects are not pages), to tell whether a page of zj appeared.
    const shown: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) shown.push(frame.url());
    });
    page.on('response', (res) => {
      if (res.request().isNavigationRequest()) trail.push(`${res.status()} ${res.request().method()} ${res.url().slice(0, 160)}`);
    });
    const zjPagesSince = (mark: number) => shown.slice(mark).filter((u) => onOrigin(zjUrl)(new URL(u)));

    // 1. Registration at zj (unified), on zj's own pages reached from a relying party.
    const first = await startAuthorization(atZj);
    await page.goto(first.url);
    await page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
    await fillRegistration(page, env.fed, person);
    await page.getByLabel('密码').fill(password);
    await page.getByRole('button', { name: '注册', exact: true }).click();
    await consentIfAsked(page, atCallback, "zj's redirect to its relying party");
    const registered = await redeemAt(atZj, page, first);
    await homePublished(env.fed, 'natural', person.id_number, env.fed.url('zj'));
    t.is(registered.claims()!.name, person.name);
    t.is(registered.claims()!.home, zjUrl);
    t.false(registered.claims()!.recognized);

    // The person signs out at zj (its relying party's logout, confirmed on zj's page): the next
    // login anywhere has to come back to zj's password page, as a person on another day would.
    await page.goto(`${zjUrl}/session/end?id_token_hint=${registered.id_token}`);
    await page.getByRole('button', { name: '确认退出' }).click();
    await page.getByRole('status').waitFor();

    // 2. The Nanjing portal (hybrid js): the identifier on js's page in Nanjing's name, the password at zj.
    await page.goto(`${portalUrl}/`);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await arriveAt(page, onOrigin(jsUrl), "js's login page");
    t.regex(await page.locator('header.site > span').innerText(), /^南京市政务服务/);
    await page.getByLabel('身份证号或手机号').fill(person.id_number);
    await page.getByRole('button', { name: '下一步' }).click();
    await arriveAt(page, onOrigin(zjUrl), "zj's password page (through js and national)");
    const zjPassword = await showsField(page, '密码', "zj's password page");
    t.is(await page.getByLabel('身份证号或手机号').inputValue(), person.id_number);
    await zjPassword.fill(password);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await consentIfAsked(page, at(`${portalUrl}/`), 'the Nanjing portal, signed in');
    t.is(await page.getByRole('heading', { level: 1 }).innerText(), `${person.name}，您好`);
    const row = (term: string) => page.locator('dl.claims dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');
    // The home platform by name, never its URL.
    t.is(await row('账号注册地').innerText(), env.fed.topology.get('zj').name['zh-CN']);
    t.regex(await row('互认账号').innerText(), /一地注册、各地互认/);

    // 3. Single sign-on at gd (separate mode): the identifier on gd's page, and the national broker's
    // session answers: no page of zj, straight to the relying party.
    const sso = await startAuthorization(atGd);
    await page.goto(sso.url);
    await arriveAt(page, onOrigin(gdUrl), "gd's login page");
    await page.getByLabel('身份证号或手机号').fill(person.id_number);
    const beforeSso = shown.length;
    await page.getByRole('button', { name: '下一步' }).click();
    await consentIfAsked(page, atCallback, "gd's redirect to its relying party, without a password");
    t.deepEqual(zjPagesSince(beforeSso), []);
    const atGdClaims = (await redeemAt(atGd, page, sso)).claims()!;
    t.is(atGdClaims.home, zjUrl);
    t.true(atGdClaims.recognized);
    t.is(atGdClaims.name, person.name);

    // 4. 退出 at the portal → js's confirmation → back at the portal, signed out.
    await page.goto(`${portalUrl}/`);
    await page.getByRole('button', { name: '退出' }).click();
    await arriveAt(page, onOrigin(jsUrl), "js's logout confirmation");
    await page.getByRole('button', { name: '确认退出' }).click();
    await arriveAt(page, at(`${portalUrl}/`), 'the Nanjing portal after logout');
    await page.getByRole('button', { name: '登录', exact: true }).waitFor();

    // The sessions along the chain ended by the time the person is back at the portal: a new login
    // at gd, right away, asks for the identifier and then for zj's password again.
    const again = await startAuthorization(atGd);
    await page.goto(again.url);
    await arriveAt(page, onOrigin(gdUrl), "gd's login page (gd's session should have ended with the logout at the portal)");
    await (
      await showsField(page, '身份证号或手机号', "gd's identifier page (gd's session should have ended with the logout at the portal)")
    ).fill(person.id_number);
    await page.getByRole('button', { name: '下一步' }).click();
    await arriveAt(page, (u) => onOrigin(zjUrl)(u) || atCallback(u), "zj's password page after logout");
    t.true(onOrigin(zjUrl)(new URL(page.url())), `no password was asked after logout: ${page.url()}`);
    await page.getByLabel('密码', { exact: true }).fill(password);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await consentIfAsked(page, atCallback, "gd's redirect to its relying party");
    const afterLogout = (await redeemAt(atGd, page, again)).claims()!;
    t.is(afterLogout.sub, atGdClaims.sub);
    t.is(afterLogout.home, zjUrl);
    t.true(afterLogout.recognized);

    t.deepEqual(cspViolations, []);
    await context.close();
  },
);
