/**
 * The catalog's queries (migrations/services/003_service_catalog.sql). The version in force of an
 * item is its newest approved version whose effective date has come.
 */
import type { Queryable } from '../../infra/database.ts';
import type { ChangeState } from './catalog-changes.ts';
import type { Authority, CatalogItem } from './catalog-schema.ts';

export type ItemKind = 'directory' | 'implementation';
export type VersionOrigin = 'import' | 'change' | 'propagation';

/** What browsing and searching filter on, kept with each version. */
export interface Facets {
  kind: ItemKind;
  tier: string[];
  authority: string;
  department: string;
  topics: string[];
  life_events: string[];
  user_type: string[];
  level: string;
}

/** The search tokens of a version (search-tokens.ts), weighted: A its name, B other names, C the rest of its guide. */
export interface SearchTokens {
  name: string;
  other_names: string;
  guide: string;
}

export interface VersionRow {
  id: string;
  item_code: string;
  kind: ItemKind;
  owner: string;
  version: number;
  state: ChangeState;
  origin: VersionOrigin;
  content: CatalogItem;
  effective_from: string;
  flags: string[];
  author_authority: string;
  author: string;
  created_at: string;
  submitted_at: string | null;
  reviewer_authority: string | null;
  reviewer: string | null;
  reviewed_at: string | null;
  review_note: string | null;
}

const VERSION_COLUMNS = `v.id::text AS id, v.item_code, i.kind, i.owner, v.version, v.state, v.origin, v.content, to_char(v.effective_from, 'YYYY-MM-DD') AS effective_from,
  v.flags, v.author_authority, v.author, v.created_at, v.submitted_at, v.reviewer_authority, v.reviewer, v.reviewed_at, v.review_note`;

/** The version in force of each item, as a subquery over `catalog_versions v JOIN catalog_items i`. */
export const IN_FORCE = `SELECT DISTINCT ON (v.item_code) ${VERSION_COLUMNS}, v.search_tokens, v.name, v.facets
  FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code
  WHERE v.state = 'approved' AND v.effective_from <= current_date
  ORDER BY v.item_code, v.effective_from DESC, v.version DESC`;

export async function insertAuthorities(db: Queryable, authorities: Authority[]): Promise<void> {
  for (const a of authorities) {
    await db.query('INSERT INTO catalog_authorities (code, name, tier, region, department) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING', [a.code, a.name, a.tier, a.region, a.department]);
  }
}

export async function authorities(db: Queryable): Promise<Authority[]> {
  return (await db.query<Authority>('SELECT code, name, tier, region, department FROM catalog_authorities ORDER BY code')).rows;
}

export async function authority(db: Queryable, code: string): Promise<Authority | undefined> {
  return (await db.query<Authority>('SELECT code, name, tier, region, department FROM catalog_authorities WHERE code = $1', [code])).rows[0];
}

export async function itemExists(db: Queryable, code: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM catalog_items WHERE code = $1', [code])).rows.length > 0;
}

export async function insertItem(db: Queryable, item: { code: string; kind: ItemKind; basicCode: string; parentCode: string | null; owner: string }): Promise<void> {
  await db.query('INSERT INTO catalog_items (code, kind, basic_code, parent_code, owner) VALUES ($1, $2, $3, $4, $5)', [item.code, item.kind, item.basicCode, item.parentCode, item.owner]);
}

export interface NewVersion {
  itemCode: string;
  state: ChangeState;
  origin: VersionOrigin;
  content: CatalogItem;
  name: string;
  tokens: SearchTokens;
  facets: Facets;
  effectiveFrom: string;
  flags: string[];
  author: { authority: string; person: string };
  reviewer?: { authority: string; person: string };
}

const TOKENS_SQL = (a: string, b: string, c: string) =>
  `setweight(to_tsvector('simple', ${a}), 'A') || setweight(to_tsvector('simple', ${b}), 'B') || setweight(to_tsvector('simple', ${c}), 'C')`;

/** Adds the item's next version; returns its change id and number. */
export async function insertVersion(db: Queryable, v: NewVersion): Promise<{ id: string; version: number }> {
  const { rows } = await db.query<{ id: string; version: number }>(
    `INSERT INTO catalog_versions (item_code, version, state, origin, content, name, search_tokens, facets, effective_from, flags, author_authority, author,
       submitted_at, reviewer_authority, reviewer, reviewed_at)
     SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, ${TOKENS_SQL('$6', '$7', '$8')}, $9, $10::date, $11, $12, $13,
       CASE WHEN $2 IN ('submitted', 'approved') THEN now() END, $14::text, $15::text, CASE WHEN $14::text IS NOT NULL THEN now() END
     FROM catalog_versions WHERE item_code = $1
     RETURNING id::text AS id, version`,
    [
      v.itemCode, v.state, v.origin, JSON.stringify(v.content), v.name, v.tokens.name, v.tokens.other_names, v.tokens.guide, JSON.stringify(v.facets), v.effectiveFrom,
      JSON.stringify(v.flags), v.author.authority, v.author.person, v.reviewer?.authority ?? null, v.reviewer?.person ?? null,
    ],
  );
  return rows[0]!;
}

