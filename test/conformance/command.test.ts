/**
 * The command's contract without a target: usage errors, the output format, and the runner's
 * rules (a module passes only by returning; anything it throws is a failure; a failed
 * prerequisite is reported once as FAIL, then as SKIP naming it).
 */
import test from 'ava';
import { conformanceCommand, type ConformanceValues } from '../../cli/conformance-command.ts';
import { PLAN_NAMES, selectPlans } from '../../conformance/plans.ts';
import { defaultHome } from '../../conformance/register.ts';
import { formatResult, formatSummary, runPlans } from '../../conformance/runner.ts';
import { Fail, Skip, type Plan } from '../../conformance/types.ts';
import { ConfigurationError } from '../../infra/errors.ts';
import { parseTopology, DEFAULT_TOPOLOGY } from '../../federation/topology.ts';
import { readFileSync } from 'node:fs';

const topology = () => parseTopology(JSON.parse(readFileSync(DEFAULT_TOPOLOGY, 'utf8')));
const run = (values: ConformanceValues) =>
  conformanceCommand(values, { topology, dataDir: '/nonexistent', out: () => {}, err: () => {}, env: {} });

test('usage errors say what is missing', async (t) => {
  const cases: [ConformanceValues, RegExp][] = [
    [{}, /needs --issuer URL/],
    [{ issuer: 'not a url' }, /--issuer: not a url is not an absolute URL/],
    [
      { issuer: 'https://op.example', plan: ['op-nothing'] },
      /unknown plan op-nothing; the plans are op-config, op-basic, op-negative, par-fapi2, federation, recognition/,
    ],
    [{ issuer: 'https://op.example', plan: ['op-basic'] }, /log a test user in: give --client-id/],
    [
      { issuer: 'https://op.example', 'client-id': 'c', 'client-secret': 's', username: 'u', password: 'p' },
      /--client-id needs --redirect-uri/,
    ],
    [{ issuer: 'https://op.example', 'client-id': 'c', register: true }, /either --client-id\/--client-secret or --register/],
    [{ issuer: 'https://op.example', username: 'u' }, /--username needs --password/],
    [{ issuer: 'https://op.example', 'max-code-ttl': '0' }, /--max-code-ttl: 0 is not a whole number/],
    [{ issuer: 'https://op.example', 'jwt-client-id': 'j' }, /--jwt-client-id needs --jwt-key/],
    [{ issuer: 'https://op.example', register: true, plan: ['op-basic'] }, /no OP of the topology has the issuer https:\/\/op\.example/],
    [
      { issuer: 'https://op.example', plan: ['recognition'] },
      /the plan recognition logs a person of another OP in at the target with a test client/,
    ],
    [{ issuer: 'https://op.example', 'home-username': 'u', 'home-password': 'p' }, /--home-username needs --home-issuer URL/],
    [
      { issuer: 'https://op.example', 'home-issuer': 'https://home.example', 'home-username': 'u' },
      /--home-username needs --home-password/,
    ],
    [
      { issuer: 'https://op.example', 'home-issuer': 'https://home.example' },
      /--home-issuer needs --home-username\/--home-password .*, or --register/,
    ],
    [
      { issuer: 'https://op.example', 'home-issuer': 'https://op.example', 'home-username': 'u', 'home-password': 'p' },
      /--home-issuer must be another OP than --issuer/,
    ],
  ];
  for (const [values, message] of cases) {
    const err = await t.throwsAsync(run(values), { instanceOf: ConfigurationError }, JSON.stringify(values));
    t.regex(err?.message ?? '', message);
  }
});

test('--register picks as home the OP whose route from the target crosses the most brokers', (t) => {
  const topo = topology();
  const homes = Object.fromEntries(topo.ops().map((e) => [e.id, defaultHome(topo, e)?.id]));
  t.deepEqual(homes, { national: 'gz', gd: 'js', gz: 'js', sz: 'js', js: 'gz', zj: 'gz' });
});

