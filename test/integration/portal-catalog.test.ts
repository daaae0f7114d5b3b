/**
 * The catalog's pages of the portals (我要看, 我要查, 我要办) against the real catalog API of their
 * platforms' services entities: the Nanjing front of the hybrid province js (its city's items and
 * those its management platform holds from js and national, each saying which platform handles
 * it), and the Zhejiang portal of a unified province (its cities' items are its own). Search →
 * results → guide, browsing, narrowing with plain GET forms, both languages, sign-in at the
 * platform's own OP, and every bad search input answered with a page that says what is wrong (4xx).
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { pullCatalogFeeds } from '../helpers/catalog-feeds.ts';
import { findForm, UserAgent, type Page } from '../helpers/user-agent.ts';

let fed: TestFederation;
let nj: string;

test.before(async () => {
  fed = await startTestFederation(['nj', 'nj-services', 'js-services', 'registries', 'zj-portal', 'zj-services']);
  nj = fed.url('nj');
  // National's items reach Nanjing through Jiangsu's management platform.
  await pullCatalogFeeds(fed, ['js-services', 'nj-services', 'zj-services']);
});

test.after.always(async () => {
  await fed?.close();
});

const get = (path: string, ua = new UserAgent()): Promise<Page> => ua.navigate(`${nj}${path}`);
const search = (q: string) => get(`/search?q=${encodeURIComponent(q)}`);
const itemLinks = (page: Page) =>
  [...page.html.matchAll(/<a href="(\/items\/[0-9A-Z]+)[^"]*">([^<]+)<\/a>/g)].map((m) => ({ href: m[1]!, name: m[2]! }));
const errorText = (page: Page) => /<p class="error" role="alert">([^<]+)<\/p>/.exec(page.html)?.[1];

test("the home page has a GET search form with field q, 我要办, its city's items and browse links, and no inline script or style", async (t) => {
  const home = await get('/');
  t.is(home.status, 200);
  t.regex(home.html, /<form class="search" method="get" action="\/search"/);
  t.regex(home.html, /<input id="q" name="q" type="search"/);
  t.regex(home.html, /<a class="narrow" href="\/narrow">/);
  // A city front lists its city's items by region.
  t.regex(home.html, /<a class="local" href="\/browse\?region=320100">本市办理的事项<\/a>/);
  for (const facet of ['department', 'topic', 'life_event', 'user_type', 'tier', 'platform'])
    t.regex(home.html, new RegExp(`href="/browse\\?${facet}=`));
  t.regex(home.html, /href="\/browse\?life_event=birth">出生<\/a>/);
  // Platforms by name, never by address.
  t.regex(home.html, /href="\/browse\?platform=national">国家政务服务平台<\/a>/);
  t.regex(home.html, /href="\/browse\?platform=js">江苏政务服务网<\/a>/);
  t.notRegex(home.html, /<script|style=|<style/);
  t.notRegex(home.html, /http:\/\/127\.0\.0\.1/);
  // The front wears its city's colour.
  const css = await get('/assets/portal.css');
  t.regex(css.html, /--brand: #0b5394;/);
});

test("the city's items under its region; items of js and national say which platform handles them", async (t) => {
  const local = await get('/browse?region=320100');
  t.is(local.status, 200);
  t.regex(local.html, /<h1>浏览事项：南京市政务服务<\/h1>/);
  const names = itemLinks(local).map((l) => l.name);
  t.true(names.includes('居民身份证换领'), names.join());
  t.false(names.includes('个人所得税综合所得汇算清缴'), "a national item is not the city's");
  t.notRegex(local.html, /class="where other"/);
  const tax = await search('个人所得税');
  t.regex(tax.html, /本事项由国家政务服务平台的国家税务总局办理（国家级）。/);
  t.regex(tax.html, /本事项由江苏政务服务网的国家税务总局江苏省税务局办理（省级）。/);
  const nationalItem = itemLinks(tax).find((l) => l.name === '个人所得税综合所得汇算清缴')!;
  const guide = await get(nationalItem.href);
  t.is(guide.status, 200);
  t.regex(guide.html, /<p class="where other">本事项由(国家政务服务平台|江苏政务服务网)办理。<\/p>/);
});

test("the portal of a unified province: its cities' items are its own, and it signs in at its own OP", async (t) => {
  const zj = fed.url('zj-portal');
  const home = await new UserAgent().navigate(`${zj}/`);
  t.regex(home.html, /<title>浙江政务服务网 · 浙江政务服务网<\/title>/);
  t.regex(home.html, /<a class="local" href="\/browse\?platform=zj">本省办理的事项<\/a>/);
  const results = await new UserAgent().navigate(`${zj}/search?q=${encodeURIComponent('身份证')}`);
  const hit = itemLinks(results).find((l) => l.name === '居民身份证换领');
  t.truthy(hit, results.html);
  // 杭州市公安局 is a department of the province's platform: nothing says "elsewhere".
  t.regex(results.html, /<span class="where">市级 · 杭州市公安局<\/span>/);
  const own = await new UserAgent().navigate(`${zj}/browse?platform=zj`);
  t.true(itemLinks(own).length > 30);
  // Automatic registration at zj's OP: the pushed request is accepted and the browser sent there.
  const ua = new UserAgent();
  const page = await ua.navigate(`${zj}/`);
  const { action, hidden } = findForm(page.html, '/login');
  const login = await ua.request(new URL(action, zj).toString(), { form: hidden });
  t.is(login.status, 303, await login.text());
  t.true(login.headers.get('location')!.startsWith(`${fed.url('zj')}/`), login.headers.get('location')!);
});

test('search → results → guide: 身份证 finds 居民身份证换领, whose guide lists materials and process', async (t) => {
  const results = await search('身份证');
  t.is(results.status, 200);
  t.regex(results.html, /<html lang="zh-CN">/);
  t.regex(results.html, /value="身份证"/);
  const hit = itemLinks(results).find((l) => l.name === '居民身份证换领');
  t.truthy(hit, results.html);
  // Where each item is handled is said next to it.
  t.regex(results.html, /市级 · 南京市公安局/);

  const guide = await get(hit!.href);
  t.is(guide.status, 200);
  t.regex(guide.html, /<h1>居民身份证换领办事指南<\/h1>/);
  for (const section of ['事项名称', '实施主体', '申请材料', '办理流程', '承诺办结时限', '办理地点', '咨询电话'])
    t.regex(guide.html, new RegExp(`<dt>${section}</dt>`));
  t.regex(guide.html, /<meta name="viewport" content="width=device-width, initial-scale=1"\s*\/?>/);
  t.notRegex(guide.html, /<script|style=|<style/);
});

test('pages are in English on request, and every link keeps the language', async (t) => {
  const results = await get(`/search?q=${encodeURIComponent('身份证')}&lang=en`);
  t.regex(results.html, /<html lang="en">/);
  t.regex(results.html, /<h1>Search results<\/h1>/);
  t.regex(results.html, /<input type="hidden" name="lang" value="en"\s*\/?>/);
  // The language switch keeps the query.
  t.regex(results.html, /href="\/search\?q=%E8%BA%AB%E4%BB%BD%E8%AF%81&amp;lang=zh-CN"/);
  const link = /<a href="(\/items\/[0-9A-Z]+\?lang=en)">/.exec(results.html)?.[1];
  t.truthy(link);
  const guide = await get(link!.replace('&amp;', '&'));
  t.regex(guide.html, /<dt>Materials<\/dt>/);
});

test('browsing by life event lists its items; an item of another tier says where it is handled', async (t) => {
  const birth = await get('/browse?life_event=birth');
  t.is(birth.status, 200);
  t.regex(birth.html, /<h1>浏览事项：出生<\/h1>/);
  t.true(itemLinks(birth).some((l) => l.name === '出生医学证明签发'));

  const province = await get('/browse?tier=province');
  t.is(province.status, 200);
  t.true(itemLinks(province).length > 0);
  t.regex(province.html, /class="where other"\s*>本事项由[^<]+办理（省级）。/);
});

test('我要办: answering the questions as GET forms narrows the candidates to one item', async (t) => {
  let page = await get('/narrow');
  t.regex(page.html, /<legend>您是以个人还是单位身份办理？<\/legend>/);
  for (let step = 0; step < 8 && /<form class="narrow"/.test(page.html); step++) {
    const fields = new URLSearchParams();
    for (const m of page.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)) fields.set(m[1]!, m[2]!);
    const radio = /<input type="radio" name="([^"]+)" value="([^"]+)"/.exec(page.html)!;
    fields.set(radio[1]!, radio[2]!);
    page = await get(`/narrow?${fields}`);
    t.is(page.status, 200);
  }
  t.notRegex(page.html, /<form class="narrow"/, 'the questions end');
  t.regex(page.html, /您要办理的事项：/);
  t.true(itemLinks(page).length >= 1);
});

test('bad search input gets a page that says what is wrong, never a 500', async (t) => {
  const cases: [string, number, RegExp][] = [
    ['/search?q=', 400, /请输入要查找的事项名称或关键词/],
    ['/search', 400, /请输入要查找的事项名称或关键词/],
    ['/search?q=%20%20', 400, /请输入要查找的事项名称或关键词/],
    [`/search?q=${'a'.repeat(10_000)}`, 400, /搜索内容太长/],
    ['/search?q=%01%02%03', 400, /控制字符/],
    ['/search?q=a%7Fb', 400, /控制字符/],
    ['/search?q=%00', 400, /控制字符/],
    [`/search?q=${encodeURIComponent("&|!():*<->'")}`, 400, /没有可查找的汉字、字母或数字/],
    ['/search?q=a&q=b', 400, /请求无法处理/],
    ['/browse', 400, /浏览条件无法识别/],
    ['/browse?life_event=birth&tier=city', 400, /浏览条件无法识别/],
    ['/items/not-a-code', 404, /没有这个事项/],
    ['/items/113201000001010041234567890123', 404, /没有这个事项/],
    ['/narrow?code=x', 400, /浏览条件无法识别/],
  ];
  for (const [path, status, message] of cases) {
    const page = await get(path);
    t.is(page.status, status, path.slice(0, 80));
    t.regex(errorText(page) ?? '', message, path.slice(0, 80));
  }
  // 10,000 Chinese characters percent-encoded pass Node's 16 KiB header limit: the HTTP server refuses them itself.
  t.is((await get(`/search?q=${'办'.repeat(10_000)}`)).status, 431);
  t.regex(errorText(await get(`/search?q=${'办'.repeat(101)}`)) ?? '', /搜索内容太长，请不要超过 100 个字/);
  // Operators inside words only separate them: a real query still finds its item.
  const withOperators = await search('身份证 & !换领');
  t.is(withOperators.status, 200);
  t.true(itemLinks(withOperators).some((l) => l.name === '居民身份证换领'));
});
