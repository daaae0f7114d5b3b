/**
 * The catalog's operations: import and export, changes through approval (and their propagation
 * from a directory item to the implementation items that refine it), reading items, versions,
 * diffs and guides. Every write runs in one transaction: a refusal leaves nothing half-applied.
 */
import { z } from 'zod';
import type { Database, Queryable } from '../../infra/database.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';
import { authorize, transition, type Actor, type ChangeEvent } from './catalog-changes.ts';
import { checkDirectoryItem, checkImplementationItem, propagate, type CatalogLookup } from './catalog-rules.ts';
import {
  CATALOG_FORMAT,
  catalogFileSchema,
  codeOf,
  directoryItemSchema,
  implementationItemSchema,
  isImplementation,
  type Authority,
  type CatalogFile,
  type CatalogItem,
  type DirectoryItem,
  type ImplementationItem,
} from './catalog-schema.ts';
import { searchEntry } from './catalog-search.ts';
import type { FeedEntry, FeedPage } from './catalog-feed.ts';
import * as store from './catalog-store.ts';
import { guideOf, type Guide } from './guide.ts';
import { diffVersions, type VersionDifference } from './version-diff.ts';

/** The catalog as stored: the newest approved version of each item (what new versions are checked against). */
function storeLookup(db: Queryable): CatalogLookup {
  const content = async <T extends CatalogItem>(code: string, kind: store.ItemKind) => {
    const row = await store.latestApproved(db, code);
    return row?.kind === kind ? (row.content as T) : undefined;
  };
  return {
    authority: (code) => store.authority(db, code),
    directory: (code) => content<DirectoryItem>(code, 'directory'),
    implementation: (code) => content<ImplementationItem>(code, 'implementation'),
  };
}

/** A file being imported, over the stored catalog. */
function fileLookup(file: CatalogFile, below: CatalogLookup): CatalogLookup {
  const authorities = new Map(file.authorities.map((a) => [a.code, a]));
  const directory = new Map(file.directory.map((d) => [d.basic_code, d]));
  const implementation = new Map(file.implementation.map((i) => [i.implementing_code, i]));
  return {
    authority: async (code) => authorities.get(code) ?? below.authority(code),
    directory: async (code) => directory.get(code) ?? below.directory(code),
    implementation: async (code) => implementation.get(code) ?? below.implementation(code),
  };
}

function ownerOf(item: CatalogItem): string {
  return isImplementation(item) ? item.implementing_authority : item.owner;
}

function parentOf(item: CatalogItem): string | null {
  return isImplementation(item) && item.level !== 'main' ? item.parent_code : null;
}

async function check(item: CatalogItem, lookup: CatalogLookup, at: string) {
  if (isImplementation(item)) await checkImplementationItem(item, lookup, at);
  else await checkDirectoryItem(item, lookup, at);
}

/** The name, tokens and facets of a version, from the catalog it will be part of; `platform` owns the item. */
async function entryOf(item: CatalogItem, lookup: CatalogLookup, platform: string) {
  const directory = isImplementation(item) ? (await lookup.directory(item.basic_code))! : item;
  const codes = isImplementation(item) ? [item.implementing_authority, ...item.assisting_authorities] : [item.owner];
  const known = new Map<string, Authority>();
  for (const code of codes) known.set(code, (await lookup.authority(code))!);
  return searchEntry(item, directory, (code) => known.get(code)!, platform);
}

/** The item of a change body, its errors named from `item` (item.materials.0.name …). */
function validateItem(kind: store.ItemKind, raw: unknown): CatalogItem {
  return validate(z.object({ item: kind === 'directory' ? directoryItemSchema : implementationItemSchema }), { item: raw }).item;
}

export interface ChangeInput {
  actor: Actor;
  kind: 'directory' | 'implementation';
  item: unknown;
  effectiveFrom?: string;
}

/**
 * Which management platform this catalog is: its platform's code, and which platform keeps the
 * items of an authority's region (the topology's platformOfRegion). An item whose owner belongs
 * to another platform is held here (a copy, changed only at its own platform and pulled from its
 * feed); the default keeps every item as its own.
 */
