/**
 * Finding items (我要查 / 我要办): what a version is indexed by, keyword search ranked by ts_rank
 * plus name matches (typo-tolerant through pg_trgm for queries of three characters or more),
 * browsing by facets, and narrowing candidates to one item with a few questions drawn from the
 * items' own attributes.
 */
import type { Queryable } from '../../infra/database.ts';
import { isImplementation, type Authority, type CatalogItem, type DirectoryItem } from './catalog-schema.ts';
import { IN_FORCE_TODAY, listInForce, type Facets, type SearchTokens } from './catalog-store.ts';
import { mainItemOf } from './item-codes.ts';
import { allOf, documentTokens, parseQuery, twoOf } from './search-tokens.ts';

/** The name, tokens and facets a version is stored with; `platform` is the platform that owns the item. */
export function searchEntry(
  item: CatalogItem,
  directory: DirectoryItem,
  authorityOf: (code: string) => Authority,
  platform: string,
): { name: string; tokens: SearchTokens; facets: Facets } {
  const common = { topics: directory.topics, life_events: directory.life_events, platform };
  if (!isImplementation(item)) {
    const owner = authorityOf(item.owner);
    return {
      name: item.name,
      tokens: {
        name: documentTokens(item.name),
        other_names: documentTokens(item.common_names.join(' ')),
        guide: documentTokens([owner.name, item.item_type, ...item.legal_basis, ...item.topics].join(' ')),
      },
      facets: {
        kind: 'directory',
        tier: item.tiers,
        authority: owner.code,
        department: owner.name,
        user_type: item.user_types,
        level: mainItemOf(item.basic_code) ? 'sub' : 'main',
        region: owner.region,
        ...common,
      },
    };
  }
  const authority = authorityOf(item.implementing_authority);
  const guide = [
    authority.name,
    ...item.assisting_authorities.map((c) => authorityOf(c).name),
    directory.item_type,
    item.result.name,
    ...item.materials.map((m) => m.name),
    ...directory.topics,
  ];
  return {
    name: item.name,
    tokens: {
      name: documentTokens(item.name),
      other_names: documentTokens([directory.name, ...directory.common_names].join(' ')),
      guide: documentTokens(guide.join(' ')),
    },
    facets: {
      kind: 'implementation',
      tier: [authority.tier],
      authority: authority.code,
      department: authority.name,
      user_type: [item.user_type],
      level: item.level,
      region: authority.region,
      ...common,
    },
  };
}

export interface SearchHit {
  code: string;
  name: string;
  version: number;
  score: number;
  facets: Facets;
}

interface HitRow {
  item_code: string;
  name: string;
  version: number;
  facets: Facets;
  score: number;
}

function hit(row: HitRow): SearchHit {
  return { code: row.item_code, name: row.name, version: row.version, score: Math.round(row.score * 1000) / 1000, facets: row.facets };
}

/** Facets a search or a browse may filter on (jsonb containment), implementation items only. */
export function facetFilter(query: Record<string, unknown>): Partial<Facets> {
  const one = (key: string) => (typeof query[key] === 'string' && query[key] !== '' ? [query[key] as string] : undefined);
  const filter: Partial<Facets> = { kind: 'implementation' };
  if (one('tier')) filter.tier = one('tier');
  if (one('user_type')) filter.user_type = one('user_type');
  if (one('topic')) filter.topics = one('topic');
  if (one('life_event')) filter.life_events = one('life_event');
  if (one('department')) filter.department = query.department as string;
  if (one('authority')) filter.authority = query.authority as string;
  if (one('level')) filter.level = query.level as string;
  if (one('region')) filter.region = query.region as string;
  if (one('platform')) filter.platform = query.platform as string;
  return filter;
}

/** Share of a name's trigrams a typo may miss and still match it. */
const TYPO_LIKENESS = 0.3;

