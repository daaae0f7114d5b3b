/**
 * The portal's pages of 我要评, 我要问 and 我的 (nj, under js), driven as a browser without scripts
 * drives them: forms with their CSRF token, 303 after a post. A person rates a closed case with a
 * complaint; staff work the rectification queue (call-back first) and the question queue; the
 * person sees the outcome and the answer; pages are in Chinese by default, escape what people
 * wrote and carry no script.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent, findForm, type Page } from '../helpers/user-agent.ts';
import { newPerson, registerOnPage, type Person } from '../helpers/flows.ts';
import { PASSWORD, serviceToken } from '../helpers/service-tokens.ts';
import { casesApi, type CasesApi } from '../helpers/cases-api.ts';
import { pullCatalogFeed } from '../helpers/catalog-feeds.ts';
import { until } from '../helpers/until.ts';
import { closedCase, MINISTRY_OF_PUBLIC_SECURITY, NANJING } from '../helpers/voice-api.ts';

const CITY = NANJING;
const SERVICES = CITY.services;
/** 江苏省高层次人才认定: the province's item, held at Nanjing's services entity through the feed. */
const PROVINCE_ITEM = '11320000000103078G2070103009000';
const { police: POLICE, birthRegistration: BIRTH_REGISTRATION } = CITY;
let fed: TestFederation;
let api: CasesApi;
let nj: string;

test.before(async () => {
  fed = await startTestFederation(['js', 'nj', 'registries', 'js-services']);
  await pullCatalogFeed(fed, 'nj-services');
  api = casesApi(fed, SERVICES);
  nj = fed.url('nj');
});
test.after.always(async () => {
  await fed?.close();
});

/** A new person signed in at the nj portal, and a token of theirs for the services API. */
async function signedIn(): Promise<{ ua: UserAgent; person: Person; token: string }> {
  const ua = new UserAgent();
  const person = await newPerson(fed);
  const home = await ua.navigate(`${nj}/`);
  const back = await registerOnPage(fed, ua, await ua.submit(home, '/login', {}), person, PASSWORD);
  if (!/action="\/logout"/.test(back.html)) throw new Error(`not signed in: ${back.status} ${back.url}`);
  const { accessToken } = await serviceToken(fed, { op: 'js', resource: fed.url(SERVICES), person });
  await until(async () => (await api.call('GET', '/me', { token: accessToken })).status === 200, 'js trusted with service tokens', 60_000);
  return { ua, person, token: accessToken };
}

const text = (page: Page) => page.html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
/** The queue's task of a case: the link in the entry that names it. */
const taskOf = (page: Page, number: string) =>
  [...page.html.matchAll(/<li>([\s\S]*?)<\/li>/g)]
    .map((m) => m[1]!)
    .find((li) => li.includes(number))
    ?.match(/href="\/staff\/rectifications\/(\d+)"/)?.[1];

