/**
 * The error vocabulary. An error a request may end with carries its response:
 * - `status`: the HTTP status;
 * - `code`: the protocol's error code where there is one (OAuth 2.0 / OpenID Connect, OpenID
 *   Federation §8.9), else a problem code of ours; snake_case, stable for clients;
 * - `expose`: whether its message may be shown to the client (default true: messages are written
 *   for the caller; pass false when the message names internals);
 * - `headers`: what the response must carry besides (Retry-After, Allow);
 * - `details`: further members of a JSON error body (e.g. the `home` of a home_conflict).
 * Domain errors extend these classes (or HttpError) so that routes just throw; the one mapper,
 * infra/error-responses.ts, turns any of them into a JSON body, an error page or an OAuth error.
 * Anything thrown that is not one of these is a bug: a 500 whose details go only to the log.
 */
export interface HttpErrorOptions {
  expose?: boolean;
  headers?: Record<string, string>;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class HttpError extends Error {
  readonly status: number;
  /** Machine-readable code, stable for clients (OAuth-style snake_case). */
  readonly code: string;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(status: number, code: string, message: string, opts: HttpErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.expose = opts.expose ?? true;
    this.headers = opts.headers ?? {};
    this.details = opts.details ?? {};
  }
}

export class BadRequest extends HttpError {
  constructor(code: string, message: string, opts?: HttpErrorOptions) {
    super(400, code, message, opts);
  }
}

export class Unauthorized extends HttpError {
  constructor(message = 'authentication required') {
    super(401, 'unauthorized', message);
  }
}

export class Forbidden extends HttpError {
  constructor(code: string, message: string, opts?: HttpErrorOptions) {
    super(403, code, message, opts);
  }
}

export class NotFound extends HttpError {
  constructor(message = 'not found', code = 'not_found') {
    super(404, code, message);
  }
}

export class MethodNotAllowed extends HttpError {
  /**
   * `allow`: the methods the resource does allow (the `Allow` header). The code is
   * method_not_allowed unless the protocol has its own (OpenID Federation: invalid_request).
   */
  constructor(method: string, allow: string[], opts: { code?: string; message?: string } = {}) {
    super(405, opts.code ?? 'method_not_allowed', opts.message ?? `${method} is not allowed here`, {
      headers: { Allow: allow.join(', ') },
    });
  }
}

export class Conflict extends HttpError {
  constructor(code: string, message: string, opts?: HttpErrorOptions) {
    super(409, code, message, opts);
  }
}

export class TooManyRequests extends HttpError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'too_many_requests', message, { headers: { 'Retry-After': String(retryAfterSeconds) } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Another entity (a registry, a neighbour OP, the services) did not answer usefully: try later. */
export class UpstreamUnavailable extends HttpError {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(503, 'temporarily_unavailable', message, opts);
  }
}

/**
 * The key-value store cannot be reached (not a reply it gave): short-lived state is out of reach
 * until it is back. Not an UpstreamUnavailable, which names another entity the caller may explain.
 */
export class StoreUnavailable extends HttpError {
  constructor(cause: unknown) {
    super(503, 'temporarily_unavailable', 'the key-value store is unavailable', { cause });
  }
}

/**
 * The database cannot be reached (refused, dropped, shutting down, not answering a connection in
 * time): not an answer it gave. Nothing was written that the database did not commit whole.
 */
export class DatabaseUnavailable extends HttpError {
  constructor(cause: unknown) {
    super(503, 'temporarily_unavailable', 'the database is unavailable', { cause });
  }
}

/** A configuration file or flag that cannot be used; `path` names the offending field. */
export class ConfigurationError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ConfigurationError';
    this.path = path;
  }
}
