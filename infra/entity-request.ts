/**
 * One entity calling another's API: a JSON POST (or a GET) authenticated with an entity assertion for the
 * callee and bounded in time. Personal data travels only in the body, never in the URL. A callee
 * that cannot be reached or does not answer in time is UpstreamUnavailable; what a status means
 * is the caller's business (NeverSent when the request surely never reached it). The request
 * being handled, if any, passes its ID along.
 */
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

async function requestAsEntity(
  method: 'GET' | 'POST',
  path: string,
  req: Omit<EntityRequest, 'body'> & { body?: unknown },
): Promise<EntityResponse> {
  // One deadline for the whole exchange, body included.
  const signal = AbortSignal.timeout(req.timeoutMs);
  let res: Response;
  try {
    res = await fetch(req.to + path, {
      method,
      headers: {
        ...(method === 'POST' ? { 'content-type': 'application/json' } : { accept: 'application/json' }),
        authorization: `Bearer ${await signEntityAssertion(req.key, req.from, req.to)}`,
        ...requestIdHeaders(),
      },
      ...(method === 'POST' ? { body: JSON.stringify(req.body) } : {}),
      signal,
      redirect: 'error',
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: unknown } };
    const code = typeof e.cause?.code === 'string' ? e.cause.code : e.name;
    throw new (NOT_CONNECTED.has(code) ? NeverSent : UpstreamUnavailable)(`${req.to} is unreachable: ${code}`);
  }
  const json = await res.json().catch(() => null);
  if (signal.aborted) throw new UpstreamUnavailable(`${req.to} did not answer in time`);
  return { status: res.status, json: json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {} };
}
