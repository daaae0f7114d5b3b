/**
 * The catalog's queries (migrations/services/003_service_catalog.sql). The version in force of an
 * item is its newest approved version whose effective date has come; catalog_published keeps, for
 * every approved version, the days it is in force.
 */
import type { Queryable } from '../../infra/database.ts';
import type { ChangeState } from './catalog-changes.ts';
import type { Authority, CatalogItem } from './catalog-schema.ts';

export type ItemKind = 'directory' | 'implementation';
/** `feed`: a version of another platform's item, pulled from that platform's feed (catalog-feed.ts). */
export type VersionOrigin = 'import' | 'change' | 'propagation' | 'feed';

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
  /** The platform whose management platform owns the item (where it is handled). */
  platform: string;
  /** The GB/T 2260 division of its authority. */
  region: string;
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
  /** The platform the item is held from; null for this platform's own. */
  held_from: string | null;
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

const VERSION_COLUMNS = `v.id::text AS id, v.item_code, i.kind, i.owner, i.held_from, v.version, v.state, v.origin, v.content, to_char(v.effective_from, 'YYYY-MM-DD') AS effective_from,
  v.flags, v.author_authority, v.author, v.created_at, v.submitted_at, v.reviewer_authority, v.reviewer, v.reviewed_at, v.review_note`;

/** A condition on catalog_published `p`: the version is in force today. */
export const IN_FORCE_TODAY = 'p.valid_from <= current_date AND (p.valid_until IS NULL OR p.valid_until > current_date)';

/** The version in force of each item, with its name, facets and tokens. */
const IN_FORCE = `SELECT ${VERSION_COLUMNS}, p.name, p.facets
  FROM catalog_published p JOIN catalog_versions v ON v.id = p.version_id JOIN catalog_items i ON i.code = v.item_code
  WHERE ${IN_FORCE_TODAY}`;

export async function insertAuthorities(db: Queryable, authorities: Authority[]): Promise<void> {
  for (const a of authorities) {
    await db.query(
      'INSERT INTO catalog_authorities (code, name, tier, region, department) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING',
      [a.code, a.name, a.tier, a.region, a.department],
    );
  }
}

export async function authorities(db: Queryable): Promise<Authority[]> {
  return (await db.query<Authority>('SELECT code, name, tier, region, department FROM catalog_authorities ORDER BY code')).rows;
}

export async function authority(db: Queryable, code: string): Promise<Authority | undefined> {
  return (await db.query<Authority>('SELECT code, name, tier, region, department FROM catalog_authorities WHERE code = $1', [code]))
    .rows[0];
}

export interface ItemRow {
  kind: ItemKind;
  owner: string;
  held_from: string | null;
}

export async function item(db: Queryable, code: string): Promise<ItemRow | undefined> {
  return (await db.query<ItemRow>('SELECT kind, owner, held_from FROM catalog_items WHERE code = $1', [code])).rows[0];
}

export async function insertItem(
  db: Queryable,
  item: { code: string; kind: ItemKind; basicCode: string; parentCode: string | null; owner: string; heldFrom: string | null },
): Promise<void> {
  await db.query('INSERT INTO catalog_items (code, kind, basic_code, parent_code, owner, held_from) VALUES ($1, $2, $3, $4, $5, $6)', [
    item.code,
    item.kind,
    item.basicCode,
    item.parentCode,
    item.owner,
    item.heldFrom,
  ]);
}

export interface NewVersion {
  itemCode: string;
  state: ChangeState;
  origin: VersionOrigin;
  content: CatalogItem;
  /** YYYY-MM-DD; the database's today when absent. */
  effectiveFrom?: string;
  flags: string[];
  author: { authority: string; person: string };
  reviewer?: { authority: string; person: string };
  /** The number it has at its own platform (a held version); else the item's next. */
  version?: number;
}

