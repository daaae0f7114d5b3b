/**
 * The client of an entity's admin API, with the deployment's admin token: used by the operator's
 * tools (the `gov-id` admin commands, the conformance suite's registration, tests).
 */
import { loadMasterKey } from './crypto.ts';
import { adminTokenFor } from './entity-runtime.ts';

/** The entity is not reachable or refused the call (the command line prints it without a stack, exit status 2). */
export class AdminCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminCallError';
  }
}

/** `entity` is an entity of the topology: its ID names it in messages, its URL is where its admin API is. */
export async function callAdmin(
  entity: { id: string; url: string },
  dataDir: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const token = adminTokenFor(loadMasterKey(dataDir), entity.url);
  let res: Response;
  try {
    res = await fetch(entity.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new AdminCallError(
      `${entity.id} is not reachable at ${entity.url} (${(err as Error).message}); start it with "gov-id start" or "gov-id serve --entity ${entity.id}"`,
    );
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok)
    throw new AdminCallError(
      `${entity.id} refused: ${res.status} ${String(json.error ?? '')} ${String(json.error_description ?? '')}`.trim(),
    );
  return json;
}
