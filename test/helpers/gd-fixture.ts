/**
 * The shared setup of integration test files: their federation and a client at one OP, started
 * before the file's tests and closed after them. Kept apart from the flows (flows.ts) because it
 * registers hooks with the test runner, which the benchmarks must not load.
 */
import test from 'ava';
import { relyingParty, type RelyingParty } from './flows.ts';
import { startTestFederation, type TestFederation } from './test-federation.ts';

export function federationWithClient(ids: string[], op: string): { fed: TestFederation; rp: RelyingParty } {
  const env = {} as { fed: TestFederation; rp: RelyingParty };
  test.before(async () => {
    env.fed = await startTestFederation(ids);
    env.rp = await relyingParty(env.fed, op);
  });
  test.after.always(async () => {
    await env.fed?.close();
  });
  return env;
}
