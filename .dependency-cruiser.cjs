/**
 * The layers of DESIGN.md's Components table, enforced in `npm test` (`npm run lint:layers`).
 * A rule names what a folder may NOT import; everything not forbidden is allowed:
 *   infra/ (shared infrastructure) → nothing of the project
 *   federation/, services/, portal-demo/ → infra/
 *   idp/ → federation/, infra/
 *   conformance/ (a client-side tool that tests any issuer from outside) → federation/, infra/
 *   cli/, test/, bench/, fuzz/ → anything; only test/ may use the test runner.
 * Type-only imports count for the layers (they still couple the code) but not for cycles.
 */
module.exports = {
  forbidden: [
    {
      name: 'infra-is-the-base',
      comment: 'Shared infrastructure imports nothing of the project above it.',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: '^(federation|idp|services|portal-demo|conformance|cli|test|bench|fuzz)/' },
    },
    {
      name: 'federation-on-infra-only',
      comment: 'The trust layer may use shared infrastructure only (DESIGN.md, Components).',
      severity: 'error',
      from: { path: '^federation/' },
      to: { path: '^(idp|services|portal-demo|conformance|cli|test|bench|fuzz)/' },
    },
    {
      name: 'services-on-infra-and-trust-only',
      comment:
        'Services talk to OPs over HTTP/OIDC only; as entities of the federation they use its trust layer (federation/) to know whom to trust.',
      severity: 'error',
      from: { path: '^services/' },
      to: { path: '^(idp|portal-demo|conformance|cli|test|bench|fuzz)/' },
    },
    {
      name: 'portals-on-infra-only',
      comment: 'Portals talk to everything else over HTTP only.',
      severity: 'error',
      from: { path: '^portal-demo/' },
      to: { path: '^(federation|idp|services|conformance|cli|test|bench|fuzz)/' },
    },
    {
      name: 'idp-on-federation-and-infra',
      comment: 'The OP uses the trust layer (trust, registry client) and shared infrastructure.',
      severity: 'error',
      from: { path: '^idp/' },
      to: { path: '^(services|portal-demo|conformance|cli|test|bench|fuzz)/' },
    },
    {
      name: 'conformance-is-a-client',
      comment: 'The conformance suite tests any issuer from outside: it may use the trust layer, not reach into the OP or the CLI.',
      severity: 'error',
      from: { path: '^conformance/' },
      to: { path: '^(idp|services|portal-demo|cli|test|bench|fuzz)/' },
    },
    {
      name: 'no-test-runner-outside-tests',
      comment:
        'The product, benchmarks and the fuzz harness never load the test runner, not even through a test helper they share (bench/ uses test/helpers/test-federation.ts, which must stay free of ava).',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '(^|/)node_modules/ava/', reachable: true },
    },
    {
      name: 'interactions-and-broker-apart',
      comment: 'The interaction pages and the broker side meet in idp/login/ (the login story and what both share), not in each other.',
      severity: 'error',
      from: { path: '^idp/(interactions|broker)/' },
      to: { path: '^idp/(interactions|broker)/', pathNot: '^idp/$1/' },
    },
    {
      name: 'routes-import-rules-and-views',
      comment: 'A route file never imports a sibling route file: shared steps live in rules or views.',
      severity: 'error',
      from: { path: '-routes\\.ts$' },
      to: { path: '-routes\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles at run time (a cycle of type-only imports is harmless: it is gone after compilation).',
      severity: 'error',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'], viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|data|dist)/' },
  },
};
