/**
 * `gov-id` without a federation: help and usage errors, as the bin answers them, and once through
 * `npx gov-id` and `npm run gov-id` in the project folder, as a person types them.
 */
import test from 'ava';
import { runCli, runInProject } from '../helpers/integration-extra.ts';

const HELP_START = 'gov-id — federated identity for Internet + government services\n';

test('help, --help, -h and no command print the same help on stdout, exit status 0', async (t) => {
  const outputs: string[] = [];
  for (const args of [['help'], ['--help'], ['-h'], []]) {
    const r = await runCli(args);
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stderr, '', args.join(' '));
    t.true(r.stdout.startsWith(HELP_START), args.join(' '));
    outputs.push(r.stdout);
  }
  t.true(
    outputs.every((o) => o === outputs[0]),
    'the same text every time',
  );
  for (const command of [
    'start',
    'serve --entity ID',
    'topology',
    'admin client add',
    'federation trust-marks grant',
    'keys rotate',
    'audit verify',
    'conformance --issuer URL',
  ]) {
    t.true(outputs[0]!.includes(`  gov-id ${command}`), command);
  }
  t.regex(outputs[0]!, /plans: op-config, op-basic, op-negative, par-fapi2, federation, recognition/);
});

test('usage errors exit with status 2, say what is wrong on stderr, and print nothing on stdout', async (t) => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /^gov-id: unknown command: frobnicate\nRun "gov-id help" for usage\.\n$/],
    [['topology', '--no-such-flag'], /^gov-id: Unknown option '--no-such-flag'/],
    [
      ['admin'],
      /^gov-id: admin needs a command; use one of person add, org add, outbox, account move, account conflicts, account close-duplicate, account retry-conflicts, client add\n/,
    ],
    [['admin', 'frobnicate'], /^gov-id: unknown admin command: frobnicate; use one of person add, org add/],
    [['federation'], /^gov-id: federation needs a command; use one of list, add-subordinate, .*trust-marks revoke\n/],
    [
      ['federation', 'trust-marks', 'frobnicate'],
      /^gov-id: unknown federation trust-marks command: frobnicate; use one of list, grant, revoke\n/,
    ],
    [['serve'], /^gov-id: serve needs --entity ID\nRun "gov-id help" for usage\.\n$/],
    [['serve', '--entity', 'gd', '--port', '70000'], /^gov-id: --port: 70000 is not a TCP port \(1 to 65535\)\n/],
    [['serve', '--entity', 'gd', '--workers', 'many'], /^gov-id: --workers: many is not a number of processes \(1 to 1024\)\n/],
    [['start', '--workers', '0'], /^gov-id: --workers: 0 is not a number of processes/],
    [['admin', 'outbox'], /^gov-id: admin outbox needs --to PHONE\n/],
    [['keys', 'rotate', '--entity', 'gd', '--lead', 'soon'], /^gov-id: --lead takes a number of seconds\n/],
    [['migrate', '--entity', 'nowhere'], /^gov-id: --entity: no entity "nowhere" in topology demo/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { GOV_ID_TOPOLOGY: '' });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.is(r.stdout, '', args.join(' '));
  }
});

test('more than one worker process needs PostgreSQL and Redis: on the embedded defaults, a usage error', async (t) => {
  for (const env of [{}, { DATABASE_URL: 'postgres://127.0.0.1:9/none' }, { REDIS_URL: 'redis://127.0.0.1:9' }]) {
    const r = await runCli(['serve', '--entity', 'gd', '--workers', '2'], { GOV_ID_TOPOLOGY: '', DATABASE_URL: '', REDIS_URL: '', ...env });
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /^gov-id: --workers: more than one process needs PostgreSQL and Redis \(DATABASE_URL and REDIS_URL\)/);
    t.is(r.stdout, '');
  }
});

test('npx gov-id and npm run gov-id in the project folder answer help and usage errors', async (t) => {
  const help = await runInProject('npx', ['gov-id', 'help']);
  t.is(help.code, 0, help.stderr);
  t.true(help.stdout.startsWith(HELP_START));
  const unknown = await runInProject('npm', ['run', '--silent', 'gov-id', '--', 'frobnicate']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /gov-id: unknown command: frobnicate/);
});