export interface CatalogPlatform {
  code: string;
  platformOfRegion(region: string): string;
}

const WHOLE_CATALOG: CatalogPlatform = { code: 'national', platformOfRegion: () => 'national' };

/**
 * Reading the catalog's items, versions, diffs and guides over one source: the primary, or the
 * entity's lag-tolerant reads (a replica that may be seconds behind) for the public API.
 */
export class CatalogReader {
  constructor(
    readonly db: Queryable,
    readonly platform: CatalogPlatform = WHOLE_CATALOG,
  ) {}

  /** Items in force under the facets, by code. */
  async list(filter: Partial<store.Facets>, limit: number) {
    const rows = await store.listInForce(this.db, filter, limit);
    return rows.map((r) => ({ code: r.item_code, name: r.name, version: r.version, effective_from: r.effective_from, facets: r.facets }));
  }

  /** An item's version in force, or the numbered version. */
  async version(code: string, version?: number): Promise<store.VersionRow> {
    const row = version === undefined ? await store.inForce(this.db, code) : await store.versionOf(this.db, code, version);
    return row ?? notFound(version === undefined ? `no item ${code} in force` : `no version ${version} of ${code}`);
  }

  async history(code: string): Promise<store.VersionRow[]> {
    const rows = await store.history(this.db, code);
    return rows.length ? rows : notFound(`no item ${code}`);
  }

  async diff(code: string, from: number, to: number): Promise<{ from: number; to: number; differences: VersionDifference[] }> {
    const [a, b] = [await this.version(code, from), await this.version(code, to)];
    return { from, to, differences: diffVersions(a.content, b.content) };
  }

  /** The guide of an item's version, with the platform that handles it. */
  async guide(code: string, version?: number): Promise<Guide & { platform: string }> {
    const row = await this.version(code, version);
    if (!isImplementation(row.content))
      throw new BadRequest('invalid_request', `${code} is a directory item; guides belong to implementation items`);
    const item = row.content;
    const lookup = storeLookup(this.db);
    const directory = (await lookup.directory(item.basic_code))!;
    const names = new Map<string, string>();
    for (const c of [item.implementing_authority, ...item.assisting_authorities]) names.set(c, (await lookup.authority(c))?.name ?? c);
    return { ...guideOf(item, row.version, directory, (c) => names.get(c) ?? c), platform: row.held_from ?? this.platform.code };
  }
}

/**
 * The catalog as its management platform keeps it. Its own reads (inherited) go to the primary:
 * changes check against them and cases pin the version they read. `publicReads` serves people and
 * portals, whom an approved change may reach a few seconds late (docs/operations.md, "PostgreSQL replicas").
 */
export class CatalogService extends CatalogReader {
  readonly publicReads: CatalogReader;
  constructor(
    override readonly db: Database,
    platform: CatalogPlatform = WHOLE_CATALOG,
    reads: Queryable = db,
  ) {
    super(db, platform);
    this.publicReads = new CatalogReader(reads, platform);
  }

  /** The platform that owns the item (by its owner's region), once its owner is known to `lookup`. */
  private async owningPlatform(item: CatalogItem, lookup: CatalogLookup): Promise<string> {
    const owner = await lookup.authority(ownerOf(item));
    return owner ? this.platform.platformOfRegion(owner.region) : this.platform.code;
  }

  private async heldFrom(item: CatalogItem, lookup: CatalogLookup): Promise<string | null> {
    const platform = await this.owningPlatform(item, lookup);
    return platform === this.platform.code ? null : platform;
  }

