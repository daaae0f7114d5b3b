/**
 * HTTP plumbing shared by every entity: a Koa application with security headers, the edge guard
 * and error mapping, and a listener bound to the configured loopback address.
 */
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerJson, answeringErrors, type ErrorAnswer } from './error-responses.ts';
import { MethodNotAllowed } from './errors.ts';
import type { Logger } from './log.ts';
import { requestGuard } from './request-guard.ts';
import { noteMatchedRoute } from './request-metrics.ts';

/** Kept here for the routes that import it with the rest of the plumbing. */
export { parseBody } from './request-body.ts';

export const SECURITY_HEADERS: Record<string, string> = {
  // No inline script or style: pages load one stylesheet from their own origin. script-src is
  // stated so that oidc-provider can add the hash of its one inline script (form_post responses).
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** Errors are answered as JSON `{error, error_description}` unless `answerError` says otherwise (infra/error-responses.ts). */
export function createApp(log: Logger, opts: { answerError?: ErrorAnswer } = {}): Koa {
  const app = new Koa();
  app.proxy = process.env.GOV_ID_TRUST_PROXY === '1';
  const answer = opts.answerError ?? answerJson;
  app.use(noteMatchedRoute);
  app.use(async (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    await answeringErrors(ctx, log, answer, next);
  });
  app.use(requestGuard);
  app.on('error', () => undefined);
  return app;
}

interface RoutedContext {
  /** Set by @koa/router: the layers whose path matched, whatever their methods. */
  matched?: { methods: string[] }[];
}

/**
 * Mounted right after a router's routes: a path the router serves, asked with a method it does not
 * serve (known to HTTP or not), is answered 405 with `Allow`; OPTIONS is answered with `Allow`.
 */
export const refuseOtherMethods: Koa.Middleware = async (ctx, next) => {
  const allowed = [...new Set(((ctx as unknown as RoutedContext).matched ?? []).flatMap((layer) => layer.methods))];
  if (allowed.length > 0 && !allowed.includes(ctx.method)) {
    if (ctx.method !== 'OPTIONS') throw new MethodNotAllowed(ctx.method, allowed);
    ctx.status = 204;
    ctx.set('Allow', allowed.join(', '));
    return;
  }
  await next();
};

export interface Listener {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function listen(handler: Parameters<typeof createServer>[1], port: number, host = '127.0.0.1'): Promise<Listener> {
  const server = createServer(handler);
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
