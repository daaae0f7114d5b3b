/**
 * Catalogs across platforms: national's services entity (registries), Guangdong's and
 * Guangzhou's, each its own entity. Guangzhou holds national's and Guangdong's items through
 * Guangdong's feed; a change of a national directory item approved at national reaches
 * Guangzhou's implementation item and its guide once gd and then gz have pulled, and a change that
 * contradicts Guangzhou's item is flagged there as a draft for its owner, the version in force
 * unchanged. The feed answers only services entities of the federation.
 */
import test from 'ava';
import { exportJWK, generateKeyPair } from 'jose';
import { loadMasterKey } from '../../infra/crypto.ts';
import { signEntityAssertion } from '../../infra/entity-assertion.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { adminTokenFor } from '../../infra/entity-runtime.ts';
import type { DirectoryItem } from '../../services/catalog/catalog-schema.ts';
import { pullCatalogFeed, pullCatalogFeeds } from '../helpers/catalog-feeds.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';

let fed: TestFederation;

/** 居民身份证换领: a national directory item (公安部's), implemented by Guangzhou's public security bureau. */
const ID_CARD_RENEWAL = '200101001000';
const GZ_ITEM = '11440100000101002C3200101001000';
const MINISTRY = '11100000000101001F';

test.before(async () => {
  fed = await startTestFederation(['registries', 'gd-services', 'gz-services']);
});
test.after.always(async () => {
  await fed?.close();
});

