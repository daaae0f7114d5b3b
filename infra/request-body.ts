/**
 * Request bodies, read once at the edge: form, JSON or multipart form (a form with a file: the
 * file's content is read as the field's text), within a size limit, as UTF-8, into a plain
 * object whose values passed the edge guard. Whatever is wrong with a body is the client's fault
 * and answered 400 (malformed), 413 (too large) or 415 (a type the route does not take).
 * Keys that could reach an object's prototype (`__proto__`, `constructor`, `prototype`) are
 * refused rather than parsed, so no later spread or assignment can be turned against us.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseQueryString, type ParsedUrlQuery } from 'node:querystring';
import { Readable } from 'node:stream';
import type Koa from 'koa';
import { BadRequest, HttpError } from './errors.ts';
import { refuseUnfitInput } from './request-guard.ts';

declare module 'koa' {
  interface Request {
    /** The parsed body, set by {@link bodyParser}. */
    body?: unknown;
  }
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const MULTIPART = 'multipart/form-data';
const MEDIA_TYPES: Record<BodyType, string> = { form: FORM, json: JSON_TYPE, multipart: MULTIPART };
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type BodyType = 'form' | 'json' | 'multipart';

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'request_too_large', `the request body exceeds ${limit} bytes`);
}

function hasBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/**
 * The body's bytes, gathered from the stream's events: one promise per body rather than one per
 * chunk as its async iterator makes (this runs on every POST). Beyond `limit` the stream is paused,
 * not drained: the answer then says Connection: close (error-responses.ts).
 */
function gather(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const settle = (err?: HttpError) => {
      req.off('data', onData).off('end', onEnd).off('error', onBroken).off('close', onBroken);
      if (!err) return resolve(Buffer.concat(chunks, received));
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) settle(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => settle();
    const onBroken = () => settle(new BadRequest('invalid_request', 'the request body was not received completely'));
    req.on('data', onData).on('end', onEnd).on('error', onBroken).on('close', onBroken);
  });
}

/** The raw body, refused as soon as it is known to exceed `limit` (413); also for binary uploads. */
export async function readRaw(ctx: Koa.Context, limit: number): Promise<Buffer> {
  if ((ctx.request.length ?? 0) > limit) throw tooLarge(limit);
  if ((ctx.get('content-encoding') || 'identity').toLowerCase() !== 'identity')
    throw new HttpError(415, 'invalid_request', 'a compressed request body is not accepted');
  return gather(ctx.req, limit);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw new BadRequest('invalid_request', 'the request body is not valid UTF-8');
  }
}

function refusePrototypeKey(key: string): void {
  if (PROTOTYPE_KEYS.has(key)) throw new BadRequest('invalid_request', `a field may not be named ${key}`);
}

/**
 * Form fields as strings, a repeated field as an array of them (as oidc-provider reads forms).
 * Our forms are flat: a field named like a structure (`name[x]`) is refused, never taken apart.
 */
function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(parseQueryString(text))) {
    for (const v of Array.isArray(value) ? value : [value!]) addField(out, key, v);
  }
  return out;
}

/** A field's value added to a flat form: a repeated field becomes an array, as in parseForm. */
function addField(out: Record<string, string | string[]>, key: string, value: string): void {
  refusePrototypeKey(key);
  if (/[[\]]/.test(key)) throw new BadRequest('invalid_request', `form field ${key.slice(0, 64)}: a structured field name is not accepted`);
  const held = out[key];
  out[key] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
}

/**
 * A multipart/form-data body (RFC 7578) of text fields and text files: each part's content, as
 * UTF-8, under its field name. Anything else in the body's framing is malformed.
 */
