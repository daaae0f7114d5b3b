/**
 * `gov-id catalog …`: the service catalog of a services entity, through its API (docs/catalog.md).
 * Import and export move whole catalog files; changes go through approval with --actor (the
 * authority's code) and --person (who acts for it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { callAdmin } from '../infra/admin-client.ts';
import { CommandLineError, print, UsageError, type CommandContext } from './command.ts';
import { servicesEntity } from './services-entity.ts';

/** The one word after the command (a file, a code, a query, a change id). */
function argument(ctx: CommandContext, command: string, what: string): string {
  if (ctx.args.length !== 1 || !ctx.args[0]) throw new UsageError(`catalog ${command} needs ${what}`);
  return ctx.args[0];
}

function readFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CommandLineError(`${file}: ${(err as Error).message}`);
  }
}

function actor(ctx: CommandContext, command: string) {
  const { actor: authority, person } = ctx.values;
  if (!authority || !person) throw new UsageError(`catalog change ${command} needs --actor AUTHORITY_CODE --person NAME`);
  return { actor: authority, person, ...(ctx.values.note ? { note: ctx.values.note } : {}) };
}

const call = (ctx: CommandContext, command: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
  callAdmin(servicesEntity(ctx, `catalog ${command}`), ctx.config.dataDir, method, path, body);

export async function importCatalog(ctx: CommandContext): Promise<number> {
  const file = argument(ctx, 'import', 'the catalog FILE');
  print(await call(ctx, 'import', 'POST', '/admin/catalog/import', readFile(file)));
  return 0;
}

export async function exportCatalog(ctx: CommandContext): Promise<number> {
  const file = argument(ctx, 'export', 'the FILE to write');
  const catalog = await call(ctx, 'export', 'GET', '/admin/catalog/export');
  writeFileSync(file, JSON.stringify(catalog, null, 1) + '\n');
  return 0;
}

export async function listCatalog(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError('catalog list takes no words after its options');
  print(await call(ctx, 'list', 'GET', '/catalog/items?limit=100'));
  return 0;
}

export async function showItem(ctx: CommandContext): Promise<number> {
  const code = argument(ctx, 'show', 'an item CODE');
  print(await call(ctx, 'show', 'GET', `/catalog/items/${encodeURIComponent(code)}`));
  return 0;
}

export async function searchCatalog(ctx: CommandContext): Promise<number> {
  const query = ctx.args.join(' ');
  print(await call(ctx, 'search', 'GET', `/catalog/search?q=${encodeURIComponent(query)}`));
  return 0;
}

export async function pullFeed(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError('catalog pull takes no words after its options');
  print(await call(ctx, 'pull', 'POST', '/admin/catalog/feed/pull'));
  return 0;
}

/** Drafts the change in FILE ({"kind", "item", "effective_from"?}) and submits it. */
export async function submitChange(ctx: CommandContext): Promise<number> {
  const by = actor(ctx, 'submit');
  const change = readFile(argument(ctx, 'change submit', 'the change FILE')) as Record<string, unknown>;
  const draft = (await call(ctx, 'change submit', 'POST', '/admin/catalog/changes', { ...change, actor: by.actor, person: by.person })) as {
    id: string;
  };
  print(await call(ctx, 'change submit', 'POST', `/admin/catalog/changes/${draft.id}/submit`, by));
  return 0;
}

export async function decideChange(ctx: CommandContext, decision: 'approve' | 'reject'): Promise<number> {
  const by = actor(ctx, decision);
  const id = argument(ctx, `change ${decision}`, 'the CHANGE id');
  print(await call(ctx, `change ${decision}`, 'POST', `/admin/catalog/changes/${encodeURIComponent(id)}/${decision}`, by));
  return 0;
}

export async function changeHistory(ctx: CommandContext): Promise<number> {
  const code = argument(ctx, 'change history', 'an item CODE');
  print(await call(ctx, 'change history', 'GET', `/catalog/items/${encodeURIComponent(code)}/history`));
  return 0;
}
