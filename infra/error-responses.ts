/**
 * The one mapper from a thrown error to a response (the vocabulary is infra/errors.ts), and one
 * answer per kind of response: a JSON error body, an error page the entity renders, and an OAuth
 * error for the client's redirect URI. Routes throw; whoever serves them picks the kind.
 */
import type Koa from 'koa';
import { HttpError } from './errors.ts';
import type { Logger } from './log.ts';

/** What a thrown error answers. */
export interface ErrorResponse {
  status: number;
  code: string;
  /** What the client may read: the error's message when it is exposed, else a generic sentence. */
  message: string;
  headers: Readonly<Record<string, string>>;
  /** Further members of a JSON error body. */
  details: Readonly<Record<string, unknown>>;
}

/** Answers an error in one kind of response. */
export type ErrorAnswer = (ctx: Koa.Context, response: ErrorResponse) => void;

const UNEXPOSED_CLIENT_ERROR = 'the request cannot be processed';
const SERVER_ERROR: ErrorResponse = { status: 500, code: 'server_error', message: 'internal error', headers: {}, details: {} };

/** A library's error that names a client error (koa, body parsers: `status` 4xx, `expose`). */
function clientErrorOf(err: unknown): { status: number; expose: boolean; message: string } | null {
  const e = err as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : null;
  if (status === null || status < 400 || status >= 500) return null;
  return { status, expose: e!.expose === true, message: String(e!.message ?? '') };
}

/**
 * The response for any thrown value: an HttpError's own; a library's client error as
 * invalid_request (request_too_large for 413), its message shown only when it is exposed;
 * anything else 500 server_error.
 */
export function errorResponse(err: unknown): ErrorResponse {
  if (err instanceof HttpError) {
    return {
      status: err.status,
      code: err.code,
      message: err.expose ? err.message : err.status >= 500 ? SERVER_ERROR.message : UNEXPOSED_CLIENT_ERROR,
      headers: err.headers,
      details: err.details,
    };
  }
  const client = clientErrorOf(err);
  if (client)
    return {
      status: client.status,
      code: client.status === 413 ? 'request_too_large' : 'invalid_request',
      message: client.expose ? client.message : UNEXPOSED_CLIENT_ERROR,
      headers: {},
      details: {},
    };
  return SERVER_ERROR;
}

/** Status and headers of any error answer; an error is never cached. */
function start(ctx: Koa.Context, r: ErrorResponse): void {
  ctx.status = r.status;
  ctx.set(r.headers as Record<string, string>);
  ctx.set('Cache-Control', 'no-store');
}

/** `{error, error_description, ...details}` (RFC 6749 §5.2; OpenID Federation §8.9). */
export const answerJson: ErrorAnswer = (ctx, r) => {
  start(ctx, r);
  ctx.type = 'application/json';
  ctx.body = { error: r.code, error_description: r.message, ...r.details };
};

/** An error page: `render` is the entity's own (localized) page for the response. */
export function answerPage(render: (ctx: Koa.Context, response: ErrorResponse) => string): ErrorAnswer {
  return (ctx, r) => {
    start(ctx, r);
    ctx.type = 'html';
    ctx.body = render(ctx, r);
  };
}

/** Error codes of the authorization endpoint (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6). */
const AUTHORIZATION_ERRORS = new Set([
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
]);

/**
 * The OAuth error an authorization request ends with, for the client's redirect URI: the
 * error's own code when the protocol has it there, else temporarily_unavailable (503),
 * server_error (other 5xx) or access_denied (a refusal). Hand it to oidc-provider's
 * `interactionResult` (or `interactionFinished`), which redirects only to the client's registered
 * redirect URI, after it has validated the client: never redirect with it by hand.
 */
export function oauthError(r: ErrorResponse): { error: string; error_description: string } {
  const error = AUTHORIZATION_ERRORS.has(r.code)
    ? r.code
    : r.status === 503
      ? 'temporarily_unavailable'
      : r.status >= 500
        ? 'server_error'
        : 'access_denied';
  return { error, error_description: r.message };
}

/**
 * Runs `handler` and answers what it throws with `answer`: client errors reported by a library
 * are logged in one line (anyone can cause them), unexpected errors with their stack.
 */
export async function answeringErrors(
  ctx: Koa.Context,
  log: Logger | undefined,
  answer: ErrorAnswer,
  handler: () => Promise<unknown>,
): Promise<void> {
  try {
    await handler();
  } catch (err) {
    const r = errorResponse(err);
    if (!(err instanceof HttpError)) {
      if (r.status === 500) log?.error('unhandled error', { err, path: ctx.path, method: ctx.method });
      else
        log?.info('request refused', {
          status: r.status,
          method: ctx.method,
          path: ctx.path,
          reason: String((err as Error).message).slice(0, 200),
        });
    }
    // A body refused before it was read leaves the connection unusable: say so.
    if (!ctx.req.complete) ctx.set('Connection', 'close');
    answer(ctx, r);
  }
}
