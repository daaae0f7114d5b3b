/**
 * `gov-id keys …` and `gov-id audit …`: an entity's federation keys and audit log, through its own
 * admin API (cli/entity-admin.ts serves it).
 */
import { loadTopology, type Entity } from '../federation/topology.ts';
import { callAdmin } from './admin-client.ts';
import { print, UsageError, type CommandContext } from './command.ts';

/** The entity named by --entity, which `command` needs. */
function entity({ values, topologyPath }: CommandContext, command: string): Entity {
  const t = loadTopology(topologyPath);
  if (!values.entity) throw new UsageError(`${command} needs --entity ID`);
  return t.get(values.entity);
}

export async function listKeys(ctx: CommandContext): Promise<number> {
  print(await callAdmin(entity(ctx, 'keys list'), ctx.config.dataDir, 'GET', '/admin/keys'));
  return 0;
}

export async function rotateKeys(ctx: CommandContext): Promise<number> {
  const target = entity(ctx, 'keys rotate');
  const seconds = (flag: 'lead' | 'grace') => {
    const raw = ctx.values[flag];
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw new UsageError(`--${flag} takes a number of seconds`);
    return Number(raw);
  };
  print(
    await callAdmin(target, ctx.config.dataDir, 'POST', '/admin/keys/rotate', {
      lead_seconds: seconds('lead'),
      grace_seconds: seconds('grace'),
    }),
  );
  return 0;
}

export async function listAudit(ctx: CommandContext): Promise<number> {
  const target = entity(ctx, 'audit list');
  const { limit } = ctx.values;
  if (limit !== undefined && !/^\d+$/.test(limit)) throw new UsageError('--limit takes a number');
  print(await callAdmin(target, ctx.config.dataDir, 'GET', `/admin/audit${limit ? `?limit=${limit}` : ''}`));
  return 0;
}

/** Exit status 1 when the hash chain is broken. */
export async function verifyAudit(ctx: CommandContext): Promise<number> {
  const result = (await callAdmin(entity(ctx, 'audit verify'), ctx.config.dataDir, 'GET', '/admin/audit/verify')) as { intact: boolean };
  print(result);
  return result.intact ? 0 : 1;
}
