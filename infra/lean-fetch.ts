/**
 * `fetch`'s contract over undici's `request`, for a library that takes a fetch of our choosing
 * (openid-client's `customFetch`, on every broker hop's PAR and token redemption). The global
 * fetch runs the same client under the WHATWG layer (a Request, web streams both ways); this
 * reads the answer whole and hands back a Response made from it, for under half of fetch's CPU
 * per call on loopback (docs/performance.md). Only what those callers use: no redirects followed
 * (`redirect: 'manual'` is what openid-client asks), bodies small enough to hold in memory.
 * Failures look as fetch's do: an abort rejects with the signal's reason, anything else with
 * `TypeError('fetch failed')` and the cause.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { request } from 'undici';

export interface LeanFetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams | Uint8Array | ArrayBuffer | ReadableStream | null;
  signal?: AbortSignal | null;
  redirect?: 'manual';
}

/** Statuses whose Response may carry no body (the Fetch standard's "null body status"). */
const NULL_BODY = new Set([204, 205, 304]);

export async function leanFetch(url: string, options: LeanFetchOptions = {}): Promise<Response> {
  const headers = { ...options.headers };
  const given = options.body;
  // As fetch does for a URLSearchParams body.
  if (given instanceof URLSearchParams && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
  const body =
    given instanceof URLSearchParams
      ? given.toString()
      : given instanceof ArrayBuffer
        ? new Uint8Array(given)
        : given instanceof ReadableStream
          ? Readable.fromWeb(given as WebReadableStream)
          : (given ?? null);
  let status: number;
  let answered: Headers;
  let bytes: ArrayBuffer;
  try {
    const res = await request(url, {
      method: (options.method ?? 'GET') as 'GET',
      headers,
      body,
      signal: options.signal ?? undefined,
    });
    status = res.statusCode;
    answered = new Headers();
    for (const [name, value] of Object.entries(res.headers))
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) answered.append(name, v);
    bytes = await res.body.arrayBuffer();
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new TypeError('fetch failed', { cause: err });
  }
  return new Response(NULL_BODY.has(status) ? null : bytes, { status, headers: answered });
}