function parseMultipart(raw: Buffer, contentType: string): Record<string, string | string[]> {
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  if (!boundary) throw new BadRequest('invalid_request', 'the multipart body names no boundary');
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const out: Record<string, string | string[]> = {};
  let at = raw.indexOf(delimiter);
  if (at !== 0) throw new BadRequest('invalid_request', 'malformed multipart body');
  for (;;) {
    at += delimiter.length;
    if (raw.subarray(at, at + 2).toString() === '--') return out;
    if (raw.subarray(at, at + 2).toString() !== '\r\n') break;
    const headersEnd = raw.indexOf('\r\n\r\n', at + 2);
    const next = raw.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), at + 2);
    if (headersEnd < 0 || next < 0 || headersEnd > next) break;
    const headers = raw.subarray(at + 2, headersEnd).toString('utf8');
    const name = /^content-disposition:\s*form-data;(?:.*;)?\s*name="([^"]*)"/im.exec(headers)?.[1];
    if (name === undefined) break;
    addField(out, name, decode(raw.subarray(headersEnd + 4, next)));
    at = next + 2;
  }
  throw new BadRequest('invalid_request', 'malformed multipart body');
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text, (key, item) => {
      refusePrototypeKey(key);
      return item;
    });
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // Never the parser's message: it quotes the body.
    throw new BadRequest('invalid_request', 'malformed JSON body');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new BadRequest('invalid_request', 'the JSON body must be an object');
  return value as Record<string, unknown>;
}

const LIMITS: Record<BodyType, number> = { form: 16 * 1024, json: 64 * 1024, multipart: 32 * 1024 };

/**
 * A middleware that reads the body of POST, PUT and PATCH requests into `ctx.request.body` (an
 * empty object when there is none). A body of a type not in `accept` is answered 415.
 */
export function bodyParser(accept: BodyType[]): Koa.Middleware {
  const types = accept.map((t) => MEDIA_TYPES[t]);
  return async (ctx, next) => {
    if (!['POST', 'PUT', 'PATCH'].includes(ctx.method) || ctx.request.body !== undefined) return next();
    if (!hasBody(ctx.req)) {
      ctx.request.body = {};
      return next();
    }
    const type = ctx.is(types);
    if (!type) throw new HttpError(415, 'invalid_request', `the request body must be ${types.join(' or ')}`);
    const kind = (Object.keys(MEDIA_TYPES) as BodyType[]).find((k) => MEDIA_TYPES[k] === type)!;
    const raw = await readRaw(ctx, LIMITS[kind]);
    const body =
      kind === 'multipart'
        ? parseMultipart(raw, ctx.get('content-type'))
        : kind === 'form'
          ? parseForm(decode(raw))
          : parseJsonObject(decode(raw));
    refuseUnfitInput(body);
    ctx.request.body = body;
    return next();
  };
}

/** Routes that take a form or a JSON object. */
export const parseBody = bodyParser(['form', 'json']);
/** Routes of browser pages and form-posting protocols (back-channel logout): JSON is answered 415. */
export const parseFormBody = bodyParser(['form']);
/** Browser forms that may carry a (text) file. */
export const parseFormOrUpload = bodyParser(['form', 'multipart']);

/** oidc-provider reads at most this much of a body itself. */
const PROTOCOL_FORM_LIMIT = 56 * 1024;

/**
 * For a handler that reads the request itself (oidc-provider): a form body is read and checked
 * here, and the handler gets a request that replays it. `form` holds the fields read (null when
 * the request has no form body).
 */
export async function checkedFormRequest(ctx: Koa.Context): Promise<{ req: IncomingMessage; form: ParsedUrlQuery | null }> {
  if (ctx.method !== 'POST' || !hasBody(ctx.req) || !ctx.is(FORM)) return { req: ctx.req, form: null };
  const raw = await readRaw(ctx, PROTOCOL_FORM_LIMIT);
  const form = parseQueryString(raw.toString('utf8'));
  refuseUnfitInput(form);
  const original = ctx.req;
  const body = new Readable({ read() {} });
  body.push(raw);
  body.push(null);
  const replay = Object.assign(body, {
    headers: original.headers,
    rawHeaders: original.rawHeaders,
    method: original.method,
    url: original.url,
    httpVersion: original.httpVersion,
    httpVersionMajor: original.httpVersionMajor,
    httpVersionMinor: original.httpVersionMinor,
    socket: original.socket,
    complete: true,
  });
  return { req: replay as unknown as IncomingMessage, form };
}
