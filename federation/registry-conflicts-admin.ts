/**
 * `GET /admin/registry/conflicts`, behind the admin token, at every OP that publishes homes: the
 * publications its superior refused because the identifier already has another home (what
 * `gov-id admin account conflicts --entity ID` prints). Resolving them: docs/recognition.md.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { requireAdmin } from '../infra/admin-auth.ts';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import { listRegistryConflicts } from './registry-outbox.ts';

export const REGISTRY_CONFLICTS_PATH = '/admin/registry/conflicts';

export function registryConflictsAdmin(runtime: EntityRuntime): Koa.Middleware {
  const router = new Router();
  router.get(REGISTRY_CONFLICTS_PATH, requireAdmin(runtime.adminToken), async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { entity: runtime.self.url, conflicts: await listRegistryConflicts(runtime.db, runtime.cipher) };
  });
  return router.routes() as Koa.Middleware;
}
