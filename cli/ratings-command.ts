/** `gov-id ratings stats`: the public figures of 好差评 of a services entity, per authority and item (docs/voice.md). */
import { callAdmin } from '../infra/admin-client.ts';
import { print, UsageError, type CommandContext } from './command.ts';
import { servicesEntity } from './services-entity.ts';

export async function ratingStats(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError('ratings stats takes no words after its options');
  const query = new URLSearchParams();
  if (ctx.values.authority) query.set('authority', ctx.values.authority);
  if (ctx.values.item) query.set('item', ctx.values.item);
  print(await callAdmin(servicesEntity(ctx, 'ratings stats'), ctx.config.dataDir, 'GET', `/ratings/stats?${query}`));
  return 0;
}
