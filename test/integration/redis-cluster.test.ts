/**
 * gov-id on a Redis Cluster: three masters of the test's own on loopback, given to the federation
 * as `redis+cluster://…`. Logins, refresh rotation, a cross-tier login and the logout that ends
 * its sessions along the chain, and the lockout all work on it; every key an entity wrote carries
 * its `{entity}` hash tag, so all of an entity's keys sit in one slot (multi-key commands stay
 * legal) while different entities spread over the nodes.
 */
import test from 'ava';
import { Cluster, ReplyError } from 'ioredis';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { redisServerInstalled } from '../helpers/private-redis.ts';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../helpers/private-redis-cluster.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, oidc, passwordLogin, redeem, relyingParty } from '../helpers/flows.ts';
import { seededPerson } from '../helpers/integration-extra.ts';
import { loginAt, opSite, registerAt } from '../helpers/recognition-sites.ts';
import { THROTTLE_POLICY } from '../../idp/accounts/login-throttle.ts';
import { parseClusterUrl } from '../../infra/redis-client.ts';
import { until } from '../helpers/until.ts';

const PASSWORD = 'Cluster-pass-1';
const skipped = redisServerInstalled ? '' : ' (skipped: redis-server is not installed)';
const clusterTest = redisServerInstalled ? test.serial : test.skip;

let cluster: PrivateRedisCluster;
let fed: TestFederation;

test.before(async () => {
  if (!redisServerInstalled) return;
  cluster = await startPrivateRedisCluster();
  fed = await startTestFederation(['gz', 'sz', 'zj', 'registries'], { redisUrl: cluster.url });
});
test.after.always(async () => {
  await fed?.close();
  await cluster?.stop();
});

clusterTest(`a password login and refresh rotation on the cluster${skipped}`, async (t) => {
  const person = await seededPerson(fed, 'gz', PASSWORD);
  const rp = await relyingParty(fed, 'gz');
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const tokens = await redeem(rp, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
  const first = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  const second = await oidc.refreshTokenGrant(rp.config, first.refresh_token!);
  t.is(second.claims()?.sub, tokens.claims()!.sub);
  const userinfo = await oidc.fetchUserInfo(rp.config, second.access_token, tokens.claims()!.sub);
  t.is(userinfo.sub, tokens.claims()!.sub, 'the access token, kept in the cluster, is found');
  await t.throwsAsync(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), undefined, 'a used refresh token is refused');
});

clusterTest(`a cross-tier login, single sign-on, and a logout that ends the sessions along the chain${skipped}`, async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, PASSWORD);
  const [zj, sz] = [opSite(fed, 'zj'), opSite(fed, 'sz')];
  const ua = new UserAgent();
  const atZj = await loginAt(ua, zj, person.id_number, PASSWORD);
  t.is(atZj.signedIn.home, fed.url('gz'));
  t.is((await loginAt(ua, sz, person.id_number, null)).passwordPage, null, 'single sign-on through the sessions along the chain');

  const confirm = await ua.navigate(`${fed.url('zj')}/session/end?id_token_hint=${atZj.signedIn.idToken}`);
  t.is((await ua.submit(confirm, '/session/end/confirm', { logout: 'yes' })).status, 200);
  t.truthy((await loginAt(ua, sz, person.id_number, PASSWORD)).passwordPage, 'after the logout the home asks for the password again');
});

clusterTest(`the lockout holds on the cluster${skipped}`, async (t) => {
  const person = await seededPerson(fed, 'gz', PASSWORD);
  const rp = await relyingParty(fed, 'gz');
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const passwordPage = await ua.submit(a.page, '/identifier', { identifier: person.id_number });
  const statuses: number[] = [];
  for (let i = 0; i < THROTTLE_POLICY.failuresPerAccount; i++)
    statuses.push((await ua.submit(passwordPage, '/password', { password: 'Wrong-pass-1' })).status);
  t.deepEqual(statuses, [...Array(THROTTLE_POLICY.failuresPerAccount - 1).fill(401), 429]);
  t.is((await ua.submit(passwordPage, '/password', { password: PASSWORD })).status, 429, 'locked: even the right password is refused');
});

clusterTest(`every key of an entity is in its entity's slot, and entities spread over the nodes${skipped}`, async (t) => {
  const namespace = `gov-id:${fed.topology.name}:${fed.config.schemaPrefix}:`;
  const keysByNode = await Promise.all(
    cluster.nodes.map(async (node) => (await cluster.cli(node, '--scan', '--pattern', `${namespace}*`)).split('\n').filter(Boolean)),
  );
  const all = keysByNode.flat();
  t.true(all.length > 50, `keys written: ${all.length}`);
  const untagged = all.filter((key) => !/^\{[a-z0-9_-]+\}:/.test(key.slice(namespace.length)));
  t.deepEqual(untagged, [], 'every key starts with its entity hash tag');
  const tagOf = (key: string) => /\{([^}]*)\}/.exec(key)![1]!;
  const nodesOfTag = new Map<string, Set<number>>();
  keysByNode.forEach((keys, node) =>
    keys.forEach((key) => nodesOfTag.set(tagOf(key), (nodesOfTag.get(tagOf(key)) ?? new Set()).add(node))),
  );
  for (const [tag, nodes] of nodesOfTag) t.is(nodes.size, 1, `the keys of ${tag} are all on one node`);
  t.true(new Set([...nodesOfTag.values()].map((nodes) => [...nodes][0])).size >= 2, 'the entities are spread over several nodes');
  // Whose slots they are: each entity's keys hash to the slot of its tag alone.
  for (const key of all.slice(0, 20)) {
    const [slot, tagSlot] = await Promise.all([
      cluster.cli(cluster.nodes[0]!, 'cluster', 'keyslot', key),
      cluster.cli(cluster.nodes[0]!, 'cluster', 'keyslot', `{${tagOf(key)}}`),
    ]);
    t.is(slot, tagSlot, key);
  }
});

clusterTest(`without the hash tag the cluster refuses a command over two entities' keys${skipped}`, async (t) => {
  const address = parseClusterUrl(cluster.url)!;
  const client = new Cluster(address.nodes, { lazyConnect: true });
  await client.connect();
  try {
    const scoped = fed.host.entities.find((e) => e.entity.id === 'gz')!.runtime.kv;
    await scoped.set('probe:a', '1', 60);
    await scoped.set('probe:b', '2', 60);
    await t.notThrowsAsync(scoped.del('probe:a', 'probe:b'), 'two keys of one entity: one slot, one command');
    // The same two names in two entities' namespaces: slots apart, so Redis refuses the command.
    const namespace = `gov-id:${fed.topology.name}:${fed.config.schemaPrefix}:`;
    const err = await t.throwsAsync(client.del(`${namespace}{gz}:probe:a`, `${namespace}{zj}:probe:a`));
    t.true(err instanceof ReplyError && /CROSSSLOT/.test(err.message), String(err));
  } finally {
    client.disconnect();
  }
});

clusterTest(`a message published by one entity's store reaches its subscriber through the cluster${skipped}`, async (t) => {
  const kv = fed.host.entities.find((e) => e.entity.id === 'zj')!.runtime.kv;
  const received: string[] = [];
  const unsubscribe = await kv.subscribe('probe', (message) => received.push(message));
  try {
    await kv.publish('probe', 'hello');
    await until(async () => received.includes('hello'), 'the message to arrive');
    t.deepEqual(received, ['hello']);
  } finally {
    await unsubscribe();
  }
});
