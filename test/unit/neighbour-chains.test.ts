/**
 * The background refresh of neighbours' chains (federation/neighbour-chains.ts) with its
 * collaborators faked: a failure is logged once and retried until it succeeds, warmth waits for
 * the failures that are not unreachability, and stop() ends the rounds.
 */
import test from 'ava';
import { NeighbourChains, OneRoundAtATime } from '../../federation/neighbour-chains.ts';
import { UntrustedOp, type TrustedOps } from '../../federation/trusted-op.ts';
import type { FederationClients } from '../../federation/automatic-registration.ts';
import type { StatementFetcher } from '../../federation/trust-chain.ts';
import { until } from '../helpers/until.ts';

const [NATIONAL, GD, GZ, DOWN] = ['https://national.test', 'https://gd.test', 'https://gz.test', 'https://down.test'];
const PATHS: Record<string, string[]> = { [NATIONAL]: [NATIONAL], [GD]: [GD, NATIONAL], [GZ]: [GZ, GD, NATIONAL] };

function setup(opts: { gzFailures: number }) {
  const refreshed: string[] = [];
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  let gzFailures = opts.gzFailures;
  const trustedOps = {
    async refresh(id: string) {
      refreshed.push(id);
      if (id === DOWN) throw new UntrustedOp(id, 'connection refused', true);
      if (id === GZ && gzFailures-- > 0) throw new UntrustedOp(id, 'no real-name-op trust mark yet');
      return PATHS[id]!;
    },
  } as unknown as TrustedOps;
  const clients = Object.assign(async () => null, { refresh: async () => {} }) as FederationClients;
  const chains = new NeighbourChains({
    self: GD,
    ops: () => [NATIONAL, GD, GZ, DOWN],
    trustedOps,
    hops: { clients, prepare: async () => {} },
    callers: 'below',
    refreshCallerKeys: async () => {},
    fetcher: {} as StatementFetcher,
    log: {
      warn: (msg, fields) => logs.push({ level: 'warn', msg, ...(fields ? { fields } : {}) }),
      info: (msg, fields) => logs.push({ level: 'info', msg, ...(fields ? { fields } : {}) }),
    },
    retryMs: 5,
    stepPauseMs: 0,
  });
  return { chains, refreshed, logs };
}

test('a failure is logged once, retried with backoff until it succeeds, and its recovery logged', async (t) => {
  const { chains, refreshed, logs } = setup({ gzFailures: 3 });
  t.teardown(() => chains.stop());
  chains.start();
  await chains.whenWarm();
  t.true(refreshed.filter((id) => id === GZ).length >= 4, 'gz tried again until it succeeded');
  const warnings = logs.filter((l) => l.level === 'warn');
  t.is(warnings.length, 1, 'one warning for the whole failure streak');
  t.deepEqual(Object.keys(warnings[0]!.fields!.failed as object).sort(), [`op ${DOWN}`, `op ${GZ}`]);
  t.true(logs.some((l) => l.level === 'info' && l.fields?.neighbour === `op ${GZ}`));
});

test('stop() ends the rounds: an unreachable neighbour is no longer retried', async (t) => {
  const { chains, refreshed } = setup({ gzFailures: 0 });
  chains.start();
  await until(async () => refreshed.filter((id) => id === DOWN).length >= 2, 'a retry of the unreachable neighbour');
  await chains.stop();
  const tries = refreshed.length;
  await new Promise((r) => setTimeout(r, 50));
  t.is(refreshed.length, tries);
});

test('the rounds of the entities of a process made close together share the statements they fetch; a later round fetches them again', async (t) => {
  const fetches = new Map<string, number>();
  const fetcher = {
    entityConfiguration: async (id: string) => (fetches.set(id, (fetches.get(id) ?? 0) + 1), `statement of ${id}`),
  } as unknown as StatementFetcher;
  // A chain's resolution fetches the configuration of every entity on its path, through the round's fetcher.
  const trustedOps = {
    async refresh(id: string, o: { fetcher: StatementFetcher }) {
      for (const onPath of PATHS[id]!) await o.fetcher.entityConfiguration(onPath);
      return PATHS[id]!;
    },
  } as unknown as TrustedOps;
  const turns = new OneRoundAtATime(1500);
  const entity = (self: string) =>
    new NeighbourChains({
      self,
      ops: () => [NATIONAL, GD, GZ],
      trustedOps,
      callers: 'below',
      refreshCallerKeys: async () => {},
      fetcher,
      log: { warn: () => {}, info: () => {} },
      turns,
      stepPauseMs: 0,
      cacheSeconds: 4,
    });
  const all = [entity(NATIONAL), entity(GD), entity(GZ)];
  t.teardown(() => Promise.all(all.map((c) => c.stop())));
  for (const c of all) c.start();
  await Promise.all(all.map((c) => c.whenWarm()));
  t.deepEqual(Object.fromEntries(fetches), { [NATIONAL]: 1, [GD]: 1, [GZ]: 1 }, 'three first rounds, each statement fetched once');
  await until(async () => (fetches.get(NATIONAL) ?? 0) >= 2, 'a later round fetching the anchor statement again');
  t.pass();
});
