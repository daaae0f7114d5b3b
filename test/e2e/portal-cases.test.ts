/**
 * A real browser at the Nanjing portal, 390 pixels wide, scripts off: a person applies online from
 * an item's guide (a file uploaded, an e-license material filled in), gets a receipt; staff at the
 * workbench ask for a correction; the person supplies it from 我的办件; staff accept, review,
 * decide, make and deliver the result and close the case; the person sees the result, and anyone
 * follows the case by its number and the phone's last four digits. No page breaks the CSP.
 */
import test from 'ava';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { newPerson, type Person } from '../helpers/flows.ts';
import { browserTest, fillRegistration, hasChromium, launchChromium } from '../helpers/browser.ts';
import { casesApi, pdf } from '../helpers/cases-api.ts';

/** 法律援助申请 at 南京市司法局: 居民身份证 from the e-license registry, 经济困难状况说明表 uploaded. */
const ITEM = '11320100000113073X3200113001000';
const JUSTICE = '11320100000113073X';
const PHONE = { width: 390, height: 844 };

let fed: TestFederation;
let browser: Browser;
let portalUrl: string;

test.before(async () => {
  if (!hasChromium) return;
  fed = await startTestFederation(['js', 'nj', 'registries', 'nj-services']);
  portalUrl = fed.url('nj');
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  await fed?.close();
});

interface Visitor {
  context: BrowserContext;
  page: Page;
  csp: string[];
}

async function visitor(): Promise<Visitor> {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  const csp: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) csp.push(msg.text());
  });
  return { context, page, csp };
}

/** Registers at the province OP from the portal's 登录 and comes back signed in. */
async function signUp(v: Visitor, person: Person): Promise<void> {
  await v.page.goto(`${portalUrl}/`);
  await v.page.getByRole('button', { name: '登录', exact: true }).click();
  await v.page.waitForURL(`${fed.url('js')}/**`);
  await v.page.getByRole('link', { name: '没有账号？立即实名注册' }).click();
  await fillRegistration(v.page, fed, person);
  await v.page.getByLabel('密码').fill('Portal-cases9');
  await v.page.getByRole('button', { name: '注册', exact: true }).click();
  await v.page.getByRole('button', { name: '同意授权' }).click();
  await v.page.waitForURL(`${portalUrl}/`);
}

