/**
 * The catalog's feed: every version a management platform publishes, its own items' and those it
 * holds from the platforms above it, in the order it published them. A subordinate platform's
 * services entity pulls it (feed-puller.ts) and so holds its superiors' items: a change of a
 * national directory item reaches a city's implementation items, whose guides follow. This module
 * is the feed's format: what a page says, read from the store, and checked when it arrives.
 */
import { z } from 'zod';
import type { Queryable } from '../../infra/database.ts';
import { authoritySchema, directoryItemSchema, implementationItemSchema, type Authority, type CatalogItem } from './catalog-schema.ts';
import * as store from './catalog-store.ts';

export const FEED_PATH = '/catalog/feed';
/** Entries in one page at most. */
export const FEED_PAGE = 200;

const who = z.object({ authority: z.string().min(1).max(64), person: z.string().min(1).max(64) }).strict();

const entryFields = {
  seq: z.number().int().positive(),
  /** The platform that owns the item (its management platform approved the version). */
  platform: z.string().min(1).max(64),
  code: z.string().min(1).max(40),
  version: z.number().int().positive(),
  effective_from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** The authorities the item names (owner, or implementing and assisting), so a receiver knows them. */
  authorities: z.array(authoritySchema).max(20),
  author: who,
  reviewer: who,
};

/** One published version; the item is checked against the catalog's own schemas. */
export const feedEntrySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('directory'), item: directoryItemSchema, ...entryFields }).strict(),
  z.object({ kind: z.literal('implementation'), item: implementationItemSchema, ...entryFields }).strict(),
]);

export const feedPageSchema = z
  .object({
    entries: z.array(feedEntrySchema).max(FEED_PAGE),
    /** The feed number to ask after next time. */
    next: z.number().int().min(0),
    /** More entries wait after `next`. */
    more: z.boolean(),
  })
  .strict();

export type FeedEntry = z.infer<typeof feedEntrySchema>;
export type FeedPage = z.infer<typeof feedPageSchema>;

function namedAuthorities(item: CatalogItem): string[] {
  return 'implementing_code' in item ? [item.implementing_authority, ...item.assisting_authorities] : [item.owner];
}

/** The page of the feed after `after`: published versions of this platform (`self`) and of those it holds. */
export async function feedPage(db: Queryable, self: string, after: number, limit = FEED_PAGE): Promise<FeedPage> {
  const rows = await store.feedAfter(db, after, limit + 1);
  const page = rows.slice(0, limit);
  const authorities = new Map<string, Authority>();
  const entries: FeedEntry[] = [];
  for (const row of page) {
    const named: Authority[] = [];
    for (const code of namedAuthorities(row.content)) {
      if (!authorities.has(code)) authorities.set(code, (await store.authority(db, code))!);
      named.push(authorities.get(code)!);
    }
    entries.push({
      seq: Number(row.seq),
      kind: row.kind,
      platform: row.held_from ?? self,
      code: row.item_code,
      version: row.version,
      effective_from: row.effective_from,
      authorities: named,
      author: { authority: row.author_authority, person: row.author },
      reviewer: { authority: row.reviewer_authority!, person: row.reviewer! },
      item: row.content,
    } as FeedEntry);
  }
  return { entries, next: entries.at(-1)?.seq ?? after, more: rows.length > limit };
}
