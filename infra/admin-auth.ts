/** Guards an entity's admin API: a bearer token derived from the deployment's master key. */
import type Koa from 'koa';
import { safeEqual } from './crypto.ts';
import { Unauthorized } from './errors.ts';

export function requireAdmin(adminToken: string): Koa.Middleware {
  return async (ctx, next) => {
    const presented = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1];
    if (!presented || !safeEqual(presented, adminToken)) throw new Unauthorized('admin token required');
    await next();
  };
}