/** Adds the item's next version (or the numbered one); returns its change id and number. */
export async function insertVersion(db: Queryable, v: NewVersion): Promise<{ id: string; version: number }> {
  const { rows } = await db.query<{ id: string; version: number }>(
    `INSERT INTO catalog_versions (item_code, version, state, origin, content, effective_from, flags, author_authority, author,
       submitted_at, reviewer_authority, reviewer, reviewed_at)
     SELECT $1, coalesce($11::integer, max(version) + 1, 1), $2, $3, $4, coalesce($5::date, current_date), $6, $7, $8,
       CASE WHEN $2 IN ('submitted', 'approved') THEN now() END, $9::text, $10::text, CASE WHEN $9::text IS NOT NULL THEN now() END
     FROM catalog_versions WHERE item_code = $1
     RETURNING id::text AS id, version`,
    [
      v.itemCode,
      v.state,
      v.origin,
      JSON.stringify(v.content),
      v.effectiveFrom ?? null,
      JSON.stringify(v.flags),
      v.author.authority,
      v.author.person,
      v.reviewer?.authority ?? null,
      v.reviewer?.person ?? null,
      v.version ?? null,
    ],
  );
  return rows[0]!;
}

/** Replaces a draft's content (the trigger refuses it for any other state). */
export async function updateDraft(
  db: Queryable,
  id: string,
  v: { content: CatalogItem; effectiveFrom: string; author: { person: string } },
): Promise<void> {
  await db.query("UPDATE catalog_versions SET content = $2, effective_from = $3::date, author = $4, flags = '[]'::jsonb WHERE id = $1", [
    id,
    JSON.stringify(v.content),
    v.effectiveFrom,
    v.author.person,
  ]);
}

/**
 * Makes an approved version findable: its row in catalog_published, numbered in the feed, and the
 * days each published version of the item is in force (until the next one by effective date, then
 * version). Publications of this schema queue on a lock held until they commit, so feed numbers
 * commit in order (a reader past N never misses a smaller one committed later).
 */
export async function publish(
  db: Queryable,
  versionId: string,
  entry: { name: string; tokens: SearchTokens; facets: Facets },
): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':catalog-feed'))");
  await db.query(
    `INSERT INTO catalog_published (version_id, item_code, version, name, search_tokens, name_tokens, facets, valid_from)
     SELECT v.id, v.item_code, v.version, $2, t.names || setweight(to_tsvector('simple', $5), 'C'), t.names, $6, v.effective_from
     FROM (SELECT setweight(to_tsvector('simple', $3), 'A') || setweight(to_tsvector('simple', $4), 'B') AS names) t, catalog_versions v
     WHERE v.id = $1 AND v.state = 'approved'`,
    [versionId, entry.name, entry.tokens.name, entry.tokens.other_names, entry.tokens.guide, JSON.stringify(entry.facets)],
  );
  await db.query("INSERT INTO catalog_names (name, tokens) VALUES ($1, to_tsvector('simple', $2)) ON CONFLICT (name) DO NOTHING", [
    entry.name,
    entry.tokens.name,
  ]);
  await db.query(
    `UPDATE catalog_published p SET valid_until = n.next_from
     FROM (SELECT version_id, lead(valid_from) OVER (ORDER BY valid_from, version) AS next_from
           FROM catalog_published WHERE item_code = (SELECT item_code FROM catalog_versions WHERE id = $1)) n
     WHERE p.version_id = n.version_id AND p.valid_until IS DISTINCT FROM n.next_from`,
    [versionId],
  );
}

export async function setState(
  db: Queryable,
  id: string,
  state: ChangeState,
  reviewer?: { authority: string; person: string; note?: string },
): Promise<void> {
  if (state === 'submitted') {
    await db.query('UPDATE catalog_versions SET state = $2, submitted_at = now() WHERE id = $1', [id, state]);
    return;
  }
  // An approved change takes effect on its date, or on the day of approval if that date has passed.
  await db.query(
    'UPDATE catalog_versions SET state = $2, reviewer_authority = $3, reviewer = $4, review_note = $5, reviewed_at = now(), effective_from = greatest(effective_from, current_date) WHERE id = $1',
    [id, state, reviewer?.authority ?? null, reviewer?.person ?? null, reviewer?.note ?? null],
  );
}