/** How the name matches the query text ($3): equal, starts with it, contains it. */
const NAME_BOOST = 'CASE WHEN p.name = $3 THEN 10 WHEN strpos(p.name, $3) = 1 THEN 3 WHEN strpos(p.name, $3) > 0 THEN 2 ELSE 0 END';

const HIT_COLUMNS = 'p.item_code, p.name, p.version, p.facets';
/** $1: the facet filter; $2: codes found by an earlier tier. */
const CANDIDATES = `${IN_FORCE_TODAY} AND p.facets @> $1::jsonb AND NOT p.item_code = ANY($2::text[])`;

/**
 * Items in force matching `q`, best first, in three tiers tried in turn until `limit` is reached,
 * so a broad query ranks only the items it names rather than every item that mentions it:
 * 1. every query lexeme in the name or other names (their own small vector, `name_tokens`),
 *    ranked by ts_rank plus name boosts — a lone Chinese character, which thousands of names may
 *    hold, by the shortest names first instead, walking an index in that order;
 * 2. every lexeme anywhere in the guide (materials, authorities …), by ts_rank;
 * 3. for a query of three characters or more, names that look like it (pg_trgm, for typos) among
 *    the catalog's distinct names that share two of its lexemes (one, for a query of two), each
 *    compared once, and the items in force that bear them.
 */
export async function search(db: Queryable, q: unknown, filter: Partial<Facets>, limit = 20): Promise<SearchHit[]> {
  const { text, lexemes } = parseQuery(q);
  const hits: SearchHit[] = [];
  const tier = async (sql: string, params: unknown[]) => {
    if (hits.length >= limit) return;
    const found = hits.map((h) => h.code);
    const { rows } = await db.query<HitRow>(`${sql} LIMIT ${limit - hits.length}`, [JSON.stringify(filter), found, ...params]);
    hits.push(...rows.map(hit));
  };
  const everyLexeme = allOf(lexemes);
  if (isLoneCharacter(text)) {
    await tier(
      `SELECT ${HIT_COLUMNS}, ts_rank(p.name_tokens, to_tsquery('simple', $3)) AS score FROM catalog_published p
       WHERE ${CANDIDATES} AND p.name_tokens @@ to_tsquery('simple', $3) ORDER BY length(p.name), p.item_code`,
      [everyLexeme],
    );
  } else {
    await tier(
      `SELECT ${HIT_COLUMNS}, ts_rank(p.name_tokens, to_tsquery('simple', $4)) + ${NAME_BOOST} AS score FROM catalog_published p
       WHERE ${CANDIDATES} AND p.name_tokens @@ to_tsquery('simple', $4) ORDER BY score DESC, p.item_code`,
      [text, everyLexeme],
    );
  }
  await tier(
    `SELECT ${HIT_COLUMNS}, ts_rank(p.search_tokens, to_tsquery('simple', $3)) AS score FROM catalog_published p
     WHERE ${CANDIDATES} AND p.search_tokens @@ to_tsquery('simple', $3) ORDER BY score DESC, p.item_code`,
    [everyLexeme],
  );
  if ([...text].length >= 3) {
    await tier(
      `WITH alike AS MATERIALIZED (
         SELECT n.name, public.word_similarity($4, n.name) AS score FROM catalog_names n WHERE n.tokens @@ to_tsquery('simple', $3)
       )
       SELECT ${HIT_COLUMNS}, a.score FROM alike a JOIN catalog_published p ON p.name = a.name
       WHERE a.score >= ${TYPO_LIKENESS} AND ${CANDIDATES} ORDER BY a.score DESC, p.item_code`,
      [twoOf(lexemes), text],
    );
  }
  return hits;
}

/** A query of one Chinese character: too broad to rank every item that has it. */
function isLoneCharacter(text: string): boolean {
  return /^\p{Script=Han}$/u.test(text);
}

