/**
 * Health endpoints every entity serves beside its entity configuration, for load balancers,
 * orchestrators and the container HEALTHCHECK (docs/operations.md, "Health checks"):
 * - `/healthz`: the process is up and serving; touches nothing else.
 * - `/readyz`: the entity can do its work now: its database answers `SELECT 1`, its key-value
 *   store answers, and its federation signing key is loaded. Each check is bounded in time, so
 *   the answer never hangs on a dependency that does not reply.
 * Neither is ever cached.
 */
import type Koa from 'koa';
import type { EntityRuntime } from './entity-runtime.ts';
import { MethodNotAllowed } from './errors.ts';

export const HEALTHZ_PATH = '/healthz';
export const READYZ_PATH = '/readyz';
/** Per check: well under the probe timeouts of load balancers and orchestrators (typically 1–5 s). */
const CHECK_TIMEOUT_MS = 1500;

export function isHealthPath(path: string): boolean {
  return path === HEALTHZ_PATH || path === READYZ_PATH;
}

type Check = () => Promise<unknown>;
type Outcome = 'ok' | 'failed' | 'timeout';

/** What must answer for an entity to be ready. */
export function readinessChecks(runtime: Pick<EntityRuntime, 'db' | 'kv' | 'keyRing'>): Record<string, Check> {
  return {
    database: () => runtime.db.query('SELECT 1'),
    store: () => runtime.kv.get('readiness-probe'),
    signing_key: async () => {
      if (typeof runtime.keyRing.signingKey().d !== 'string') throw new Error('no private signing key');
    },
  };
}

async function outcome(check: Check, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(check)
        .then(
          () => 'ok' as const,
          () => 'failed' as const,
        ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthEndpoints(opts: {
  checks: Record<string, Check>;
  log: { warn(msg: string, fields?: Record<string, unknown>): void };
  timeoutMs?: number;
}): Koa.Middleware {
  return async (ctx, next) => {
    if (!isHealthPath(ctx.path)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new MethodNotAllowed(ctx.method, ['GET', 'HEAD']);
    ctx.set('Cache-Control', 'no-store');
    if (ctx.path === HEALTHZ_PATH) {
      ctx.body = { status: 'ok' };
      return;
    }
    const names = Object.keys(opts.checks);
    const outcomes = await Promise.all(names.map((name) => outcome(opts.checks[name]!, opts.timeoutMs ?? CHECK_TIMEOUT_MS)));
    const checks = Object.fromEntries(names.map((name, i) => [name, outcomes[i]!]));
    const failing = names.filter((name) => checks[name] !== 'ok');
    if (failing.length === 0) {
      ctx.body = { status: 'ok', checks };
      return;
    }
    opts.log.warn('not ready', { checks });
    ctx.status = 503;
    ctx.body = { error: 'temporarily_unavailable', error_description: `not ready: ${failing.join(', ')}`, checks };
  };
}
