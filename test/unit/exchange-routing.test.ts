/**
 * federation/exchange-nodes.ts: a node's path is read from its trust chain (the authorities above
 * it, each mapped to its platform's node), and a data request climbs to the first node on the
 * holder's path and descends it — Zhejiang's node asking Guangzhou's goes through national's and
 * Guangdong's — with loops, overlong and malformed routes refused by code.
 */
import test from 'ava';
import { ExchangeNodes } from '../../federation/exchange-nodes.ts';
import type { TrustedResources } from '../../federation/trusted-resources.ts';
import { HttpError } from '../../infra/errors.ts';

const N = 'https://national.example';
const G = 'https://gd.example';
const Z = 'https://zj.example';
const node = (code: string) => `https://${code}-services.example`;

/** The trust chains' paths: [entity, its superiors..., anchor]. */
const CHAINS: Record<string, string[]> = {
  [node('national')]: [node('national'), N],
  [node('gd')]: [node('gd'), G, N],
  [node('gz')]: [node('gz'), G, N],
  [node('zj')]: [node('zj'), Z, N],
};
const resources = { pathOf: async (id: string) => CHAINS[id] ?? null } as unknown as TrustedResources;
const nodeOf = (authority: string) => ({ [N]: node('national'), [G]: node('gd'), [Z]: node('zj') })[authority] ?? null;
const at = (self: string) => new ExchangeNodes({ self, resources, nodeOf, nodes: () => Object.keys(CHAINS) });

test('a node path maps the authorities of its chain to their nodes', async (t) => {
  t.deepEqual(await at(node('zj')).nodePath(node('gz')), [node('gz'), node('gd'), node('national')]);
  t.deepEqual(await at(node('zj')).nodePath(node('zj')), [node('zj'), node('national')], "a province's node is its authority's node");
  t.is(await at(node('zj')).nodePath('https://stranger.example'), null);
});

test('zj → national → gd → gz, hop by hop; the holder serves', async (t) => {
  const route: string[] = [];
  for (let self: string | null = node('zj'); self; self = await at(self).nextHop(node('gz'))) route.push(self);
  t.deepEqual(route, [node('zj'), node('national'), node('gd'), node('gz')]);
  t.is(await at(node('gd')).nextHop(node('gd')), null);
  t.is(await at(node('gz')).nextHop(node('gd')), node('gd'), 'a city asks its province by climbing one hop');
});

test('a holder outside the federation has no route; loops and overlong routes are refused', async (t) => {
  const noRoute = await t.throwsAsync(at(node('zj')).nextHop('https://stranger.example'), { instanceOf: HttpError });
  t.like(noRoute, { status: 404, code: 'no_route' });
  t.like(
    t.throws(() => at(node('gd')).extendRoute([node('zj'), node('gd')])),
    { status: 400, code: 'route_loop' },
  );
  t.like(
    t.throws(() => at(node('gd')).extendRoute(['a', 'b'].map((x) => `https://${x}.example`).concat('not a url'))),
    { status: 400, code: 'route_malformed' },
  );
  t.like(
    t.throws(() => at(node('gd')).extendRoute([1, 2, 3, 4, 5, 6].map((n) => `https://n${n}.example`))),
    { status: 400, code: 'route_too_long' },
  );
  t.deepEqual(at(node('national')).extendRoute([node('zj')]), [node('zj'), node('national')]);
});
