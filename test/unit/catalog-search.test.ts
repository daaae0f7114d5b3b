/**
 * Search relevance over the demo catalog, the same on PGlite and PostgreSQL: each query's expected
 * item (by name) is among the first `within` distinct names of the results (the same item is
 * implemented in several cities). One- and two-character queries, full names, colloquial names
 * and typos.
 */
import test from 'ava';
import { search, narrow, browse } from '../../services/catalog/catalog-search.ts';
import { databaseEngines, forEngines } from '../helpers/unit-engines.ts';
import { demoCatalog } from '../helpers/catalog-fixture.ts';

const { engines, cleanup } = databaseEngines('catalog-search');
test.after.always(cleanup);

/** [query, a name expected among the first `within` distinct names, within] */
const RELEVANCE: [string, string, number][] = [
  // one character
  ['证', '居民身份证换领', 20],
  ['婚', '结婚登记', 10],
  ['税', '个人所得税综合所得汇算清缴', 10],
  // two characters
  ['户口', '户口迁移', 1],
  ['结婚', '结婚登记', 1],
  ['护照', '普通护照签发', 1],
  ['驾照', '机动车驾驶证换证', 1],
  ['低保', '最低生活保障审核确认', 1],
  ['退休', '职工基本养老金申领', 1],
  ['出生', '出生登记', 10],
  ['公积', '住房公积金提取（购买自住住房）', 12],
  // full names
  ['居民身份证换领', '居民身份证换领', 1],
  ['企业设立登记', '企业设立登记', 1],
  ['户口迁移（人才引进）', '户口迁移（人才引进）', 1],
  ['基本养老保险关系转移接续', '基本养老保险关系转移接续', 1],
  ['建筑工程施工许可证核发', '建筑工程施工许可证核发', 1],
  ['婚姻登记预约', '婚姻登记预约', 1],
  ['异地就医备案', '异地就医备案', 1],
  ['不动产转移登记', '不动产转移登记', 1],
  // colloquial names
  ['换身份证', '居民身份证换领', 1],
  ['身份证丢了', '居民身份证补领', 1],
  ['办营业执照', '企业设立登记', 1],
  ['注册公司', '企业设立登记', 1],
  ['迁户口', '户口迁移', 1],
  ['社保转移', '基本养老保险关系转移接续', 1],
  ['驾照到期', '机动车驾驶证换证', 1],
  ['新生儿上户口', '出生登记', 1],
  ['结婚预约', '婚姻登记预约', 1],
  ['施工许可证', '建筑工程施工许可证核发', 1],
  ['提公积金', '住房公积金提取（购买自住住房）', 1],
  ['房产过户', '不动产转移登记', 1],
  ['上小学', '义务教育阶段新生入学登记', 1],
  ['个税退税', '个人所得税综合所得汇算清缴', 1],
  // typos
  ['身分证换领', '居民身份证换领', 4],
  ['结婚登己', '结婚登记', 4],
  ['企业设力登记', '企业设立登记', 4],
  // a material and an authority
  ['出生医学证明', '出生医学证明签发', 4],
  ['公安局 护照', '普通护照签发', 1],
];

const setups = new Map<string, ReturnType<typeof demoCatalog>>();
const setup = (engine: (typeof engines)[number]) => {
  if (!setups.has(engine.name)) setups.set(engine.name, demoCatalog(engine, 'catsearch'));
  return setups.get(engine.name)!;
};

forEngines(engines, `search finds the expected item for ${RELEVANCE.length} queries`, async (t, engine) => {
  const { db } = await setup(engine);
  const misses: string[] = [];
  for (const [query, expected, within] of RELEVANCE) {
    const names = [...new Set((await search(db, query, { kind: 'implementation' }, 100)).map((h) => h.name))];
    const rank = names.indexOf(expected);
    if (rank < 0 || rank >= within)
      misses.push(`${query} → ${expected} at ${rank} (want < ${within}); got ${names.slice(0, 3).join(', ')}`);
  }
  t.deepEqual(misses, []);
});

forEngines(engines, 'narrowing (我要办) reaches one item in a few answers, from a life event or a query', async (t, engine) => {
  const { db } = await setup(engine);
  for (const start of [
    { q: undefined, filter: { kind: 'implementation' as const, life_events: ['marriage'] } },
    { q: '身份证', filter: { kind: 'implementation' as const } },
  ]) {
    let filter: Record<string, unknown> = { ...start.filter };
    let code: string | undefined;
    let step = await narrow(db, start.q, filter);
    let asked = 0;
    while (step.question) {
      t.true(++asked <= 6, 'at most six questions');
      const { key, options } = step.question;
      t.true(options.length >= 2 || step.candidates.length > options[0]!.count, `question ${key} splits the candidates`);
      // Answer with the rarest option, as a person looking for an unusual item would.
      const answer = [...options].sort((a, b) => a.count - b.count)[0]!.value;
      if (key === 'code') code = answer;
      else filter = { ...filter, ...facet(key, answer) };
      step = await narrow(db, start.q, filter, code);
    }
    t.is(step.candidates.length, 1, JSON.stringify(start));
  }
});

function facet(key: string, value: string): Record<string, unknown> {
  if (key === 'department' || key === 'level') return { [key]: value };
  return { [key === 'life_event' ? 'life_events' : key]: [value] };
}

forEngines(engines, 'browsing counts items by department, topic, life event, user type and tier', async (t, engine) => {
  const { db } = await setup(engine);
  const all = await browse(db, { kind: 'implementation' });
  t.true(all.life_event!.birth! >= 8);
  t.true(all.user_type!.natural! > 0 && all.user_type!.legal! > 0);
  t.deepEqual(Object.keys(all.tier!).sort(), ['city', 'national', 'province']);
  const gz = await browse(db, { kind: 'implementation', department: '广州市公安局' });
  t.deepEqual(Object.keys(gz.department!), ['广州市公安局']);
});