/** How many items in force fall under each department, topic, life event, user type, tier, region and platform. */
export async function browse(db: Queryable, filter: Partial<Facets>): Promise<Record<string, Record<string, number>>> {
  const { rows } = await db.query<{ facets: Facets }>(
    `SELECT p.facets FROM catalog_published p WHERE ${IN_FORCE_TODAY} AND p.facets @> $1::jsonb`,
    [JSON.stringify(filter)],
  );
  const counts: Record<string, Record<string, number>> = {
    department: {},
    topic: {},
    life_event: {},
    user_type: {},
    tier: {},
    region: {},
    platform: {},
  };
  const add = (facet: string, values: string[]) => {
    for (const v of values) counts[facet]![v] = (counts[facet]![v] ?? 0) + 1;
  };
  for (const { facets } of rows) {
    add('department', [facets.department]);
    add('topic', facets.topics);
    add('life_event', facets.life_events);
    add('user_type', facets.user_type);
    add('tier', facets.tier);
    // Versions published before platforms had catalogs of their own carry neither.
    if (facets.region) add('region', [facets.region]);
    if (facets.platform) add('platform', [facets.platform]);
  }
  return counts;
}

/** The questions of 我要办, asked in this order while they still split the candidates. */
const QUESTIONS = [
  {
    key: 'user_type',
    text: { 'zh-CN': '您是以个人还是单位身份办理？', en: 'Are you applying as a person or for an organization?' },
    values: (f: Facets) => f.user_type,
  },
  { key: 'life_event', text: { 'zh-CN': '您遇到的是哪件事？', en: 'Which life event is it about?' }, values: (f: Facets) => f.life_events },
  { key: 'tier', text: { 'zh-CN': '在哪一级办理？', en: 'At which tier?' }, values: (f: Facets) => f.tier },
  { key: 'department', text: { 'zh-CN': '由哪个部门办理？', en: 'Which department handles it?' }, values: (f: Facets) => [f.department] },
  { key: 'level', text: { 'zh-CN': '办理哪一项？', en: 'Which of these?' }, values: (f: Facets) => [f.level] },
] as const;

export interface Narrowing {
  candidates: { code: string; name: string }[];
  /** The next question, or null when one item (or none) is left. */
  question: { key: string; text: { 'zh-CN': string; en: string }; options: { value: string; label?: string; count: number }[] } | null;
}

const WHICH_ITEM = { 'zh-CN': '您要办理的是哪一项？', en: 'Which item is it?' };

/**
 * One step of 我要办: the candidates under the answers so far (facet filters, an optional query,
 * and at the end the item chosen by name) and the first question whose answers split them; when
 * no attribute tells the rest apart, the last question lists them by name (answered with `code`).
 */
export async function narrow(db: Queryable, q: unknown, filter: Partial<Facets>, code?: string): Promise<Narrowing> {
  const found: { code: string; name: string; facets: Facets }[] =
    q === undefined
      ? (await listInForce(db, filter, 200)).map((r) => ({ code: r.item_code, name: r.name, facets: r.facets }))
      : await search(db, q, filter, 200);
  const rows = code === undefined ? found : found.filter((r) => r.code === code);
  const candidates = rows.map((r) => ({ code: r.code, name: r.name }));
  if (rows.length <= 1) return { candidates, question: null };
  for (const question of QUESTIONS) {
    // An answered question is not asked again (an item with several life events would split on it still).
    if (filter[question.key === 'life_event' ? 'life_events' : question.key] !== undefined) continue;
    const counts = new Map<string, number>();
    for (const r of rows) for (const v of question.values(r.facets)) counts.set(v, (counts.get(v) ?? 0) + 1);
    // A question helps when some answer leaves fewer candidates than there are.
    if ([...counts.values()].some((n) => n < rows.length)) {
      return {
        candidates,
        question: { key: question.key, text: question.text, options: [...counts].map(([value, count]) => ({ value, count })) },
      };
    }
  }
  return {
    candidates,
    question: { key: 'code', text: WHICH_ITEM, options: rows.map((r) => ({ value: r.code, label: r.name, count: 1 })) },
  };
}
