/**
 * The commands that find and resolve registry conflicts (a person or organization with two homes),
 * each printing JSON (the procedure: docs/recognition.md):
 * - `gov-id admin account conflicts --entity ID` — the conflicts kept at an OP;
 * - `gov-id admin account close-duplicate --entity ID --id-number ID --to ENTITY` — the person keeps
 *   the account at ENTITY; the one at ID ends as if moved there;
 * - `gov-id admin account retry-conflicts --entity ID` — deliver the kept publications again.
 */
import { ConfigurationError } from '../infra/errors.ts';
import type { Entity, Topology } from '../federation/topology.ts';
import { REGISTRY_CONFLICTS_PATH } from '../federation/registry-conflicts-admin.ts';
import { callAdmin } from './admin-client.ts';

export const ACCOUNT_CONFLICT_ACTIONS = new Set(['conflicts', 'close-duplicate', 'retry-conflicts']);

export const ACCOUNT_CONFLICTS_HELP = `  gov-id admin account conflicts --entity ID        publications the superior refused because the person or
                                                     organization already has another home (docs/recognition.md)
  gov-id admin account close-duplicate --entity ID --id-number ID --to ENTITY
                                                     a conflict resolved: the person keeps the account at ENTITY;
                                                     the one at --entity ends as if moved there
  gov-id admin account retry-conflicts --entity ID  deliver the publications kept as conflicts again
`;

export async function accountConflictsCommand(
  action: string,
  values: { entity?: string; 'id-number'?: string; to?: string },
  env: { topology: Topology; dataDir: string },
): Promise<unknown> {
  if (!values.entity) throw new ConfigurationError('', `admin account ${action} needs --entity ID`);
  const op = opOf(env.topology, values.entity);
  if (action === 'conflicts') return callAdmin(op, env.dataDir, 'GET', REGISTRY_CONFLICTS_PATH);
  if (action === 'retry-conflicts') return callAdmin(op, env.dataDir, 'POST', `${REGISTRY_CONFLICTS_PATH}/retry`);
  if (!values['id-number'] || !values.to) throw new ConfigurationError('', 'admin account close-duplicate needs --entity ID --id-number ID --to ENTITY');
  return callAdmin(op, env.dataDir, 'POST', '/admin/accounts/close-duplicate', { id_number: values['id-number'], to: opOf(env.topology, values.to).url });
}

function opOf(topology: Topology, id: string): Entity {
  const entity = topology.get(id);
  if (entity.kind !== 'op') throw new ConfigurationError('', `${entity.id} is not an OP: accounts and their publications live at OPs`);
  return entity;
}