test.serial('rate, rectify, see the outcome; ask and be answered — through the portal pages', async (t) => {
  const applicant = await signedIn();
  const staff = await signedIn();
  await api.grant(staff.person.id_number, POLICE, 'decider,sender,rectifier,answerer');
  const number = await closedCase(api, CITY, applicant, staff);

  // My space: the profile, the level and how to raise it, the case with its rating link.
  const home = await applicant.ua.navigate(`${nj}/`);
  t.regex(home.html, /href="\/my"/);
  const my = await applicant.ua.navigate(`${nj}/my`);
  t.is(my.status, 200, my.html.slice(0, 500));
  t.regex(my.html, /<html lang="zh-CN">/);
  t.regex(text(my), /实名用户（L3）/);
  t.regex(text(my), /实人核验/);
  t.true(my.html.includes(`/rate/${number}?stage=closure`));
  t.notRegex(my.html, /<script|style=/);
  t.regex((await applicant.ua.navigate(`${nj}/my?lang=en`)).html, /<h1>My space<\/h1>/);

  // 我要评: markup is refused with the form shown again; then the rating goes in.
  const form = await applicant.ua.navigate(`${nj}/rate/${number}?stage=closure`);
  t.regex(form.html, /name="level" value="1"/);
  const refused = await applicant.ua.submit(form, `/rate/${number}`, { level: '1', comment: '<b>太慢</b>' });
  t.is(refused.status, 400);
  t.regex(text(refused), /不能包含网页代码或脚本/);
  t.true(refused.html.includes('&lt;b&gt;太慢&lt;/b&gt;'), 'what was typed comes back escaped');
  const rated = await applicant.ua.submit(form, `/rate/${number}`, {
    level: '1',
    efficiency: '1',
    comment: '排队两个小时 <3',
    complaint: '窗口要求提交指南没有列出的材料。',
  });
  t.is(rated.status, 200, rated.html.slice(0, 500));
  t.regex(rated.url, /\/my\/ratings$/);
  t.true(rated.html.includes('排队两个小时 &lt;3'));
  t.regex(text(rated), /整改中/);
  const again = await applicant.ua.submit(form, `/rate/${number}`, { level: '5' });
  t.is(again.status, 409);
  t.regex(text(again), /已经评价过/);
  // A form without its token is refused.
  const forged = await applicant.ua.navigate(`${nj}/rate/${number}`, {
    form: { level: '5' },
    headers: { 'sec-fetch-site': 'same-origin' },
  });
  t.is(forged.status, 403);

  // The rectifier's queue with due dates; the call-back comes first.
  const queue = await staff.ua.navigate(`${nj}/staff/rectifications`);
  t.is(queue.status, 200, queue.html.slice(0, 500));
  t.regex(text(queue), /整改期限 \d{4}-\d{2}-\d{2}/);
  const task = await staff.ua.navigate(`${nj}/staff/rectifications/${taskOf(queue, number)!}`);
  t.true(task.html.includes(applicant.person.phone), 'the named rater is called back');
  const early = await staff.ua.submit(task, '/resolve', { resolution: 'fixed_now', explanation: '已整改' });
  t.is(early.status, 409);
  t.regex(text(early), /须先回访评价人/);
  const called = await staff.ua.submit(task, '/call_back', { reached: '1', note: '已电话回访，情况属实。' });
  t.regex(text(called), /已联系上/);
  const resolved = await staff.ua.submit(called, '/resolve', {
    resolution: 'fixed_now',
    explanation: '已按指南收取材料，并向申请人致歉。',
  });
  t.regex(text(resolved), /已处理，待评价人反馈/);

  // The rater sees the outcome and says they are satisfied.
  const outcome = await applicant.ua.navigate(`${nj}/my/ratings`);
  t.regex(text(outcome), /已按指南收取材料，并向申请人致歉。/);
  const { action, hidden } = findForm(outcome.html, '/view');
  const viewed = await applicant.ua.navigate(new URL(action, outcome.url).toString(), {
    form: { ...hidden, satisfied: '1' },
    headers: { origin: 'null', 'sec-fetch-site': 'same-origin' },
  });
  t.regex(text(viewed), /已办结/);
  const notices = await applicant.ua.navigate(`${nj}/my/notices`);
  t.regex(text(notices), /为何收到：您对办件 .* 作出了投诉/);

  // 我要问 from the guide of an item Nanjing handles; the province's item, held here, offers none.
  t.regex((await applicant.ua.navigate(`${nj}/items/${BIRTH_REGISTRATION}`)).html, /href="\/ask\?item=/);
  const held = await applicant.ua.navigate(`${nj}/items/${PROVINCE_ITEM}`);
  t.regex(text(held), /江苏/);
  t.notRegex(held.html, /href="\/ask\?item=/);
  // A question no answer covers goes to staff; the answer shows in my questions.
  const ask = await applicant.ua.navigate(`${nj}/ask?item=${BIRTH_REGISTRATION}`);
  t.regex(text(ask), /关于“出生登记”/);
  const asked = await applicant.ua.submit(ask, '/ask', { text: '孩子在外省出生，父母户籍在南京，能在南京办理出生登记吗？', to_staff: '1' });
  t.regex(asked.url, /\/my\/questions$/);
  t.regex(text(asked), /待答复/);
  const questions = await staff.ua.navigate(`${nj}/staff/questions`);
  const questionId = /href="\/staff\/questions\/(\d+)"/.exec(questions.html)![1]!;
  const question = await staff.ua.navigate(`${nj}/staff/questions/${questionId}`);
  const answered = await staff.ua.submit(question, '/answer', { answer: '可以，凭出生医学证明到户籍所在地派出所办理。' });
  t.regex(text(answered), /已答复/);
  t.regex(text(await applicant.ua.navigate(`${nj}/my/questions`)), /凭出生医学证明到户籍所在地派出所办理/);
});

test.serial('a supervisor reviews an appeal on the portal; pages ask people to sign in', async (t) => {
  const anonymous = new UserAgent();
  const figures = await anonymous.navigate(`${nj}/ratings`);
  t.is(figures.status, 200);
  t.regex(text(figures), /好差评数据公开.*差评率/);
  t.regex(text(figures), /南京市公安局/);
  const page = await anonymous.navigate(`${nj}/my`);
  t.is(page.status, 401);
  t.regex(text(page), /请先登录/);
  t.regex(page.html, /action="\/login"/);

  const applicant = await signedIn();
  const staff = await signedIn();
  const supervisor = await signedIn();
  await api.grant(staff.person.id_number, POLICE, 'decider,sender,rectifier');
  await api.grant(supervisor.person.id_number, MINISTRY_OF_PUBLIC_SECURITY, 'supervisor');
  const number = await closedCase(api, CITY, applicant, staff);
  t.is((await api.call('POST', '/ratings', { token: applicant.token, body: { case_number: number, level: 2 } })).status, 201);

  const queue = await staff.ua.navigate(`${nj}/staff/rectifications`);
  const task = await staff.ua.navigate(`${nj}/staff/rectifications/${taskOf(queue, number)!}`);
  const appealed = await staff.ua.submit(task, '/appeal', { reason: '评价内容与本办件无关。' });
  t.regex(text(appealed), /申诉中/);

  const appeals = await supervisor.ua.navigate(`${nj}/staff/appeals`);
  t.regex(text(appeals), new RegExp(number));
  const appeal = await supervisor.ua.navigate(`${nj}/staff/appeals/${/href="\/staff\/appeals\/(\d+)"/.exec(appeals.html)![1]!}`);
  t.regex(text(appeal), /评价内容与本办件无关。/);
  const decided = await supervisor.ua.submit(appeal, '/decide', { decision: 'upheld', reason: '经核实属误评。' });
  t.regex(text(decided), /申诉成立/);
  t.regex(text(await applicant.ua.navigate(`${nj}/my/ratings`)), /已认定误评/);
  // Staff pages are refused to people without the role.
  const refused = await applicant.ua.navigate(`${nj}/staff/appeals`);
  t.is(refused.status, 403);
});
