/**
 * Notices in the person's space (我的消息), each saying why it was sent. Replies (an answer to a
 * question, what an authority did about a rating) always come; the other categories the person
 * turns off, and a category turned off is neither worked out nor shown. A notice has a dedupe key:
 * standing notices worked out again on every visit are kept once.
 */
import type { Queryable } from '../../infra/database.ts';
import { BadRequest } from '../../infra/errors.ts';

export const NOTICE_CATEGORIES = ['replies', 'case_suggestions', 'item_changes', 'licence_expiry'] as const;
export type NoticeCategory = (typeof NOTICE_CATEGORIES)[number];
/** Categories a person may turn off: everything but the replies to what they asked or rated. */
export const OPTIONAL_CATEGORIES: readonly NoticeCategory[] = NOTICE_CATEGORIES.filter((c) => c !== 'replies');

export interface SpaceNotice {
  personIndex: string;
  category: NoticeCategory;
  text: string;
  reason: string;
  link?: Record<string, string | number>;
  dedupeKey: string;
  at: Date;
}

export interface SpaceNoticeRow {
  id: string;
  category: NoticeCategory;
  text: string;
  reason: string;
  link: Record<string, string | number>;
  created_at: string;
}

/** Posts a notice unless one with its key was posted before; true when posted. */
export async function postNotice(db: Queryable, n: SpaceNotice): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO space_notices (person_index, category, text, reason, link, dedupe_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (person_index, dedupe_key) DO NOTHING`,
    [n.personIndex, n.category, n.text, n.reason, JSON.stringify(n.link ?? {}), n.dedupeKey, n.at],
  );
  return rowCount === 1;
}

/** The person's notices in the categories they keep, newest first. */
export async function noticesOf(db: Queryable, personIndex: string, enabled: readonly NoticeCategory[], limit: number) {
  const { rows } = await db.query<SpaceNoticeRow>(
    `SELECT id::text AS id, category, text, reason, link, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
     FROM space_notices WHERE person_index = $1 AND category = ANY($2::text[]) ORDER BY id DESC LIMIT $3`,
    [personIndex, enabled, limit],
  );
  return rows;
}

/** Which categories the person keeps (all, unless turned off). */
export async function settingsOf(db: Queryable, personIndex: string): Promise<Record<NoticeCategory, boolean>> {
  const { rows } = await db.query<{ category: NoticeCategory; enabled: boolean }>(
    'SELECT category, enabled FROM space_notice_settings WHERE person_index = $1',
    [personIndex],
  );
  const settings = Object.fromEntries(NOTICE_CATEGORIES.map((c) => [c, true])) as Record<NoticeCategory, boolean>;
  for (const r of rows) if (OPTIONAL_CATEGORIES.includes(r.category)) settings[r.category] = r.enabled;
  return settings;
}

export function enabledCategories(settings: Record<NoticeCategory, boolean>): NoticeCategory[] {
  return NOTICE_CATEGORIES.filter((c) => settings[c]);
}

/** Turns categories on or off; replies cannot be turned off (400 `category_required`). */
export async function changeSettings(db: Queryable, personIndex: string, changes: Record<string, boolean>): Promise<void> {
  for (const category of Object.keys(changes)) {
    if (category === 'replies')
      throw new BadRequest('category_required', 'replies: answers to your questions and ratings always come to your space');
    if (!OPTIONAL_CATEGORIES.includes(category as NoticeCategory))
      throw new BadRequest('invalid_request', `${category}: not a notice category (${OPTIONAL_CATEGORIES.join(', ')})`);
  }
  for (const [category, enabled] of Object.entries(changes)) {
    await db.query(
      `INSERT INTO space_notice_settings (person_index, category, enabled) VALUES ($1, $2, $3)
       ON CONFLICT (person_index, category) DO UPDATE SET enabled = $3, updated_at = now()`,
      [personIndex, category, enabled],
    );
  }
}
