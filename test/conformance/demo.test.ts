/**
 * `gov-id conformance` against the demo federation, as CI runs it: every plan against every OP
 * with --register (its own clients and persons, registered through the real forms; for the
 * recognition plan, a person registered at the OP farthest away, who logs in through the
 * brokers), and the federation and configuration plans against a city OP (a two-level chain).
 * Against gd, with --slow, every module passes; against the others, every module passes but the
 * code lifetime check (it waits a minute: once is enough) and, at the trust anchor, the
 * subordinate statement. The JSON report holds every result and no secret.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { conformanceCommand, type ConformanceValues } from '../../cli/conformance-command.ts';
import { PLANS } from '../../conformance/plans.ts';
import type { Report } from '../../conformance/report.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';

let fed: TestFederation;
let dir: string;
test.before(async () => {
  fed = await startTestFederation();
  dir = mkdtempSync(join(tmpdir(), 'gov-id-conformance-'));
  // Entities fetch their trust marks from national in the background after starting.
  for (const id of fed.topology.ops().map((e) => e.id)) {
    for (let i = 0; i < 100; i++) {
      const ec = decodeJwt(await (await fetch(`${fed.url(id)}/.well-known/openid-federation`)).text());
      if (Array.isArray(ec.trust_marks) && ec.trust_marks.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
test.after.always(async () => {
  await fed?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const host = (id: string) => new URL(fed.url(id)).host;

async function conformance(values: ConformanceValues) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await conformanceCommand(values, {
    topology: () => fed.topology,
    dataDir: fed.config.dataDir,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: {},
  });
  return { status, out, err };
}

test('every plan against a provincial OP with --register and --slow: every module PASSes', async (t) => {
  // par-fapi2/short-code-lifetime waits 62 s for a code to expire (idle time), beyond the default timeout.
  t.timeout(240_000);
  const report = join(dir, 'gd.json');
  const { status, out, err } = await conformance({ issuer: fed.url('gd'), register: true, slow: true, report });
  const total = PLANS.reduce((n, p) => n + p.modules.length, 0);
  t.is(out.length, total + 1, out.join('\n'));
  // The one measurement the suite makes, timing, may warn on a loaded machine; nothing else may.
  const timingWarning = /^WARN op-negative\/user-enumeration \(.*\): the password step takes consistently longer/;
  const failures = out.slice(0, -1).filter((l) => !l.startsWith('PASS ') && !timingWarning.test(l));
  t.deepEqual(failures, [], 'no FAIL, WARN or SKIP');
  for (const l of out.slice(0, -1)) t.regex(l, /^(PASS [a-z0-9-]+\/[a-z0-9-]+ \(.+\)|WARN op-negative\/user-enumeration .+)$/);
  const warned = out.some((l) => timingWarning.test(l)) ? 1 : 0;
  t.is(out.at(-1), `${total - warned} passed, 0 failed, 0 skipped, ${warned} warnings`);
  t.is(status, 0);
  t.true(err.some((l) => /registered test user/.test(l)) && err.some((l) => /registered throwaway user/.test(l)), err.join('\n'));
  t.true(
    err.some((l) => /registered private_key_jwt client \S+ at gd$/.test(l)),
    err.join('\n'),
  );
  // gd's farthest OP: js, two hops away through national (the first of the topology among js and zj).
  t.true(
    err.some((l) => /registered home test user \d{3}\*\*\*\d{2} at js through the forms/.test(l)),
    err.join('\n'),
  );

  const text = readFileSync(report, 'utf8');
  const json = JSON.parse(text) as Report;
  t.is(json.format, 'gov-id-conformance-report/1');
  t.true(json.ok);
  t.deepEqual(json.summary, { passed: total - warned, failed: 0, skipped: 0, warnings: warned });
  t.is(json.results.length, total);
  t.deepEqual(
    json.options.plans,
    PLANS.map((p) => p.name),
  );
  t.true(json.options.slow);
  t.truthy(json.target.jwt_client_id);
  t.regex(
    json.results.find((r) => r.module === 'par-fapi2/short-code-lifetime')?.evidence ?? '',
    /^after 62 s: POST .* → 400 .*invalid_grant/,
  );
  for (const r of json.results) {
    t.truthy(r.clause, r.module);
    t.true(Number.isInteger(r.duration_ms) && r.duration_ms >= 0, r.module);
    t.false(Number.isNaN(Date.parse(r.started_at)), r.module);
    if (r.status === 'PASS') t.truthy(r.evidence, `${r.module} passes with evidence`);
  }
  // No secret reaches the report: the registered client's secret is never printed, and codes and tokens are masked.
  t.notRegex(text, /"client_secret"\s*:/);
  t.notRegex(text, /"d"\s*:/, 'no private key');
  t.notRegex(text, /eyJ[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{20,}/, 'no whole JWT');
  t.regex(json.target.test_user ?? '', /^\d{3}\*\*\*\d{2}$/);
  t.is(json.target.home, fed.url('js'));
  t.regex(json.target.home_user ?? '', /^\d{3}\*\*\*\d{2}$/);
  t.regex(
    json.results.find((r) => r.module === 'recognition/cross-op-login')?.evidence ?? '',
    new RegExp(`route ${host('gd')} → ${host('national')} → ${host('js')}; a login page at ${fed.url('js')}/interaction/`),
  );
  t.regex(
    json.results.find((r) => r.module === 'recognition/home-and-recognized-claims')?.evidence ?? '',
    /ID token \{"home":"http:\/\/127\.0\.0\.1:\d+","recognized":true,"user_type":"natural"\}.*local test user \{"home":"http:\/\/127\.0\.0\.1:\d+","recognized":false\}/,
  );
  t.regex(
    json.results.find((r) => r.module === 'federation/trust-marks')?.evidence ?? '',
    /real-name-op: valid, issued by http:\/\/127\.0\.0\.1:\d+, status active; tampered: invalid/,
  );
});

test('every plan against every other OP of the demo, as CI runs it: nothing fails, only the code lifetime check waits for --slow', async (t) => {
  for (const op of fed.topology.ops().filter((e) => e.id !== 'gd')) {
    const { status, out } = await conformance({ issuer: op.url, register: true });
    t.deepEqual(
      out.filter((l) => l.startsWith('FAIL ')),
      [],
      `${op.id}:\n${out.join('\n')}`,
    );
    const skipped = out.filter((l) => l.startsWith('SKIP ')).map((l) => /^SKIP (\S+):/.exec(l)![1]);
    t.deepEqual(
      skipped,
      ['par-fapi2/short-code-lifetime', ...(op.id === 'national' ? ['federation/subordinate-statement'] : [])],
      `${op.id}:\n${out.join('\n')}`,
    );
    t.true(
      out.some((l) => l.startsWith('PASS par-fapi2/private-key-jwt-client-auth ')),
      `${op.id}: the registered private_key_jwt client signs in`,
    );
    t.deepEqual(
      out.filter((l) => / recognition\//.test(l) && !l.startsWith('PASS ')),
      [],
      `${op.id}: every recognition module passes`,
    );
    t.is(status, 0, op.id);
    t.regex(out.at(-1)!, /^\d+ passed, 0 failed, \d+ skipped, \d+ warnings$/, op.id);
  }
});

test('the recognition plan alone with --home-issuer: a person of a city (its trust mark: loa2) logs in at a unified province, three brokers away', async (t) => {
  const report = join(dir, 'zj-recognition.json');
  const { status, out, err } = await conformance({
    issuer: fed.url('zj'),
    register: true,
    plan: ['recognition'],
    'home-issuer': fed.url('sz'),
    report,
  });
  t.is(status, 0, out.join('\n'));
  t.deepEqual(
    out.map((l) => l.split(' (')[0]),
    [...PLANS.find((p) => p.name === 'recognition')!.modules.map((m) => `PASS ${m.name}`), '5 passed, 0 failed, 0 skipped, 0 warnings'],
  );
  t.true(
    err.some((l) => /registered home test user .* at sz /.test(l)),
    err.join('\n'),
  );
  const evidence = (module: string) =>
    (JSON.parse(readFileSync(report, 'utf8')) as Report).results.find((r) => r.module === `recognition/${module}`)?.evidence ?? '';
  t.regex(
    evidence('cross-op-login'),
    new RegExp(`route ${host('zj')} → ${host('national')} → ${host('gd')} → ${host('sz')}; a login page at ${fed.url('sz')}/`),
  );
  t.regex(evidence('loa-cap'), /^acr urn:gov-id:loa:1 \(level 1\); the home's real-name-op trust mark allows at most loa2/);
  // The second visit: national's session answers, the password is not asked again.
  t.regex(
    evidence('sso-second-visit'),
    new RegExp(`route ${host('zj')} → ${host('national')} → ${host('zj')} → rp\\.conformance\\.invalid; no login page`),
  );
  t.regex(
    evidence('logout-propagation'),
    new RegExp(
      `confirm → https://rp\\.conformance\\.invalid/logged-out; 1000 ms later identifier at ${host('zj')}; route ${host('zj')} → ${host('national')} → ${host('gd')} → ${host('sz')}; a login page at ${fed.url('sz')}/`,
    ),
  );
});

test('the federation and op-config plans against a city OP: a two-level trust chain to national', async (t) => {
  const { status, out } = await conformance({ issuer: fed.url('gz'), plan: ['op-config,federation'] });
  t.is(status, 0, out.join('\n'));
  t.deepEqual(
    out.filter((l) => !l.startsWith('PASS ')),
    ['17 passed, 0 failed, 0 skipped, 0 warnings'],
  );
  const { out: explicit } = await conformance({
    issuer: fed.url('gz'),
    plan: ['federation'],
    'trust-anchor': fed.url('national'),
    module: ['trust-chain'],
  });
  t.deepEqual(explicit, ['PASS federation/trust-chain (OpenID Federation 1.0 §4, §6, §10)', '1 passed, 0 failed, 0 skipped, 0 warnings']);
});

test('the trust anchor itself: its entity configuration is the whole chain', async (t) => {
  const { status, out } = await conformance({ issuer: fed.url('national'), plan: ['federation'] });
  t.is(status, 0, out.join('\n'));
  t.true(
    out.includes(
      'SKIP federation/subordinate-statement: the entity has no authority_hints: it is a trust anchor (its own configuration is the whole chain)',
    ),
    out.join('\n'),
  );
  t.false(
    out.some((l) => l.startsWith('FAIL')),
    out.join('\n'),
  );
});

test('an unreachable issuer fails every op-config module once, and exits 1', async (t) => {
  const { status, out } = await conformance({ issuer: 'http://127.0.0.1:9', plan: ['op-config'] });
  t.is(status, 1);
  t.regex(
    out[0]!,
    /^FAIL op-config\/discovery-fetch \(.+\): GET http:\/\/127\.0\.0\.1:9\/\.well-known\/openid-configuration: no HTTP answer/,
  );
  t.true(
    out
      .slice(1, -1)
      .every((l) => l.startsWith('SKIP ') && l.endsWith('prerequisite failed: discovery (reported by op-config/discovery-fetch)')),
    out.join('\n'),
  );
  t.is(out.at(-1), '0 passed, 1 failed, 8 skipped, 0 warnings');
});
