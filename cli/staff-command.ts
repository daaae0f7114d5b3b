/**
 * `gov-id staff …`: staff roles at an implementing authority, granted by its admin through the
 * services entity's admin API (docs/cases.md). The ID number travels in the request body only;
 * the entity keeps it as a blind index and encrypted.
 */
import { callAdmin } from '../infra/admin-client.ts';
import { print, UsageError, type CommandContext } from './command.ts';
import { servicesEntity } from './services-entity.ts';

function grantOptions(ctx: CommandContext, words: string) {
  const { 'id-number': idNumber, authority, role } = ctx.values;
  if (!idNumber || !authority || !role) throw new UsageError(`${words} needs --id-number ID --authority CODE --role ROLE[,ROLE]`);
  if (ctx.args.length) throw new UsageError(`${words} takes no words after its options`);
  return { id_number: idNumber, authority, role };
}

export async function grantStaff(ctx: CommandContext): Promise<number> {
  const body = grantOptions(ctx, 'staff grant');
  print(await callAdmin(servicesEntity(ctx, 'staff grant'), ctx.config.dataDir, 'POST', '/admin/staff/grants', body));
  return 0;
}

export async function revokeStaff(ctx: CommandContext): Promise<number> {
  const body = grantOptions(ctx, 'staff revoke');
  print(await callAdmin(servicesEntity(ctx, 'staff revoke'), ctx.config.dataDir, 'POST', '/admin/staff/revocations', body));
  return 0;
}

export async function listStaff(ctx: CommandContext): Promise<number> {
  if (!ctx.values.authority) throw new UsageError('staff list needs --authority CODE');
  const path = `/admin/staff/grants?authority=${encodeURIComponent(ctx.values.authority)}`;
  print(await callAdmin(servicesEntity(ctx, 'staff list'), ctx.config.dataDir, 'GET', path));
  return 0;
}
