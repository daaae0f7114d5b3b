/**
 * HTTP plumbing shared by every entity: a Koa application with security headers, error mapping
 * and body limits, and a listener bound to the configured loopback address.
 */
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError, TooManyRequests } from './errors.ts';
import type { Logger } from './log.ts';

/** Pages render their own errors; APIs get `{error, error_description}`. */
export type ErrorRenderer = (ctx: Koa.Context, status: number, code: string, message: string) => void;

const jsonError: ErrorRenderer = (ctx, status, code, message) => {
  ctx.status = status;
  ctx.body = { error: code, error_description: message };
};

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

export function createApp(log: Logger, opts: { renderError?: ErrorRenderer } = {}): Koa {
  const app = new Koa();
  app.proxy = process.env.GOV_ID_TRUST_PROXY === '1';
  app.use(async (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    try {
      await next();
    } catch (err) {
      const e = err as Error & { status?: number; statusCode?: number; expose?: boolean; code?: string };
      const status = e.status ?? e.statusCode ?? 500;
      if (err instanceof TooManyRequests) ctx.set('Retry-After', String(err.retryAfterSeconds));
      // A body refused before it was read leaves the connection unusable: say so.
      if (!ctx.req.complete) ctx.set('Connection', 'close');
      if (err instanceof HttpError || (status >= 400 && status < 500 && e.expose)) {
        const code = err instanceof HttpError ? err.code : status === 413 ? 'request_too_large' : 'invalid_request';
        (opts.renderError ?? jsonError)(ctx, status, code, e.message);
        return;
      }
      log.error('unhandled error', { err: e, path: ctx.path, method: ctx.method });
      (opts.renderError ?? jsonError)(ctx, 500, 'server_error', 'internal error');
    }
  });
  app.on('error', () => undefined);
  return app;
}

/** Form and JSON bodies for our own routes (oidc-provider parses its own). */
export const parseBody = bodyParser({
  enableTypes: ['form', 'json'],
  formLimit: '16kb',
  jsonLimit: '64kb',
  encoding: 'utf-8',
});

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
