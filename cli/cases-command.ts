/** `gov-id cases stats`: supervision figures of a services entity's cases, per authority and item (docs/cases.md). */
import { callAdmin } from '../infra/admin-client.ts';
import { print, UsageError, type CommandContext } from './command.ts';
import { servicesEntity } from './services-entity.ts';

export async function caseStats(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError('cases stats takes no words after its options');
  const query = new URLSearchParams();
  if (ctx.values.authority) query.set('authority', ctx.values.authority);
  if (ctx.values.item) query.set('item', ctx.values.item);
  print(await callAdmin(servicesEntity(ctx, 'cases stats'), ctx.config.dataDir, 'GET', `/admin/cases/stats?${query}`));
  return 0;
}