/** Replaces a draft's content (the trigger refuses it for any other state). */
export async function updateDraft(db: Queryable, id: string, v: Pick<NewVersion, 'content' | 'name' | 'tokens' | 'facets' | 'effectiveFrom' | 'author'>): Promise<void> {
  await db.query(
    `UPDATE catalog_versions SET content = $2, name = $3, search_tokens = ${TOKENS_SQL('$4', '$5', '$6')}, facets = $7, effective_from = $8::date, author = $9, flags = '[]'::jsonb
     WHERE id = $1`,
    [id, JSON.stringify(v.content), v.name, v.tokens.name, v.tokens.other_names, v.tokens.guide, JSON.stringify(v.facets), v.effectiveFrom, v.author.person],
  );
}

export async function setState(db: Queryable, id: string, state: ChangeState, reviewer?: { authority: string; person: string; note?: string }): Promise<void> {
  if (state === 'submitted') {
    await db.query('UPDATE catalog_versions SET state = $2, submitted_at = now() WHERE id = $1', [id, state]);
    return;
  }
  await db.query('UPDATE catalog_versions SET state = $2, reviewer_authority = $3, reviewer = $4, review_note = $5, reviewed_at = now() WHERE id = $1', [
    id, state, reviewer?.authority ?? null, reviewer?.person ?? null, reviewer?.note ?? null,
  ]);
}

export async function addFlags(db: Queryable, id: string, flags: string[]): Promise<void> {
  await db.query('UPDATE catalog_versions SET flags = flags || $2::jsonb WHERE id = $1', [id, JSON.stringify(flags)]);
}

/** A change by its id, locked for the rest of the transaction when `forUpdate`. */
export async function change(db: Queryable, id: string, forUpdate = false): Promise<VersionRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const { rows } = await db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code WHERE v.id = $1${forUpdate ? ' FOR UPDATE OF v' : ''}`, [id]);
  return rows[0];
}

/** The item's open change (draft or submitted), if any: an item has at most one. */
export async function openChange(db: Queryable, itemCode: string): Promise<VersionRow | undefined> {
  const { rows } = await db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code WHERE v.item_code = $1 AND v.state IN ('draft', 'submitted')`, [itemCode]);
  return rows[0];
}

export async function changes(db: Queryable, filter: { state?: ChangeState; itemCode?: string }): Promise<VersionRow[]> {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code
     WHERE ($1::text IS NULL OR v.state = $1) AND ($2::text IS NULL OR v.item_code = $2) ORDER BY v.item_code, v.version LIMIT 1000`,
    [filter.state ?? null, filter.itemCode ?? null],
  );
  return rows;
}

/** The version in force today. */
export async function inForce(db: Queryable, itemCode: string): Promise<VersionRow | undefined> {
  const { rows } = await db.query<VersionRow>(`SELECT * FROM (${IN_FORCE}) cur WHERE cur.item_code = $1`, [itemCode]);
  return rows[0];
}

/** The newest approved version, in force or from a date to come: what rules check new versions against. */
export async function latestApproved(db: Queryable, itemCode: string): Promise<VersionRow | undefined> {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code
     WHERE v.item_code = $1 AND v.state = 'approved' ORDER BY v.effective_from DESC, v.version DESC LIMIT 1`,
    [itemCode],
  );
  return rows[0];
}

export async function versionOf(db: Queryable, itemCode: string, version: number): Promise<VersionRow | undefined> {
  const { rows } = await db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code WHERE v.item_code = $1 AND v.version = $2`, [itemCode, version]);
  return rows[0];
}

/** Every version of an item, oldest first. */
export async function history(db: Queryable, itemCode: string): Promise<VersionRow[]> {
  return changes(db, { itemCode });
}

/** Implementation items that refine a directory item (same basic code). */
export async function refiningItems(db: Queryable, basicCode: string): Promise<string[]> {
  const { rows } = await db.query<{ code: string }>("SELECT code FROM catalog_items WHERE basic_code = $1 AND kind = 'implementation' ORDER BY code", [basicCode]);
  return rows.map((r) => r.code);
}

/** Versions in force whose facets contain `facets` (a jsonb @> match), by code. */
export async function listInForce(db: Queryable, facets: Partial<Facets>, limit: number): Promise<(VersionRow & { name: string; facets: Facets })[]> {
  const { rows } = await db.query<VersionRow & { name: string; facets: Facets }>(`SELECT * FROM (${IN_FORCE}) cur WHERE cur.facets @> $1::jsonb ORDER BY cur.item_code LIMIT $2`, [JSON.stringify(facets), limit]);
  return rows;
}

/** The newest approved content of every item, by code, so parents come before children (their codes are prefixes or sort first). */
export async function latestApprovedContents(db: Queryable, kind: ItemKind): Promise<CatalogItem[]> {
  const { rows } = await db.query<{ content: CatalogItem }>(
    `SELECT DISTINCT ON (v.item_code) v.content
     FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code
     WHERE v.state = 'approved' AND i.kind = $1 ORDER BY v.item_code, v.effective_from DESC, v.version DESC`,
    [kind],
  );
  return rows.map((r) => r.content);
}
