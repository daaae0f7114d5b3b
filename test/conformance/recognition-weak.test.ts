/**
 * No recognition module passes vacuously: a weak OP that recognizes the accounts of another weak
 * OP (the visited OP of helpers/weak-recognition.ts, the other being the home) passes the whole
 * recognition plan (the control), and with one weakness, of the visited OP or of the home, the
 * module that checks that property fails while the ones before it still pass.
 */
import test from 'ava';
import { NO_HOME } from '../../conformance/modules/recognition.ts';
import { PLANS } from '../../conformance/plans.ts';
import { runPlans } from '../../conformance/runner.ts';
import type { ModuleResult } from '../../conformance/types.ts';
import { line, startWeakOp, targetOf, type Weakness } from './helpers/weak-op.ts';

const recognitionPlan = PLANS.find((p) => p.name === 'recognition')!;

/** The recognition plan against a visited weak OP and its home; `recognizes: false` makes the visited a plain OP. */
async function runRecognition(
  opts: { visited?: Weakness[]; home?: Weakness[]; recognizes?: boolean; withHome?: boolean } = {},
): Promise<ModuleResult[]> {
  const home = await startWeakOp({ weaknesses: opts.home ?? [] });
  const visited = await startWeakOp({ weaknesses: opts.visited ?? [], ...(opts.recognizes === false ? {} : { recognizes: home }) });
  try {
    const extra = opts.withHome === false ? {} : { home: { issuer: home.issuer, user: home.person }, trustAnchor: home.anchor };
    return (await runPlans([recognitionPlan], targetOf(visited, extra))).results;
  } finally {
    await visited.close();
    await home.close();
  }
}

const statuses = (results: ModuleResult[]) => Object.fromEntries(results.map((r) => [r.module.replace('recognition/', ''), r.status]));

test('control: a visited OP that recognizes its home passes every recognition module, with evidence', async (t) => {
  const results = await runRecognition();
  t.deepEqual(results.filter((r) => r.status !== 'PASS').map(line), []);
  t.is(results.length, recognitionPlan.modules.length);
  const evidence = (name: string) => results.find((r) => r.module === `recognition/${name}`)!.evidence ?? '';
  t.regex(
    evidence('cross-op-login'),
    /^identifier at 127\.0\.0\.1:(\d+); route 127\.0\.0\.1:\1 → 127\.0\.0\.1:(?!\1)\d+; a login page at http:\/\/127\.0\.0\.1:\d+\/interaction\//,
  );
  t.regex(
    evidence('home-and-recognized-claims'),
    /ID token \{"home":"http:\/\/127\.0\.0\.1:\d+","recognized":true\}.*local test user \{"home":"http:\/\/127\.0\.0\.1:\d+","recognized":false\}/,
  );
  t.regex(evidence('loa-cap'), /acr urn:weak:loa:1 \(level 1\); the home's real-name-op trust mark allows at most loa2/);
  t.regex(evidence('sso-second-visit'), /no login page; ended → https:\/\/rp\.weak\.invalid\/cb\?code=/);
  t.regex(
    evidence('logout-propagation'),
    /^logout: GET .*confirm → https:\/\/rp\.weak\.invalid\/bye; 1000 ms later identifier at .*a login page at/,
  );
  for (const r of results) t.log(line(r));
});

/** [what is broken, the module that must fail, the reason it gives]. */
const CASES: [{ visited?: Weakness[]; home?: Weakness[]; recognizes?: boolean }, string, RegExp][] = [
  [
    { visited: ['advertise-recognized'], recognizes: false },
    'cross-op-login',
    /the target asked for the password on its own page \(for 5 s\): the person registered at http:\/\/127\.0\.0\.1:\d+ was not sent home through the brokers/,
  ],
  [{ visited: ['no-home-claims'] }, 'home-and-recognized-claims', /the ID token has no home claim/],
  [{ visited: ['acr-above-home-mark'] }, 'loa-cap', /the recognized login's acr urn:weak:loa:3 is above what the home may assert \(loa2\)/],
  [
    { home: ['trust-mark-untrusted-issuer'] },
    'loa-cap',
    /the home's real-name-op trust mark, which bounds the level a recognized login may carry, does not validate/,
  ],
  [
    { visited: ['sso-ignored'] },
    'sso-second-visit',
    /the second visit asked the person to log in again at 127\.0\.0\.1:\d+: no session along the chain signed them in/,
  ],
  [
    { visited: ['logout-not-propagated'] },
    'logout-propagation',
    /after the logout the login was answered without a password: a session along the route outlived it/,
  ],
];

for (const [broken, module, reason] of CASES) {
  const label = [...(broken.visited ?? []).map((w) => `visited ${w}`), ...(broken.home ?? []).map((w) => `home ${w}`)].join(', ');
  test(`recognition/${module} fails against ${label}`, async (t) => {
    const results = await runRecognition(broken);
    const result = results.find((r) => r.module === `recognition/${module}`)!;
    t.is(result.status, 'FAIL', line(result));
    t.regex(result.reason ?? '', reason);
    t.truthy(result.evidence, 'with evidence');
    // Every module before it passes: the failure is that property's, not a broken setup.
    const order = results.map((r) => r.module);
    for (const r of results.slice(0, order.indexOf(result.module))) t.is(r.status, 'PASS', line(r));
    t.log(line(result));
  });
}

test('a broken second visit skips the logout check, naming it: without SSO a logout would have nothing to end', async (t) => {
  const results = await runRecognition({ visited: ['sso-ignored'] });
  t.deepEqual(statuses(results), {
    'cross-op-login': 'PASS',
    'home-and-recognized-claims': 'PASS',
    'loa-cap': 'PASS',
    'sso-second-visit': 'FAIL',
    'logout-propagation': 'SKIP',
  });
  t.is(results.at(-1)!.reason, 'prerequisite failed: recognition-sso (reported by recognition/sso-second-visit)');
});

test('without a home the plan is skipped, never passed, with the options to give', async (t) => {
  const results = await runRecognition({ withHome: false });
  t.deepEqual(
    results.map((r) => `${r.status} ${r.reason}`),
    recognitionPlan.modules.map(() => `SKIP ${NO_HOME}`),
  );
});
