/**
 * Request IDs: every request an entity serves carries one, from the caller's `X-Request-Id` when
 * it is a short safe token, otherwise a fresh one. It is echoed in the response, written in every
 * log line while the request is handled (infra/log.ts reads it here, so loggers need no
 * threading) and passed along on the back-channel calls the entity makes meanwhile.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './log.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** Short enough for a log field, and nothing that could split a header or a log line. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

const current = new AsyncLocalStorage<string>();

/** The caller's ID when it is a short safe token, else a new one. */
export function requestIdFrom(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The ID of the request being handled, if any (background work has none). */
export function currentRequestId(): string | undefined {
  return current.getStore();
}

/** Headers for a call made on behalf of the request being handled: its ID, or nothing. */
export function requestIdHeaders(): Record<string, string> {
  const id = current.getStore();
  return id ? { [REQUEST_ID_HEADER]: id } : {};
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Wraps a Node request handler: each request gets its ID, echoed in the response and current
 * while it is handled, and one debug line (method, path without the query, status, duration)
 * when it has been answered.
 */
export function withRequestIds(handler: Handler, log: Logger): Handler {
  return (req, res) => {
    const id = requestIdFrom(req.headers['x-request-id']);
    res.setHeader(REQUEST_ID_HEADER, id);
    current.run(id, () => {
      const started = performance.now();
      // Back in the request's ID by run(): cheaper than binding an async resource per request.
      res.once('finish', () =>
        current.run(id, () =>
          log.debug('request', {
            method: req.method,
            path: (req.url ?? '').split('?')[0],
            status: res.statusCode,
            ms: Math.round((performance.now() - started) * 10) / 10,
          }),
        ),
      );
      handler(req, res);
    });
  };
}