test('plans are selected by name, comma-separated or repeated; all by default', (t) => {
  t.deepEqual(
    selectPlans(undefined).map((p) => p.name),
    PLAN_NAMES,
  );
  t.deepEqual(
    selectPlans(['federation,op-config']).map((p) => p.name),
    ['federation', 'op-config'],
  );
  t.deepEqual(
    selectPlans(['op-basic', 'recognition']).map((p) => p.name),
    ['op-basic', 'recognition'],
  );
  t.deepEqual(PLAN_NAMES, ['op-config', 'op-basic', 'op-negative', 'par-fapi2', 'federation', 'recognition']);
});

test('every module is named plan/module, names its clause, and is unique', (t) => {
  const names = new Set<string>();
  for (const plan of selectPlans(undefined)) {
    for (const m of plan.modules) {
      t.regex(m.name, new RegExp(`^${plan.name}/[a-z0-9-]+$`));
      t.true(m.clause.length > 4 && m.title.length > 10, m.name);
      t.false(names.has(m.name), m.name);
      names.add(m.name);
    }
  }
});

const target = {
  issuer: 'https://op.example',
  entityId: 'https://op.example',
  scope: 'openid',
  slow: false,
  maxCodeTtlSeconds: 60,
  timeoutMs: 1000,
};

test('the runner: pass only by returning; throws are failures; a failed prerequisite fails once, then skips', async (t) => {
  let calls = 0;
  const plan: Plan = {
    name: 'fake',
    title: 'fake',
    modules: [
      { name: 'fake/passes', clause: 'X §1', title: 'returns evidence', run: async () => ({ evidence: 'looked' }) },
      { name: 'fake/warns', clause: 'X §2', title: 'returns a warning', run: async () => ({ warn: 'weak', evidence: 'saw it' }) },
      {
        name: 'fake/fails',
        clause: 'X §3',
        title: 'throws Fail',
        run: async () => {
          throw new Fail('broken', 'GET / → 500');
        },
      },
      {
        name: 'fake/skips',
        clause: 'X §4',
        title: 'throws Skip',
        run: async () => {
          throw new Skip('not offered');
        },
      },
      {
        name: 'fake/crashes',
        clause: 'X §5',
        title: 'throws anything else',
        run: async () => {
          throw new TypeError('oops');
        },
      },
      {
        name: 'fake/needs-a',
        clause: 'X §6',
        title: 'prerequisite owner',
        run: async (ctx) => {
          await ctx.prereq('a', async () => {
            calls++;
            throw new Fail('a is broken');
          });
        },
      },
      {
        name: 'fake/needs-a-too',
        clause: 'X §7',
        title: 'prerequisite user',
        run: async (ctx) => {
          await ctx.prereq('a', async () => {
            calls++;
          });
        },
      },
    ],
  };
  const r = await runPlans([plan], target);
  t.deepEqual(
    r.results.map((x) => [x.status, x.reason ?? null]),
    [
      ['PASS', null],
      ['WARN', 'weak'],
      ['FAIL', 'broken'],
      ['SKIP', 'not offered'],
      ['FAIL', 'unexpected error: oops'],
      ['FAIL', 'a is broken'],
      ['SKIP', 'prerequisite failed: a (reported by fake/needs-a)'],
    ],
  );
  t.is(calls, 1, 'a prerequisite runs once');
  t.deepEqual(r.summary, { passed: 1, failed: 3, skipped: 2, warnings: 1 });
  t.deepEqual(r.results.slice(0, 4).map(formatResult), [
    'PASS fake/passes (X §1)',
    'WARN fake/warns (X §2): weak — saw it',
    'FAIL fake/fails (X §3): broken — GET / → 500',
    'SKIP fake/skips: not offered',
  ]);
  t.is(formatSummary(r.summary), '1 passed, 3 failed, 2 skipped, 1 warnings');
  const only = await runPlans([plan], target, { modules: ['passes', 'fake/skips'] });
  t.deepEqual(
    only.results.map((x) => x.module),
    ['fake/passes', 'fake/skips'],
  );
});
