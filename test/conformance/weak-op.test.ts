/**
 * No module passes vacuously: against a sound plain oidc-provider (the control) every module
 * passes, and against the same OP with one weakness the module that checks that property fails
 * (or warns, where the suite's contract is a warning: the rate limit). See helpers/weak-op.ts.
 */
import test from 'ava';
import type { TargetConfig } from '../../conformance/context.ts';
import { NOT_ADVERTISED } from '../../conformance/modules/recognition.ts';
import { PLANS } from '../../conformance/plans.ts';
import { runPlans } from '../../conformance/runner.ts';
import type { ModuleResult, Status } from '../../conformance/types.ts';
import { line, startWeakOp, targetOf, type Weakness, type WeakOpOptions } from './helpers/weak-op.ts';

async function runAgainst(opts: WeakOpOptions, modules: string[] | undefined, extra: Partial<TargetConfig> = {}): Promise<ModuleResult[]> {
  const op = await startWeakOp(opts);
  try {
    return (await runPlans([...PLANS], targetOf(op, extra), modules ? { modules } : {})).results;
  } finally {
    await op.close();
  }
}

test('control: a sound plain oidc-provider passes every module (recognition: skipped, it does not advertise it)', async (t) => {
  const results = await runAgainst({}, undefined);
  // A timing warning of user-enumeration is a measurement on a loaded machine, not a verdict: tolerated.
  const timing = (r: ModuleResult) =>
    r.module === 'op-negative/user-enumeration' && r.status === 'WARN' && /consistently longer/.test(r.reason ?? '');
  const notPassed = results.filter(
    (r) => r.status !== 'PASS' && !r.module.startsWith('recognition/') && r.module !== 'par-fapi2/short-code-lifetime' && !timing(r),
  );
  t.deepEqual(notPassed.map(line), []);
  t.is(results.find((r) => r.module === 'par-fapi2/short-code-lifetime')?.status, 'SKIP', 'it waits: only with --slow (next test)');
  const recognition = results.filter((r) => r.module.startsWith('recognition/'));
  t.is(recognition.length, 5);
  for (const r of recognition) t.is(`${r.status} ${r.reason}`, `SKIP ${NOT_ADVERTISED}`);
  t.is(
    results.length,
    PLANS.reduce((n, p) => n + p.modules.length, 0),
    'every module ran',
  );
});

/** [weakness, module, expected status]: the module must report that status against an OP with that weakness. */
const CASES: [Weakness, string, Status][] = [
  ['discovery-wrong-type', 'op-config/discovery-fetch', 'FAIL'],
  ['issuer-mismatch', 'op-config/discovery-issuer-match', 'FAIL'],
  ['no-jwks-uri', 'op-config/discovery-required-metadata', 'FAIL'],
  ['private-jwks', 'op-config/jwks', 'FAIL'],
  ['alg-none-advertised', 'op-config/id-token-algs', 'FAIL'],
  ['implicit', 'op-config/response-types-code-only', 'FAIL'],
  ['pkce-plain-advertised', 'op-config/pkce-s256-only', 'FAIL'],
  ['no-iss', 'op-config/iss-parameter-supported', 'FAIL'],
  ['no-par', 'op-config/par-advertised', 'FAIL'],
  ['token-cacheable', 'op-basic/code-flow-pkce', 'FAIL'],
  ['state-mangled', 'op-basic/state-nonce-echo', 'FAIL'],
  ['wrong-jwks', 'op-basic/id-token-validation', 'FAIL'],
  ['userinfo-other-sub', 'op-basic/userinfo-sub', 'FAIL'],
  ['name-without-profile', 'op-basic/claims-by-scope', 'FAIL'],
  ['no-refresh-rotation', 'op-basic/refresh-rotation', 'FAIL'],
  ['revocation-noop', 'op-basic/revocation', 'FAIL'],
  ['no-iss', 'op-basic/iss-in-authorization-response', 'FAIL'],
  ['pkce-optional', 'op-negative/pkce-missing-refused', 'FAIL'],
  ['pkce-plain', 'op-negative/pkce-plain-refused', 'FAIL'],
  ['pkce-ignored', 'op-negative/pkce-wrong-verifier-refused', 'FAIL'],
  ['redirect-omittable', 'op-negative/redirect-uri-exact-match', 'FAIL'],
  ['code-reusable', 'op-negative/code-reuse-refused', 'FAIL'],
  ['reuse-no-revoke', 'op-negative/code-reuse-refused', 'FAIL'],
  ['any-client-secret', 'op-negative/client-auth-wrong-secret-refused', 'FAIL'],
  ['request-uri-reusable', 'op-negative/request-uri-replay-refused', 'FAIL'],
  ['large-headers', 'op-negative/oversize-parameter-refused', 'FAIL'],
  ['fragile-parser', 'op-negative/malformed-parameters-refused', 'FAIL'],
  ['open-redirect-auth', 'op-negative/open-redirect-auth', 'FAIL'],
  ['open-redirect-logout', 'op-negative/open-redirect-logout', 'FAIL'],
  ['no-csrf', 'op-negative/login-csrf', 'FAIL'],
  ['enumeration', 'op-negative/user-enumeration', 'FAIL'],
  ['no-rate-limit', 'op-negative/login-rate-limit', 'WARN'],
  ['par-no-auth', 'par-fapi2/par-flow', 'FAIL'],
  ['par-not-enforced', 'par-fapi2/par-required-enforced', 'FAIL'],
  ['assertion-ignored', 'par-fapi2/private-key-jwt-forged-refused', 'FAIL'],
  ['dpop-header-dropped', 'par-fapi2/dpop-sender-constrained', 'FAIL'],
  ['dpop-off', 'par-fapi2/dpop-sender-constrained', 'SKIP'],
  ['ec-wrong-typ', 'federation/entity-configuration', 'FAIL'],
  ['ec-bad-signature', 'federation/entity-configuration', 'FAIL'],
  ['superior-wrong-key', 'federation/subordinate-statement', 'FAIL'],
  ['superior-wrong-key', 'federation/trust-chain', 'FAIL'],
  ['resolve-wrong-metadata', 'federation/resolve-matches-library', 'FAIL'],
  ['resolve-accepts-unknown', 'federation/resolve-refuses-unknown', 'FAIL'],
  ['trust-mark-untrusted-issuer', 'federation/trust-marks', 'FAIL'],
  ['trust-mark-status-lies', 'federation/trust-marks', 'FAIL'],
  ['historical-keys-private', 'federation/historical-keys', 'FAIL'],
];

