/**
 * `gov-id demo story` against a running federation over HTTP: every step answers as expected and
 * the command exits 0; with people of an OP that is not running it fails with exit status 1 at
 * the first step.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { casesApi, personWithToken } from '../helpers/cases-api.ts';
import { runCli } from '../helpers/integration-extra.ts';
import { until } from '../helpers/until.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gd', 'gz', 'zj', 'registries', 'gz-services', 'zj-services']);
  // An OP obtains its real-name-op trust mark after it starts; the story needs it for service tokens.
  for (const [op, services] of [
    ['gz', 'gz-services'],
    ['zj', 'zj-services'],
  ]) {
    const { token } = await personWithToken(fed, op!, services!);
    const api = casesApi(fed, services!);
    await until(async () => (await api.call('GET', '/me', { token })).status === 200, `${op} trusted with service tokens`, 60_000);
  }
});
test.after.always(async () => {
  await fed?.close();
});

test('the demo story runs step by step and exits 0', async (t) => {
  t.timeout(10 * 60_000);
  const run = await runCli(['demo', 'story', '--topology', fed.topologyFile, '--data', fed.config.dataDir]);
  t.is(run.code, 0, run.stdout + run.stderr);
  const steps = run.stdout.split('\n').filter((l) => /^ {2}✔/.test(l));
  t.true(steps.length >= 19, run.stdout);
  t.regex(run.stdout, /case ZJ-\d{8}-\d{6}-[0-9A-Z], handed to gz-services/);
  t.regex(run.stdout, /case GZ-\d{8}-\d{6}-[0-9A-Z]/);
  t.regex(run.stdout, /Every step gave the expected answer/);
});

test('the story stops at the first step that fails (an OP that is not running), with exit status 1', async (t) => {
  const run = await runCli(['demo', 'story', '--op', 'sz', '--topology', fed.topologyFile, '--data', fed.config.dataDir]);
  t.is(run.code, 1, run.stdout + run.stderr);
  t.regex(run.stdout, /✘ {2}1\. a person registers at sz/);
});
