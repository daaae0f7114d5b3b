/**
 * Errors that carry their HTTP meaning. Anything thrown that is not one of these is a bug and
 * is answered with a generic 500 whose details go only to the log.
 */
export class HttpError extends Error {
  readonly status: number;
  /** Machine-readable code, stable for clients (OAuth-style snake_case). */
  readonly code: string;
  readonly expose = true;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
  }
}

export class BadRequest extends HttpError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

export class Unauthorized extends HttpError {
  constructor(message = 'authentication required') {
    super(401, 'unauthorized', message);
  }
}

export class Forbidden extends HttpError {
  constructor(code: string, message: string) {
    super(403, code, message);
  }
}

export class NotFound extends HttpError {
  constructor(message = 'not found') {
    super(404, 'not_found', message);
  }
}

export class MethodNotAllowed extends HttpError {
  /** The methods the resource does allow, for the `Allow` header. */
  readonly allow: string[];
  constructor(method: string, allow: string[]) {
    super(405, 'method_not_allowed', `${method} is not allowed here`);
    this.allow = allow;
  }
}

export class Conflict extends HttpError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

export class TooManyRequests extends HttpError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'too_many_requests', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class UpstreamUnavailable extends HttpError {
  constructor(message: string) {
    super(503, 'temporarily_unavailable', message);
  }
}

/**
 * The key-value store cannot be reached (not a reply it gave): short-lived state is out of reach
 * until it is back. Not an UpstreamUnavailable, which names another entity the caller may explain.
 */
export class StoreUnavailable extends HttpError {
  constructor(cause: unknown) {
    super(503, 'temporarily_unavailable', 'the key-value store is unavailable');
    this.cause = cause;
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