async function fits(t: import('ava').ExecutionContext, page: Page) {
  t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${page.url()} fits 390 px`);
}

/** Staff press an action's button on the case page, after filling what `fill` fills. */
async function staffDoes(v: Visitor, action: string, fill: (form: ReturnType<Page['locator']>) => Promise<void> = async () => undefined) {
  const form = v.page.locator(`form[action$="/${action}"]`);
  await fill(form);
  await form.getByRole('button').click();
  await v.page.waitForURL(/\?done=/);
}

browserTest('apply, correction, staff decision, the applicant sees the result, anyone tracks the case by number', async (t) => {
  const applicantPerson = await newPerson(fed);
  const staffPerson = await newPerson(fed);
  const applicant = await visitor();
  const staff = await visitor();
  await signUp(applicant, applicantPerson);
  await signUp(staff, staffPerson);
  await casesApi(fed, 'nj-services').grant(staffPerson.id_number, JUSTICE, 'receiver,acceptor,reviewer,decider,sender');

  // The guide leads to the application form, built from the item's materials.
  await applicant.page.goto(`${portalUrl}/items/${ITEM}`);
  await applicant.page.getByRole('link', { name: '在线申请' }).click();
  t.is(await applicant.page.getByRole('heading', { level: 1 }).innerText(), '在线申请：法律援助申请');
  t.true(await applicant.page.getByText('由电子证照库提供（居民身份证）').isVisible());
  await fits(t, applicant.page);
  await applicant.page
    .getByLabel('经济困难状况说明表')
    .setInputFiles({ name: '说明表.pdf', mimeType: 'application/pdf', buffer: pdf('经济困难状况说明表') });
  await applicant.page.getByRole('button', { name: '提交申请' }).click();
  t.is(await applicant.page.getByRole('heading', { level: 1 }).innerText(), '收件凭证');
  const number = (await applicant.page.locator('strong.number').innerText()).trim();
  t.regex(number, /^NJ-\d{8}-\d{6}-[0-9A-Z]$/);
  await fits(t, applicant.page);

  // Staff: the queue, the case, a correction notice.
  await staff.page.goto(`${portalUrl}/workbench`);
  await staff.page.getByRole('link', { name: number }).click();
  t.true(await staff.page.getByText(applicantPerson.name).first().isVisible());
  await fits(t, staff.page);
  await staffDoes(staff, 'request_correction', async (form) => {
    await form.getByLabel('经济困难状况说明表', { exact: true }).check();
    await form.getByLabel('理由（经济困难状况说明表）').fill('缺少村（居）委会盖章');
  });

  // The applicant supplies it from 我的办件.
  await applicant.page.goto(`${portalUrl}/my-cases`);
  await applicant.page.getByRole('link', { name: number }).click();
  t.true(await applicant.page.getByText('缺少村（居）委会盖章', { exact: true }).isVisible());
  await applicant.page
    .getByLabel('经济困难状况说明表')
    .setInputFiles({ name: '说明表-盖章.pdf', mimeType: 'application/pdf', buffer: pdf('盖章后') });
  await applicant.page.getByRole('button', { name: '提交补正材料' }).click();
  await applicant.page.waitForURL(`${portalUrl}/my-cases/${number}`);
  t.true(await applicant.page.getByText('已收件', { exact: true }).first().isVisible());

  // Staff take it to the end.
  await staff.page.goto(`${portalUrl}/workbench/cases/${number}`);
  await staffDoes(staff, 'accept');
  await staffDoes(staff, 'record_review', (form) => form.getByLabel('审查意见').fill('符合法律援助条件'));
  await staffDoes(staff, 'complete_review');
  await staffDoes(staff, 'decide');
  t.true(await staff.page.getByText('已完成：作出决定').isVisible());
  await staffDoes(staff, 'make_result');
  await staffDoes(staff, 'deliver');
  await staffDoes(staff, 'close');
  await fits(t, staff.page);

  // A supervisor of the authority reads its figures.
  await casesApi(fed, 'nj-services').grant(staffPerson.id_number, JUSTICE, 'supervisor');
  await staff.page.goto(`${portalUrl}/workbench/supervision`);
  t.is(await staff.page.getByRole('heading', { level: 1 }).innerText(), '监督');
  t.true(await staff.page.getByText('法律援助申请').isVisible());
  await fits(t, staff.page);

  // The applicant sees the result and every step.
  await applicant.page.goto(`${portalUrl}/my-cases/${number}`);
  t.true(await applicant.page.locator('dl.record').first().getByText('已办结').isVisible());
  t.true(await applicant.page.locator('dl.record').first().getByText('准予').isVisible());
  t.true(await applicant.page.locator('dl.record').first().getByText('给予法律援助决定书').isVisible());
  t.true((await applicant.page.locator('ol.timeline > li').count()) >= 9);
  await fits(t, applicant.page);

  // Anyone, signed out: the number and the phone's last four digits.
  const anyone = await visitor();
  await anyone.page.goto(`${portalUrl}/track`);
  await anyone.page.getByLabel('办件编号').fill(number);
  await anyone.page.getByLabel('手机号后四位').fill('0000' === applicantPerson.phone.slice(-4) ? '1111' : '0000');
  await anyone.page.getByRole('button', { name: '查询办件' }).click();
  t.true(await anyone.page.getByText('没有找到与编号和验证信息相符的办件。').isVisible());
  await anyone.page.getByLabel('手机号后四位').fill(applicantPerson.phone.slice(-4));
  await anyone.page.getByRole('button', { name: '查询办件' }).click();
  t.true(await anyone.page.getByRole('heading', { name: number }).isVisible());
  t.false((await anyone.page.content()).includes(applicantPerson.name), 'no personal data by number');
  await fits(t, anyone.page);

  t.deepEqual([...applicant.csp, ...staff.csp, ...anyone.csp], []);
  for (const v of [applicant, staff, anyone]) await v.context.close();
});
