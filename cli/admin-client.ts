/** The admin commands' HTTP client: calls an entity's admin API with the deployment's admin token. */
import { loadMasterKey } from '../infra/crypto.ts';
import { adminTokenFor } from '../infra/entity-runtime.ts';
import type { Entity } from '../federation/topology.ts';
import { CommandLineError } from './command.ts';

/** The entity is not reachable or refused the call (the command line prints it with exit status 2). */
export class AdminCallError extends CommandLineError {
  constructor(message: string) {
    super(message);
    this.name = 'AdminCallError';
  }
}

export async function callAdmin(entity: Entity, dataDir: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
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