export async function addFlags(db: Queryable, id: string, flags: string[]): Promise<void> {
  await db.query('UPDATE catalog_versions SET flags = flags || $2::jsonb WHERE id = $1', [id, JSON.stringify(flags)]);
}

/** A change by its id, locked for the rest of the transaction when `forUpdate`. */
export async function change(db: Queryable, id: string, forUpdate = false): Promise<VersionRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code WHERE v.id = $1${forUpdate ? ' FOR UPDATE OF v' : ''}`,
    [id],
  );
  return rows[0];
}

/** The item's open change (draft or submitted), if any: an item has at most one. */
export async function openChange(db: Queryable, itemCode: string): Promise<VersionRow | undefined> {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code WHERE v.item_code = $1 AND v.state IN ('draft', 'submitted')`,
    [itemCode],
  );
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
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM catalog_versions v JOIN catalog_items i ON i.code = v.item_code WHERE v.item_code = $1 AND v.version = $2`,
    [itemCode, version],
  );
  return rows[0];
}

/** Every version of an item, oldest first. */
export async function history(db: Queryable, itemCode: string): Promise<VersionRow[]> {
  return changes(db, { itemCode });
}

/** This platform's own implementation items that refine a directory item (same basic code); held ones follow their own platform. */
export async function refiningItems(db: Queryable, basicCode: string): Promise<string[]> {
  const { rows } = await db.query<{ code: string }>(
    "SELECT code FROM catalog_items WHERE basic_code = $1 AND kind = 'implementation' AND held_from IS NULL ORDER BY code",
    [basicCode],
  );
  return rows.map((r) => r.code);
}

/** Versions in force whose facets contain `facets` (a jsonb @> match), by code. */
export async function listInForce(
  db: Queryable,
  facets: Partial<Facets>,
  limit: number,
): Promise<(VersionRow & { name: string; facets: Facets })[]> {
  const { rows } = await db.query<VersionRow & { name: string; facets: Facets }>(
    `SELECT * FROM (${IN_FORCE}) cur WHERE cur.facets @> $1::jsonb ORDER BY cur.item_code LIMIT $2`,
    [JSON.stringify(facets), limit],
  );
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

/** A published version as the feed gives it: the version, its item and the authorities it names. */
export interface FeedRow extends VersionRow {
  seq: string;
  basic_code: string;
  parent_code: string | null;
}

/** Published versions after feed number `after`, in the order they were published. */
export async function feedAfter(db: Queryable, after: number, limit: number): Promise<FeedRow[]> {
  const { rows } = await db.query<FeedRow>(
    `SELECT p.feed_seq::text AS seq, i.basic_code, i.parent_code, ${VERSION_COLUMNS}
     FROM catalog_published p JOIN catalog_versions v ON v.id = p.version_id JOIN catalog_items i ON i.code = v.item_code
     WHERE p.feed_seq > $1 ORDER BY p.feed_seq LIMIT $2`,
    [after, limit],
  );
  return rows;
}

/** The last feed number applied from `source` (0: none yet). */
export async function feedCursor(db: Queryable, source: string): Promise<number> {
  const { rows } = await db.query<{ after_seq: string }>('SELECT after_seq::text FROM catalog_feed_cursors WHERE source = $1', [source]);
  return Number(rows[0]?.after_seq ?? 0);
}

export async function setFeedCursor(db: Queryable, source: string, after: number): Promise<void> {
  await db.query(
    `INSERT INTO catalog_feed_cursors (source, after_seq, pulled_at) VALUES ($1, $2, now())
     ON CONFLICT (source) DO UPDATE SET after_seq = excluded.after_seq, pulled_at = now()`,
    [source, after],
  );
}

/** Is this version of the item here already (a held copy seeded, or pulled before)? */
export async function hasVersion(db: Queryable, itemCode: string, version: number): Promise<boolean> {
  return (await db.query('SELECT 1 FROM catalog_versions WHERE item_code = $1 AND version = $2', [itemCode, version])).rows.length > 0;
}