async function call(id: string, method: string, path: string, body?: unknown, admin = true) {
  const url = fed.url(id);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (admin) headers.authorization = `Bearer ${adminTokenFor(loadMasterKey(fed.config.dataDir), url)}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** Drafts, submits and approves a change of the national directory item at national. */
async function changeAtNational(t: import('ava').ExecutionContext, item: DirectoryItem) {
  const draft = await call('registries', 'POST', '/admin/catalog/changes', { actor: MINISTRY, person: '甲', kind: 'directory', item });
  t.is(draft.status, 201, JSON.stringify(draft.json));
  t.is((await call('registries', 'POST', `/admin/catalog/changes/${draft.json.id}/submit`, { actor: MINISTRY, person: '甲' })).status, 200);
  const approved = await call('registries', 'POST', `/admin/catalog/changes/${draft.json.id}/approve`, { actor: MINISTRY, person: '乙' });
  t.is(approved.status, 200, JSON.stringify(approved.json));
  return approved.json.change as { version: number };
}

const inForce = async (code: string) => (await call('gz-services', 'GET', `/catalog/items/${code}`, undefined, false)).json;

test.serial("Guangzhou holds national's and Guangdong's items through Guangdong's feed, each saying whose it is", async (t) => {
  // The entities pulled at start already, perhaps before their superiors had: on demand, in order, all arrives.
  const [, gz] = await pullCatalogFeeds(fed, ['gd-services', 'gz-services']);
  t.deepEqual(
    gz!.skipped.filter((s) => !s.endsWith('held already')),
    [],
  );
  // Nothing new: a second pull applies nothing.
  t.is((await pullCatalogFeed(fed, 'gz-services')).applied, 0);

  const search = async (q: string) =>
    (await call('gz-services', 'GET', `/catalog/search?q=${encodeURIComponent(q)}`, undefined, false)).json.results as {
      name: string;
      facets: { platform: string; region: string };
    }[];
  t.like((await search('异地就医备案')).find((r) => r.name === '异地就医备案')?.facets, { platform: 'national', region: '100000' });
  t.like((await search('优粤卡')).find((r) => r.name === '广东省人才优粤卡申领')?.facets, { platform: 'gd', region: '440000' });
  t.like((await search('换身份证'))[0], { name: '居民身份证换领', facets: { platform: 'gz' } });
  const browse = (await call('gz-services', 'GET', '/catalog/browse', undefined, false)).json;
  t.deepEqual(Object.keys(browse.platform).sort(), ['gd', 'gz', 'national']);
});

test.serial("a directory change approved at national reaches Guangzhou's item and guide; a contradiction is flagged there", async (t) => {
  const directory = (await call('registries', 'GET', `/catalog/items/${ID_CARD_RENEWAL}`, undefined, false)).json.item as DirectoryItem;
  t.is(directory.legal_time_limit_days, 60);
  const before = await inForce(GZ_ITEM);
  t.is(before.item.promised_time_limit_days, 20);

  const shorter = await changeAtNational(t, { ...directory, legal_time_limit_days: 30 });
  // Not at gz until gd and then gz have pulled.
  t.is((await inForce(GZ_ITEM)).version, before.version);
  const [, gz] = await pullCatalogFeeds(fed, ['gd-services', 'gz-services']);
  const carried = gz!.propagated.find((c) => c.item_code === GZ_ITEM)!;
  t.like(carried, { state: 'approved', flags: [] });
  const now = await inForce(GZ_ITEM);
  t.is(now.version, carried.version);
  t.is(now.item.legal_time_limit_days, 30);
  const guide = (await call('gz-services', 'GET', `/catalog/items/${GZ_ITEM}/guide`, undefined, false)).json;
  t.is(guide.sections.find((s: { key: string }) => s.key === 'legal_time_limit').value, '30个工作日');
  // The held directory item keeps national's version numbers, and says where each came from.
  const held = (await call('gz-services', 'GET', `/catalog/items/${ID_CARD_RENEWAL}/history`, undefined, false)).json.versions as {
    version: number;
    origin: string;
    held_from: string;
    reviewer: string;
  }[];
  t.deepEqual(
    held.map((v) => [v.version, v.origin, v.held_from, v.reviewer]),
    [
      [1, 'import', 'national', 'import'],
      [shorter.version, 'feed', 'national', '乙'],
    ],
  );
  // Only national changes its item.
  const refused = await call('gz-services', 'POST', '/admin/catalog/changes', {
    actor: MINISTRY,
    person: '甲',
    kind: 'directory',
    item: { ...directory, legal_time_limit_days: 45 },
  });
  t.is(refused.status, 403);
  t.is(refused.json.error, 'not_owner');

  // Shorter than Guangzhou's promise: a person at Guangzhou must decide.
  await changeAtNational(t, { ...directory, legal_time_limit_days: 15 });
  const [, again] = await pullCatalogFeeds(fed, ['gd-services', 'gz-services']);
  const flagged = again!.propagated.find((c) => c.item_code === GZ_ITEM)!;
  t.is(flagged.state, 'draft');
  t.regex(
    flagged.flags.join('\n'),
    /directory item 200101001000 changed .*promised_time_limit_days: 20 is longer than the new legal time limit 15/,
  );
  t.is((await inForce(GZ_ITEM)).version, now.version, 'the version in force stays until its owner decides');
  t.is((await inForce(ID_CARD_RENEWAL)).item.legal_time_limit_days, 15);
});

test.serial('the feed refuses callers that are not services entities of the federation, and bad cursors', async (t) => {
  const feed = async (authorization?: string, after = '0') => {
    const res = await fetch(`${fed.url('gd-services')}/catalog/feed?after=${after}`, { headers: authorization ? { authorization } : {} });
    return { status: res.status, json: (await res.json()) as Record<string, string> };
  };
  t.like(await feed(), { status: 401, json: { error: 'unauthorized' } });
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const key = { ...(await exportJWK(privateKey)), kid: 'stranger', alg: 'ES256', use: 'sig' } as PrivateJwk;
  const stranger = await signEntityAssertion(key, 'http://127.0.0.1:9', fed.url('gd-services'));
  const refused = await feed(`Bearer ${stranger}`);
  t.is(refused.status, 401);
  t.regex(refused.json.error_description!, /not a trusted entity/);
  // Guangzhou's services entity, signing with its own key: a page, and a clear refusal of a bad cursor.
  const gz = fed.host.entities.find((e) => e.entity.id === 'gz-services')!;
  const as = async () => `Bearer ${await signEntityAssertion(gz.runtime.keyRing.signingKey(), gz.url, fed.url('gd-services'))}`;
  const page = await feed(await as());
  t.is(page.status, 200, JSON.stringify(page.json));
  t.true((page.json.entries as unknown as unknown[]).length > 0);
  t.like(await feed(await as(), 'x'), { status: 400, json: { error: 'invalid_request' } });
  t.is((await call('registries', 'POST', '/admin/catalog/feed/pull')).status, 404, 'national pulls from no one');
});
