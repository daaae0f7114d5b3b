/**
 * The catalog API of a platform's services entity (Guangzhou's management platform) over HTTP:
 * reading, changes through approval, and every bad input answered with a specific 4xx JSON
 * problem that leaves nothing half-applied. Items held from another platform are changed only
 * there. Once through the command line.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMasterKey } from '../../infra/crypto.ts';
import { adminTokenFor } from '../../infra/entity-runtime.ts';
import type { CatalogFile, DirectoryItem, ImplementationItem } from '../../services/catalog/catalog-schema.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { runCli } from '../helpers/integration-extra.ts';

/** Guangzhou's services entity: gz's own items, and the directory items they refine, held from national and gd. */
const SERVICES = 'gz-services';

let fed: TestFederation;
let adminToken: string;
let demo: CatalogFile;

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

/** A call to the services entity; a string body is sent as it is (malformed JSON). */
async function api(method: string, path: string, body?: unknown, admin = true): Promise<Reply> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (admin) headers.authorization = `Bearer ${adminToken}`;
  const res = await fetch(fed.url(SERVICES) + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test.before(async () => {
  fed = await startTestFederation([SERVICES]);
  adminToken = adminTokenFor(loadMasterKey(fed.config.dataDir), fed.url(SERVICES));
  demo = (await api('GET', '/admin/catalog/export')).json as unknown as CatalogFile;
});
test.after.always(async () => {
  await fed?.close();
});

/** The reply is `status` with `error` and a description matching `description`. */
function problem(t: import('ava').ExecutionContext, reply: Reply, status: number, error: string, description: RegExp) {
  t.is(reply.status, status, JSON.stringify(reply.json));
  t.is(reply.json.error, error);
  t.regex(String(reply.json.error_description), description);
}

const dir = (name: string) => demo.directory.find((d) => d.name === name)!;
const impl = (name: string) => demo.implementation.find((i) => i.name === name && i.level === 'main')!;
const file = (parts: Partial<CatalogFile>): CatalogFile => ({
  format: 'gov-id-catalog/1',
  authorities: [],
  directory: [],
  implementation: [],
  ...parts,
});
const versionsOf = async (code: string) => (await api('GET', `/admin/catalog/changes?item=${code}`)).json.changes as unknown[];

test("the platform's part of the demo catalog is served: search, item, guide, browse, narrowing", async (t) => {
  t.true(demo.implementation.length >= 60);
  t.true(
    demo.implementation.every((i) => i.implementing_authority.slice(2, 8) === '440100'),
    "only Guangzhou's authorities' items are its own",
  );
  const found = await api('GET', `/catalog/search?q=${encodeURIComponent('换身份证')}`, undefined, false);
  t.is(found.status, 200);
  const first = (found.json.results as { code: string; name: string; facets: { platform: string; region: string } }[])[0]!;
  t.is(first.name, '居民身份证换领');
  t.like(first.facets, { platform: 'gz', region: '440100' });
  const guide = await api('GET', `/catalog/items/${first.code}/guide`, undefined, false);
  t.is(guide.json.title, '居民身份证换领办事指南');
  t.is(guide.json.platform, 'gz');
  t.true(
    (guide.json.sections as { key: string; label: { 'zh-CN': string } }[]).some(
      (s) => s.key === 'materials' && s.label['zh-CN'] === '申请材料',
    ),
  );
  const browse = await api('GET', '/catalog/browse?tier=city', undefined, false);
  t.true(((browse.json.life_event as Record<string, number>).marriage ?? 0) > 0);
  t.true(((browse.json.region as Record<string, number>)['440100'] ?? 0) > 60);
  const own = await api('GET', '/catalog/items?region=440100&limit=5', undefined, false);
  t.is((own.json.items as unknown[]).length, 5);
  const narrowing = await api(
    'GET',
    `/catalog/narrow?life_event=marriage&department=${encodeURIComponent('广州市民政局')}`,
    undefined,
    false,
  );
  t.truthy(narrowing.json.question);
  const items = await api('GET', '/catalog/items?user_type=legal', undefined, false);
  t.true((items.json.items as unknown[]).length > 10);
});

test('import refuses missing elements, broken and colliding codes, orphans and contradictions, all or nothing', async (t) => {
  const marriage = dir('结婚登记');
  const { legal_basis: _basis, ...noBasis } = marriage;
  problem(
    t,
    await api('POST', '/admin/catalog/import', file({ directory: [{ ...noBasis, basic_code: '070102099000' } as DirectoryItem] })),
    400,
    'invalid_request',
    /^directory\.0\.legal_basis: /,
  );
  problem(
    t,
    await api('POST', '/admin/catalog/import', file({ directory: [{ ...marriage, basic_code: '990102099000' }] })),
    400,
    'invalid_request',
    /directory\.0\.basic_code: basic code: item type code \(digits 1-2\) "99"/,
  );
  problem(
    t,
    await api('POST', '/admin/catalog/import', file({ directory: [{ ...marriage, basic_code: '0701020990' }] })),
    400,
    'invalid_request',
    /directory\.0\.basic_code: basic code: 12 digits/,
  );
  problem(
    t,
    await api('POST', '/admin/catalog/import', file({ directory: [marriage] })),
    409,
    'code_collision',
    /directory\.0\.basic_code: .* is already used/,
  );
  const fresh = { ...marriage, basic_code: '070102099000', name: '测试登记' };
  problem(
    t,
    await api('POST', '/admin/catalog/import', file({ directory: [fresh, fresh] })),
    409,
    'code_collision',
    /directory\.1\.basic_code/,
  );
  problem(
    t,
    await api('POST', '/admin/catalog/import', file({ directory: [{ ...fresh, basic_code: '070102099001' }] })),
    400,
    'missing_parent',
    /directory\.0\.basic_code: sub-item of main item 070102099000/,
  );
  const wedding = impl('结婚登记');
  const sub: ImplementationItem = {
    ...wedding,
    level: 'sub',
    parent_code: `${wedding.implementing_code.slice(0, 19)}070102099000`,
    implementing_code: `${wedding.implementing_code.slice(0, 19)}070102099001`,
    basic_code: '070102099001',
    name: '测试登记（子项）',
  };
  problem(
    t,
    await api(
      'POST',
      '/admin/catalog/import',
      file({ directory: [fresh, { ...fresh, basic_code: '070102099001', name: '测试登记（子项）' }], implementation: [sub] }),
    ),
    400,
    'missing_parent',
    /implementation\.0\.parent_code: no implementation item/,
  );
  const mainOfFresh: ImplementationItem = {
    ...wedding,
    implementing_code: `${wedding.implementing_code.slice(0, 19)}070102099000`,
    basic_code: '070102099000',
    name: '测试登记（新名）',
  };
  problem(
    t,
    await api('POST', '/admin/catalog/import', file({ directory: [fresh], implementation: [mainOfFresh] })),
    400,
    'contradicts_directory',
    /implementation\.0\.name: is "测试登记" in the directory/,
  );
  problem(
    t,
    await api(
      'POST',
      '/admin/catalog/import',
      file({
        directory: [fresh],
        implementation: [{ ...mainOfFresh, name: '测试登记', implementing_code: `${wedding.implementing_code.slice(0, 18)}1070102099000` }],
      }),
    ),
    400,
    'invalid_code',
    /implementing_code: tier \(character 19\) is not 3/,
  );
  problem(t, await api('POST', '/admin/catalog/import', '{"format":"gov-id-catalog/1"'), 400, 'invalid_request', /./);
  for (const code of ['070102099000', '070102099001', sub.implementing_code, mainOfFresh.implementing_code])
    t.deepEqual(await versionsOf(code), [], `nothing of ${code} was applied`);
  t.is((await api('GET', '/catalog/items/070102099000', undefined, false)).status, 404);
});

test('a change goes through submission and approval by a reviewer of its owner; a published version never changes', async (t) => {
  const wedding = impl('结婚登记');
  const owner = wedding.implementing_authority;
  const other = demo.authorities.find((a) => a.code !== owner)!.code;
  const item = { ...wedding, place: '广州市婚姻登记中心', hours: '周一至周日 9:00-17:00' };
  problem(
    t,
    await api('POST', '/admin/catalog/changes', { actor: other, person: '甲', kind: 'implementation', item }),
    403,
    'not_owner',
    /^actor: /,
  );
  problem(
    t,
    await api('POST', '/admin/catalog/changes', {
      actor: owner,
      person: '甲',
      kind: 'implementation',
      item: { ...item, user_type: 'legal' },
    }),
    400,
    'contradicts_directory',
    /item\.user_type/,
  );
  problem(
    t,
    await api('POST', '/admin/catalog/changes', { actor: owner, person: '甲', kind: 'implementation', item: { ...item, min_loa: 'loa9' } }),
    400,
    'invalid_request',
    /^item\.min_loa: /,
  );
  const draft = await api('POST', '/admin/catalog/changes', { actor: owner, person: '甲', kind: 'implementation', item });
  t.is(draft.status, 201);
  const id = String(draft.json.id);
  problem(
    t,
    await api('POST', `/admin/catalog/changes/${id}/approve`, { actor: owner, person: '乙' }),
    409,
    'invalid_transition',
    /submit it first/,
  );
  t.is((await api('POST', `/admin/catalog/changes/${id}/submit`, { actor: owner, person: '甲' })).status, 200);
  problem(
    t,
    await api('POST', `/admin/catalog/changes/${id}/approve`, { actor: other, person: '乙' }),
    403,
    'not_owner',
    /does not own this item/,
  );
  problem(
    t,
    await api('POST', `/admin/catalog/changes/${id}/approve`, { actor: owner, person: '甲' }),
    403,
    'own_submission',
    /reviewed by another member/,
  );
  const approved = await api('POST', `/admin/catalog/changes/${id}/approve`, { actor: owner, person: '乙' });
  t.is(approved.status, 200);
  problem(
    t,
    await api('PUT', `/admin/catalog/changes/${id}`, { actor: owner, person: '甲', item }),
    409,
    'version_published',
    /never changes/,
  );
  problem(
    t,
    await api('POST', `/admin/catalog/changes/${id}/reject`, { actor: owner, person: '乙' }),
    409,
    'version_published',
    /never changes/,
  );
  const history = await api('GET', `/catalog/items/${wedding.implementing_code}/history`, undefined, false);
  t.deepEqual(
    (history.json.versions as { version: number; state: string; author: string; reviewer: string }[]).map((v) => [
      v.version,
      v.state,
      v.author,
      v.reviewer,
    ]),
    [
      [1, 'approved', 'import', 'import'],
      [2, 'approved', '甲', '乙'],
    ],
  );
  const diff = await api('GET', `/catalog/items/${wedding.implementing_code}/diff?from=1&to=2`, undefined, false);
  t.deepEqual((diff.json.differences as { path: string }[]).map((d) => d.path).sort(), ['hours', 'place']);
  problem(
    t,
    await api('GET', `/catalog/items/${wedding.implementing_code}/diff?from=1&to=x`, undefined, false),
    400,
    'invalid_request',
    /^to: /,
  );
  problem(t, await api('GET', '/admin/catalog/changes/999999999/approve'), 405, 'method_not_allowed', /GET is not allowed/);
  problem(t, await api('POST', '/admin/catalog/changes/999999999/approve', { actor: owner, person: '乙' }), 404, 'not_found', /no change/);
  t.is((await api('POST', '/admin/catalog/import', file({}), false)).status, 401);
});

test("an item held from another platform is changed only there, and the feed is for the federation's services entities", async (t) => {
  // 结婚登记 is a national directory item (民政部's): Guangzhou holds it because its own item refines it.
  const marriage = dir('结婚登记');
  const held = await api('GET', `/catalog/items/${marriage.basic_code}/history`, undefined, false);
  t.is((held.json.versions as { held_from: string }[])[0]!.held_from, 'national');
  problem(
    t,
    await api('POST', '/admin/catalog/changes', {
      actor: marriage.owner,
      person: '甲',
      kind: 'directory',
      item: { ...marriage, topics: ['婚姻'] },
    }),
    403,
    'not_owner',
    /^item: .* belongs to platform national; it is changed at that platform's management platform/,
  );
  // A new item of another platform's authority is that platform's to add.
  problem(
    t,
    await api('POST', '/admin/catalog/changes', {
      actor: marriage.owner,
      person: '甲',
      kind: 'directory',
      item: { ...marriage, basic_code: '070102098000', name: '测试登记' },
    }),
    403,
    'not_owner',
    /belongs to platform national/,
  );
  t.deepEqual(await versionsOf('070102098000'), []);
  // The feed answers services entities of the federation only, with an entity assertion.
  problem(t, await api('GET', '/catalog/feed?after=0', undefined, false), 401, 'unauthorized', /entity assertion is required/);
  problem(t, await api('GET', '/catalog/feed?after=0'), 401, 'unauthorized', /not a JWT/);
  // Pulling on demand: gd's services entity is not running here, so the pull is refused as unavailable.
  problem(t, await api('POST', '/admin/catalog/feed/pull'), 503, 'temporarily_unavailable', /unreachable/);
});

test('search refuses empty, overlong, control-character and operator-only queries; SQL in a query is only text', async (t) => {
  const q = async (query: string) => api('GET', `/catalog/search?q=${encodeURIComponent(query)}`, undefined, false);
  problem(t, await q(''), 400, 'invalid_query', /^q: type what you are looking for/);
  problem(t, await api('GET', '/catalog/search', undefined, false), 400, 'invalid_query', /^q: /);
  problem(t, await q('   '), 400, 'invalid_query', /^q: /);
  problem(t, await q('a'.repeat(10_000)), 400, 'invalid_query', /^q: at most 100 characters/);
  // Control characters never reach the catalog: the edge guard refuses them for every route, naming the field.
  problem(t, await q('身份证\u0000\u0007'), 400, 'invalid_request', /^q: contains a character that is not allowed/);
  problem(t, await q("&|!():*'<->\\"), 400, 'invalid_query', /no letters, digits or Chinese characters/);
  problem(t, await q('身份证 &'.repeat(30)), 400, 'invalid_query', /at most 100/);
  const injected = await q("'; DROP TABLE catalog_items; --");
  t.is(injected.status, 200);
  t.deepEqual(injected.json.results, []);
  const operators = await q('身份证 & !换领 | (驾照:*)');
  t.is(operators.status, 200, 'operators are separators, not syntax');
  problem(t, await api('GET', `/catalog/search?q=x&limit=1000`, undefined, false), 400, 'invalid_request', /^limit: /);
  t.is((await q('身份证')).status, 200, 'the catalog is still there');
});

test('gov-id catalog search, export and a change through approval from the command line', async (t) => {
  const cli = (...args: string[]) => runCli([...args, '--topology', fed.topologyFile, '--data', fed.config.dataDir]);
  const found = await cli('catalog', 'search', '--entity', SERVICES, '办营业执照');
  t.is(found.code, 0, found.stderr);
  t.is(JSON.parse(found.stdout).results[0].name, '企业设立登记');
  const out = join(fed.config.dataDir, 'catalog-export.json');
  const exported = await cli('catalog', 'export', '--entity', SERVICES, out);
  t.is(exported.code, 0, exported.stderr);
  t.is((JSON.parse(readFileSync(out, 'utf8')) as CatalogFile).directory.length, demo.directory.length);
  const refused = await cli('catalog', 'search', '--entity', SERVICES, '');
  t.is(refused.code, 2, refused.stderr);
  t.regex(refused.stderr, /400 invalid_query/);

  const permit = impl('建筑工程施工许可证核发');
  const changeFile = join(fed.config.dataDir, 'change.json');
  writeFileSync(changeFile, JSON.stringify({ kind: 'implementation', item: { ...permit, promised_time_limit_days: 5 } }));
  const owner = ['--actor', permit.implementing_authority];
  const submitted = await cli('catalog', 'change', 'submit', '--entity', SERVICES, ...owner, '--person', '周', changeFile);
  t.is(submitted.code, 0, submitted.stderr);
  const id = String(JSON.parse(submitted.stdout).id);
  const approved = await cli('catalog', 'change', 'approve', '--entity', SERVICES, ...owner, '--person', '吴', id);
  t.is(approved.code, 0, approved.stderr);
  const history = await cli('catalog', 'change', 'history', '--entity', SERVICES, permit.implementing_code);
  t.deepEqual(
    JSON.parse(history.stdout).versions.map((v: { version: number; reviewer: string }) => [v.version, v.reviewer]),
    [
      [1, 'import'],
      [2, '吴'],
    ],
  );
  const shown = await cli('catalog', 'show', '--entity', SERVICES, permit.implementing_code);
  t.is(JSON.parse(shown.stdout).item.promised_time_limit_days, 5);
});
