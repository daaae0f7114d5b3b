/**
 * Counts and times every request an entity answers (infra/metrics.ts), labelled by its route
 * template (`/interaction/:uid/password`), never by the path a client sent: the routers note the
 * route they matched on the request, the innermost router first (oidc-provider's inside our
 * application). A request no router matched is labelled by its path with every segment that is
 * not a plain word replaced by `:param`, a bounded number of such labels per entity, then `other`;
 * one answered 404 without a route is `unmatched`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntityMetrics } from './metrics.ts';
import type { Logger } from './log.ts';

/** Routes noted by the routers, per request. */
const routes = new WeakMap<IncomingMessage, string>();

/** Labels of requests no router matched, per entity, beyond which they are all `other`. */
const MAX_UNROUTED_LABELS = 64;
const PLAIN_SEGMENT = /^\.?[A-Za-z][A-Za-z_.-]{0,39}$/;

interface RoutedContext {
  req: IncomingMessage;
  /** Set by @koa/router and by oidc-provider's router: the path template of the route that matched. */
  _matchedRoute?: string | RegExp;
}

/**
 * Koa middleware (our applications' first, and oidc-provider's through `provider.use`): notes the
 * route its router matched, unless a router inside it already did.
 */
export async function noteMatchedRoute(ctx: RoutedContext, next: () => Promise<unknown>): Promise<void> {
  try {
    await next();
  } finally {
    if (ctx._matchedRoute !== undefined && !routes.has(ctx.req)) routes.set(ctx.req, String(ctx._matchedRoute));
  }
}

function templateOf(path: string): string {
  return path
    .split('/')
    .map((segment) => (segment === '' || PLAIN_SEGMENT.test(segment) ? segment : ':param'))
    .join('/');
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A request answered (or abandoned) later than this is logged as slow, by route template and
 * status only: an operator sees which route stalls without a dashboard, and no path (which may
 * hold an interaction or case number) reaches the log.
 */
export const SLOW_REQUEST_MS = 5_000;

/**
 * Wraps an entity's request handler: each request is counted and timed once it is answered or its
 * client is gone, and logged when it took longer than SLOW_REQUEST_MS.
 */
export function measuringRequests(metrics: EntityMetrics, log: Logger, handler: Handler): Handler {
  const unrouted = new Set<string>();
  const routeOf = (req: IncomingMessage, status: number): string => {
    const noted = routes.get(req);
    if (noted !== undefined) return noted;
    if (status === 404) return 'unmatched';
    const template = templateOf((req.url ?? '').split('?')[0]!);
    if (unrouted.has(template)) return template;
    if (unrouted.size >= MAX_UNROUTED_LABELS) return 'other';
    unrouted.add(template);
    return template;
  };
  return (req, res) => {
    const started = performance.now();
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 'aborted';
      const ms = performance.now() - started;
      const route = routeOf(req, res.statusCode);
      metrics.request(route, req.method ?? 'other', status, ms / 1000);
      if (ms > SLOW_REQUEST_MS) log.warn('slow request', { route, method: req.method ?? 'other', status, ms: Math.round(ms) });
    });
    handler(req, res);
  };
}
