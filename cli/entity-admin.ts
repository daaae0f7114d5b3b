/**
 * The administration every entity serves beside its application, behind the admin token:
 * - GET /admin/keys, POST /admin/keys/rotate — its federation keys (see infra/entity-key-ring.ts)
 * - GET /admin/audit?limit=N — the newest audit entries; GET /admin/audit/verify — walks the
 *   hash chain and says whether, and where, it is broken.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { requireAdmin } from '../infra/admin-auth.ts';
import { readAudit, verifyAuditChain } from '../infra/audit-log.ts';
import { ROTATION_GRACE_SECONDS, ROTATION_LEAD_SECONDS } from '../infra/entity-key-ring.ts';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import { publicJwk } from '../infra/entity-keys.ts';
import { parseBody } from '../infra/http-server.ts';
import { validate } from '../infra/validation.ts';

const PREFIXES = ['/admin/keys', '/admin/audit'];

export function isEntityAdminPath(path: string): boolean {
  return PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

const rotation = z
  .object({
    lead_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86400)
      .default(ROTATION_LEAD_SECONDS),
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86400)
      .default(ROTATION_GRACE_SECONDS),
  })
  .strict();
const auditQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict();

export function entityAdministration(runtime: EntityRuntime): Koa.Middleware {
  const router = new Router({ prefix: '/admin' });
  router.use(requireAdmin(runtime.adminToken));
  const keys = () => ({
    signing: runtime.keyRing.signingKey().kid,
    published: runtime.keyRing.published().map(publicJwk),
    historical: runtime.keyRing.historical(),
  });
  router.get('/keys', (ctx) => {
    ctx.body = keys();
  });
  router.post('/keys/rotate', parseBody, async (ctx) => {
    const body = validate(rotation, ctx.request.body);
    const { next, activatesAt } = await runtime.keyRing.rotate(body.lead_seconds, body.grace_seconds);
    runtime.log.info('federation key rotation', { next: next.kid, activates_at: activatesAt });
    ctx.body = { next: next.kid, activates_at: activatesAt, ...keys() };
  });
  router.get('/audit', async (ctx) => {
    const { limit } = validate(auditQuery, ctx.query);
    ctx.body = await readAudit(runtime.db, limit);
  });
  router.get('/audit/verify', async (ctx) => {
    const { entries, brokenAt } = await verifyAuditChain(runtime.db);
    ctx.body = { entity: runtime.self.id, entries, intact: brokenAt === null, broken_at: brokenAt };
  });
  return router.routes() as Koa.Middleware;
}