for (const [weakness, module, status] of CASES) {
  test(`${module} reports ${status} against an OP with the weakness ${weakness}`, async (t) => {
    const [result] = await runAgainst({ weaknesses: [weakness] }, [module]);
    t.truthy(result, 'the module ran');
    t.is(result!.status, status, line(result!));
    if (status !== 'SKIP') t.truthy(result!.reason, 'a reason is given');
    t.log(line(result!));
  });
}

test('par-fapi2/short-code-lifetime passes when codes expire within --max-code-ttl (with --slow)', async (t) => {
  const [result] = await runAgainst({ codeTtl: 3 }, ['par-fapi2/short-code-lifetime'], { slow: true, maxCodeTtlSeconds: 3 });
  t.is(result!.status, 'PASS', line(result!));
});

test('par-fapi2/short-code-lifetime fails when codes live longer than --max-code-ttl (with --slow)', async (t) => {
  const [result] = await runAgainst({ codeTtl: 600 }, ['par-fapi2/short-code-lifetime'], { slow: true, maxCodeTtlSeconds: 1 });
  t.is(result!.status, 'FAIL', line(result!));
  t.regex(result!.reason!, /redeemed 3 s after/);
});

test('par-fapi2/short-code-lifetime is skipped, never passed, without --slow', async (t) => {
  const [result] = await runAgainst({}, ['par-fapi2/short-code-lifetime']);
  t.is(`${result!.status} ${result!.reason}`, 'SKIP waits 62 s for a code to expire; run with --slow');
});

test('modules that need a lockout account or a PAR-only client are skipped with the reason when none is given', async (t) => {
  const results = await runAgainst(
    {},
    ['op-negative/login-rate-limit', 'par-fapi2/par-required-enforced', 'par-fapi2/private-key-jwt-client-auth'],
    {
      lockoutUser: undefined,
      parClient: undefined,
      jwtClient: undefined,
    },
  );
  t.deepEqual(
    results.map((r) => [r.module, r.status, r.reason]),
    [
      [
        'op-negative/login-rate-limit',
        'SKIP',
        'needs a second account that may be locked out (--lockout-username/--lockout-password, or --register); the test user is never locked out',
      ],
      [
        'par-fapi2/par-required-enforced',
        'SKIP',
        'needs a client registered to require PAR (--par-client-id/--par-client-secret, or --register)',
      ],
      [
        'par-fapi2/private-key-jwt-client-auth',
        'SKIP',
        'needs a client registered with private_key_jwt and its private key (--jwt-client-id/--jwt-key)',
      ],
    ],
  );
});

test('a wrong test password fails the first module that logs in, and skips the others with the prerequisite named', async (t) => {
  const op = await startWeakOp();
  try {
    const run = await runPlans(
      [...PLANS],
      { ...targetOf(op), user: { username: op.user.username, password: 'not-the-password-1' } },
      { modules: ['op-basic'] },
    );
    const [first, ...rest] = run.results;
    t.is(first!.module, 'op-basic/code-flow-pkce');
    t.is(first!.status, 'FAIL');
    t.regex(first!.reason!, /login could not be completed: the password was refused/);
    for (const r of rest) t.is(r.status, 'SKIP', line(r));
    t.true(rest.every((r) => /^prerequisite failed: (login|first-tokens) \(reported by op-basic\/code-flow-pkce\)$/.test(r.reason!)));
    t.is(run.summary.failed, 1);
  } finally {
    await op.close();
  }
});
