/**
 * `GET /metrics`, served beside `/healthz`: the entity's Prometheus metrics (infra/metrics.ts).
 * Entities listen on loopback behind a proxy, so the caller's address proves nothing: the scrape
 * presents a bearer token, the deployment's metrics token (`GOV_ID_METRICS_TOKEN`, read-only, one
 * for every entity, what Prometheus is given) or the entity's admin token.
 */
import type Koa from 'koa';
import { safeEqual } from './crypto.ts';
import { ConfigurationError, HttpError, MethodNotAllowed } from './errors.ts';
import type { EntityMetrics } from './metrics.ts';

export const METRICS_PATH = '/metrics';
export const METRICS_TOKEN_ENV = 'GOV_ID_METRICS_TOKEN';
/** As long as a derived token: a short one could be guessed by anyone who reaches the proxy. */
const MIN_TOKEN_LENGTH = 32;

/** The metrics token of the configuration, checked; undefined when none is set. */
export function checkedMetricsToken(token: string | undefined): string | undefined {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH)
    throw new ConfigurationError(METRICS_TOKEN_ENV, `must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`);
  return token;
}

export function metricsEndpoint(opts: { metrics: EntityMetrics; adminToken: string; metricsToken?: string }): Koa.Middleware {
  const tokens = [opts.adminToken, ...(opts.metricsToken ? [opts.metricsToken] : [])];
  return async (ctx, next) => {
    if (ctx.path !== METRICS_PATH) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new MethodNotAllowed(ctx.method, ['GET', 'HEAD']);
    const presented = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1];
    if (!presented || !tokens.some((token) => safeEqual(presented, token)))
      throw new HttpError(401, 'unauthorized', 'the metrics token or the admin token is required', {
        headers: { 'WWW-Authenticate': 'Bearer' },
      });
    ctx.set('Cache-Control', 'no-store');
    ctx.type = opts.metrics.contentType;
    ctx.body = await opts.metrics.exposition();
  };
}