  async isEmpty(): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM catalog_items LIMIT 1')).rows.length === 0;
  }

  /** Imports a catalog file as the first published version of each of its items; a code already used is refused. */
  async import(raw: unknown): Promise<{ authorities: number; directory: number; implementation: number }> {
    const file = validate(catalogFileSchema, raw);
    const counts = await this.db.transaction(async (tx) => {
      const seen = new Set<string>();
      const entries = [
        ...file.directory.map((item, i) => ({ item, at: `directory.${i}` })),
        ...file.implementation.map((item, i) => ({ item, at: `implementation.${i}` })),
      ];
      for (const { item, at } of entries) {
        const code = codeOf(item);
        const path = `${at}.${isImplementation(item) ? 'implementing_code' : 'basic_code'}`;
        if (seen.has(code) || (await store.item(tx, code)))
          throw new Conflict('code_collision', `${path}: ${code} is already used by another item`);
        seen.add(code);
      }
      const lookup = fileLookup(file, storeLookup(tx));
      for (const { item, at } of entries) await check(item, lookup, at);
      await store.insertAuthorities(tx, file.authorities);
      for (const { item } of entries) {
        const code = codeOf(item);
        const heldFrom = await this.heldFrom(item, lookup);
        await store.insertItem(tx, {
          code,
          kind: isImplementation(item) ? 'implementation' : 'directory',
          basicCode: item.basic_code,
          parentCode: parentOf(item),
          owner: ownerOf(item),
          heldFrom,
        });
        const author = { authority: ownerOf(item), person: 'import' };
        const { id } = await store.insertVersion(tx, {
          itemCode: code,
          state: 'approved',
          origin: 'import',
          content: item,
          flags: [],
          author,
          reviewer: author,
        });
        await store.publish(tx, id, await entryOf(item, lookup, heldFrom ?? this.platform.code));
      }
      return { authorities: file.authorities.length, directory: file.directory.length, implementation: file.implementation.length };
    });
    // Fresh statistics after a bulk load: the planner picks search's index paths by them (PGlite runs no autovacuum).
    await this.db.exec('ANALYZE catalog_published, catalog_names');
    return counts;
  }

  /** The newest published version of every item, in the import format. */
  async export(): Promise<CatalogFile> {
    return {
      format: CATALOG_FORMAT,
      authorities: await store.authorities(this.db),
      directory: (await store.latestApprovedContents(this.db, 'directory')) as DirectoryItem[],
      implementation: (await store.latestApprovedContents(this.db, 'implementation')) as ImplementationItem[],
    };
  }

  /** A new draft version of an item (a new item, or a change of an existing one) by its owner. */
  async createChange(input: ChangeInput): Promise<store.VersionRow> {
    const item = validateItem(input.kind, input.item);
    const code = codeOf(item);
    return this.db
      .transaction(async (tx) => {
        const existing = await store.item(tx, code);
        const owner = existing?.owner ?? ownerOf(item);
        if (existing && existing.kind !== input.kind) throw new Conflict('code_collision', `item: ${code} is a ${existing.kind} item`);
        if (ownerOf(item) !== owner)
          throw new BadRequest(
            'invalid_item',
            `item.${isImplementation(item) ? 'implementing_authority' : 'owner'}: the owner of ${code} is ${owner}; it does not change`,
          );
        authorize('edit', input.actor, owner, '');
        if (existing?.held_from) throw this.heldElsewhere(code, existing.held_from);
        const open = existing ? await store.openChange(tx, code) : undefined;
        if (open) throw new Conflict('change_open', `item: ${code} already has change ${open.id} (${open.state}); edit or decide it first`);
        const lookup = storeLookup(tx);
        await check(item, lookup, 'item');
        const heldFrom = await this.heldFrom(item, lookup);
        if (heldFrom) throw this.heldElsewhere(code, heldFrom);
        if (!existing)
          await store.insertItem(tx, {
            code,
            kind: input.kind,
            basicCode: item.basic_code,
            parentCode: parentOf(item),
            owner,
            heldFrom: null,
          });
        const { id } = await store.insertVersion(tx, {
          itemCode: code,
          state: 'draft',
          origin: 'change',
          content: item,
          effectiveFrom: input.effectiveFrom,
          flags: [],
          author: input.actor,
        });
        return (await store.change(tx, id))!;
      })
      .catch((err: unknown) => {
        // Two changes of one item drafted at the same moment: the unique indexes let only one through.
        if ((err as { code?: string }).code === '23505')
          throw new Conflict('change_open', `item: another change of ${code} was drafted at the same time; look at its changes`);
        throw err;
      });
  }

  /** 谁编制谁维护: another platform's item is changed at that platform's management platform, and reaches this one by its feed. */
  private heldElsewhere(code: string, platform: string): Forbidden {
    return new Forbidden(
      'not_owner',
      `item: ${code} belongs to platform ${platform}; it is changed at that platform's management platform and reaches this one by its feed`,
    );
  }

  /** Replaces a draft's content. */
  async editChange(id: string, input: Omit<ChangeInput, 'kind'>): Promise<store.VersionRow> {
    return this.db.transaction(async (tx) => {
      const row = await this.open(tx, id, 'edit', input.actor);
      const item = validateItem(row.kind, input.item);
      if (codeOf(item) !== row.item_code) throw new BadRequest('invalid_item', `item: a change of ${row.item_code} keeps its code`);
      if (ownerOf(item) !== row.owner)
        throw new BadRequest('invalid_item', `item: the owner of ${row.item_code} is ${row.owner}; it does not change`);
      const lookup = storeLookup(tx);
      await check(item, lookup, 'item');
      await store.updateDraft(tx, id, { content: item, effectiveFrom: input.effectiveFrom ?? row.effective_from, author: input.actor });
      return (await store.change(tx, id))!;
    });
  }

  async submit(id: string, actor: Actor): Promise<store.VersionRow> {
    return this.db.transaction(async (tx) => {
      await this.open(tx, id, 'submit', actor);
      await store.setState(tx, id, 'submitted');
      return (await store.change(tx, id))!;
    });
  }

  async reject(id: string, actor: Actor, note?: string): Promise<store.VersionRow> {
    return this.db.transaction(async (tx) => {
      await this.open(tx, id, 'reject', actor);
      await store.setState(tx, id, 'rejected', { ...actor, note });
      return (await store.change(tx, id))!;
    });
  }

  /**
   * Publishes a submitted change, checked again against the catalog as it is now. A directory
   * item's change is carried into the implementation items that refine it, from the same date.
   */
  async approve(id: string, actor: Actor, note?: string): Promise<{ change: store.VersionRow; propagated: store.VersionRow[] }> {
    return this.db.transaction(async (tx) => {
      const row = await this.open(tx, id, 'approve', actor);
      const lookup = storeLookup(tx);
      await check(row.content, lookup, 'item');
      await store.setState(tx, id, 'approved', { ...actor, note });
      await store.publish(tx, id, await entryOf(row.content, lookup, this.platform.code));
      const approved = (await store.change(tx, id))!;
      const propagated = isImplementation(approved.content) ? [] : await this.propagate(tx, approved);
      return { change: approved, propagated };
    });
  }

  /** Carries a directory item's new version into this platform's own implementation items that refine it. */
  private async propagate(tx: Queryable, directoryVersion: store.VersionRow): Promise<store.VersionRow[]> {
    const directory = directoryVersion.content as DirectoryItem;
    const lookup = storeLookup(tx);
    const created: store.VersionRow[] = [];
    for (const code of await store.refiningItems(tx, directory.basic_code)) {
      const notice = `directory item ${directory.basic_code} changed (version ${directoryVersion.version}, from ${directoryVersion.effective_from})`;
      const open = await store.openChange(tx, code);
      if (open) {
        await store.addFlags(tx, open.id, [`${notice}: check this change against it`]);
        continue;
      }
      const current = await store.latestApproved(tx, code);
      if (!current) continue;
      const { item, flags } = propagate(current.content as ImplementationItem, directory);
      try {
        if (flags.length === 0) await checkImplementationItem(item, lookup, 'item');
      } catch (err) {
        if (!(err instanceof BadRequest)) throw err;
        flags.push(err.message);
      }
      // Mechanical updates are published with the directory's change; the rest wait, as drafts, for the item's owner.
      const decided = flags.length === 0;
      const { id } = await store.insertVersion(tx, {
        itemCode: code,
        state: decided ? 'approved' : 'draft',
        origin: 'propagation',
        content: item,
        effectiveFrom: directoryVersion.effective_from,
        flags: flags.map((f) => `${notice}: ${f}`),
        author: { authority: directoryVersion.reviewer_authority!, person: directoryVersion.reviewer! },
        ...(decided ? { reviewer: { authority: directoryVersion.reviewer_authority!, person: directoryVersion.reviewer! } } : {}),
      });
      if (decided) await store.publish(tx, id, await entryOf(item, lookup, this.platform.code));
      created.push((await store.change(tx, id))!);
    }
    return created;
  }

  /**
   * Applies a page of a superior platform's feed, all of it or nothing, with the cursor: each new
   * version of an item held from there is kept under its own number, published from its own date,
   * and a directory item's is carried into this platform's own items that refine it (flagged
   * drafts where a person must decide). Versions held already (seeded, or pulled before) and this
   * platform's own items are left as they are.
   */
  async receive(source: string, page: FeedPage): Promise<{ applied: number; propagated: store.VersionRow[]; skipped: string[] }> {
    return this.db.transaction(async (tx) => {
      const propagated: store.VersionRow[] = [];
      const skipped: string[] = [];
      let applied = 0;
      for (const entry of page.entries) {
        const outcome = await this.receiveEntry(tx, entry);
        if (typeof outcome === 'string') skipped.push(`${entry.code} v${entry.version}: ${outcome}`);
        else {
          applied++;
          propagated.push(...outcome);
        }
      }
      await store.setFeedCursor(tx, source, page.next);
      return { applied, propagated, skipped };
    });
  }

  /** The changes it propagated, or why the entry was left alone. */
  private async receiveEntry(tx: Queryable, entry: FeedEntry): Promise<store.VersionRow[] | string> {
    if (entry.platform === this.platform.code) return "this platform's own item";
    const existing = await store.item(tx, entry.code);
    if (existing && existing.held_from === null) return `the code is one of this platform's own items`;
    if (existing && (await store.hasVersion(tx, entry.code, entry.version))) return 'held already';
    await store.insertAuthorities(tx, entry.authorities);
    const item = entry.item;
    if (!existing) {
      if (isImplementation(item) && item.level !== 'main' && !(await store.item(tx, item.parent_code)))
        throw new BadRequest('invalid_request', `feed entry ${entry.seq}: ${entry.code} comes before its parent ${item.parent_code}`);
      await store.insertItem(tx, {
        code: entry.code,
        kind: entry.kind,
        basicCode: item.basic_code,
        parentCode: parentOf(item),
        owner: ownerOf(item),
        heldFrom: entry.platform,
      });
    }
    const lookup = storeLookup(tx);
    if (isImplementation(item) && !(await lookup.directory(item.basic_code)))
      throw new BadRequest('invalid_request', `feed entry ${entry.seq}: ${entry.code} comes before its directory item ${item.basic_code}`);
    const { id } = await store.insertVersion(tx, {
      itemCode: entry.code,
      state: 'approved',
      origin: 'feed',
      content: item,
      effectiveFrom: entry.effective_from,
      flags: [],
      author: entry.author,
      reviewer: entry.reviewer,
      version: entry.version,
    });
    await store.publish(tx, id, await entryOf(item, lookup, entry.platform));
    return entry.kind === 'directory' ? this.propagate(tx, (await store.change(tx, id))!) : [];
  }

  /** The change, locked, when `actor` may fire `event` on it now. */
  private async open(tx: Queryable, id: string, event: ChangeEvent, actor: Actor): Promise<store.VersionRow> {
    const row = (await store.change(tx, id, true)) ?? notFound(`no change ${id}`);
    transition(row.state, event);
    authorize(event, actor, row.owner, row.author);
    return row;
  }

  change(id: string) {
    return store.change(this.db, id).then((row) => row ?? notFound(`no change ${id}`));
  }

  changes(filter: { state?: store.VersionRow['state']; itemCode?: string }) {
    return store.changes(this.db, filter);
  }
}

function notFound(message: string): never {
  throw new NotFound(message);
}
