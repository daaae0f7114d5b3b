/**
 * One entity calling another's API: a JSON POST (or a GET) authenticated with an entity assertion for the
 * callee and bounded in time. Personal data travels only in the body, never in the URL. A callee
 * that cannot be reached or does not answer in time is UpstreamUnavailable; what a status means
 * is the caller's business (NeverSent when the request surely never reached it). The request
 * being handled, if any, passes its ID along.
 */
import { request } from 'undici';
import { signEntityAssertion } from './entity-assertion.ts';
import type { PrivateJwk } from './entity-keys.ts';
import { UpstreamUnavailable } from './errors.ts';
import { requestIdHeaders } from './request-id.ts';

export interface EntityRequest {
  /** The calling entity's ID and its current federation key. */
  from: string;
  key: PrivateJwk;
  /** The callee's entity ID (the assertion's audience) and the path of its API. */
  to: string;
  path: string;
  body: unknown;
  timeoutMs: number;
}

/**
 * The callee could not be reached at all (no connection was made): it surely did nothing. Any other
 * UpstreamUnavailable (no answer in time, the connection cut) leaves open whether it acted.
 */
export class NeverSent extends UpstreamUnavailable {}

/** Connection errors raised before a byte of the request was sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export interface EntityResponse {
  status: number;
  /** The JSON object answered, or {} when the answer is not one. */
  json: Record<string, unknown>;
}

export function postAsEntity(req: EntityRequest): Promise<EntityResponse> {
  return requestAsEntity('POST', req.path, req);
}

/** A GET of the callee's API (`query` in the URL: never personal data), authenticated the same way. */
export function getAsEntity(req: Omit<EntityRequest, 'body'> & { query?: Record<string, string> }): Promise<EntityResponse> {
  const query = new URLSearchParams(req.query ?? {}).toString();
  return requestAsEntity('GET', query ? `${req.path}?${query}` : req.path, req);
}

/**
 * Sent with undici's `request` rather than `fetch`: the same HTTP client without the WHATWG layer
 * (Request, Response and web streams), under a third of fetch's CPU per call on loopback
 * (docs/performance.md). Redirects are not followed, as with fetch's `redirect: 'error'`.
 */
async function requestAsEntity(
  method: 'GET' | 'POST',
  path: string,
  req: Omit<EntityRequest, 'body'> & { body?: unknown },
): Promise<EntityResponse> {
  // One deadline for the whole exchange, body included.
  const signal = AbortSignal.timeout(req.timeoutMs);
  let status: number;
  let text: string;
  try {
    const res = await request(req.to + path, {
      method,
      headers: {
        ...(method === 'POST' ? { 'content-type': 'application/json' } : { accept: 'application/json' }),
        authorization: `Bearer ${await signEntityAssertion(req.key, req.from, req.to)}`,
        ...requestIdHeaders(),
      },
      ...(method === 'POST' ? { body: JSON.stringify(req.body) } : {}),
      signal,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    if (signal.aborted) throw new UpstreamUnavailable(`${req.to} did not answer in time`);
    const e = err as Error & { code?: unknown; cause?: { code?: unknown } };
    const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : e.name;
    throw new (NOT_CONNECTED.has(code) ? NeverSent : UpstreamUnavailable)(`${req.to} is unreachable: ${code}`);
  }
  if (status >= 300 && status < 400) throw new UpstreamUnavailable(`${req.to} answered with a redirect`);
  return { status, json: jsonObject(text) };
}

/** The JSON object a body holds, or {} when it holds none. */
function jsonObject(text: string): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(text);
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
