/**
 * The registry conflicts kept at an OP that publishes homes, behind the admin token: publications
 * its superior refused because the identifier already has another home.
 * - `GET /admin/registry/conflicts` — the list (`gov-id admin account conflicts --entity ID`);
 * - `POST /admin/registry/conflicts/retry` — deliver them again once resolved
 *   (`gov-id admin account retry-conflicts --entity ID`). Resolving them: docs/recognition.md.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { requireAdmin } from '../infra/admin-auth.ts';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import { listRegistryConflicts, retryRegistryConflicts } from './registry-outbox.ts';

export const REGISTRY_CONFLICTS_PATH = '/admin/registry/conflicts';

export function isRegistryConflictsPath(path: string): boolean {
  return path === REGISTRY_CONFLICTS_PATH || path.startsWith(`${REGISTRY_CONFLICTS_PATH}/`);
}

export function registryConflictsAdmin(runtime: EntityRuntime): Koa.Middleware {
  const router = new Router({ prefix: REGISTRY_CONFLICTS_PATH });
  router.use(requireAdmin(runtime.adminToken));
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.get('/', async (ctx) => {
    ctx.body = { entity: runtime.self.url, conflicts: await listRegistryConflicts(runtime.db, runtime.cipher) };
  });
  router.post('/retry', async (ctx) => {
    ctx.body = { entity: runtime.self.url, retried: await retryRegistryConflicts(runtime.db) };
  });
  return router.routes() as Koa.Middleware;
}
