/**
 * `gov-id admin account conflicts --entity ID`: the registry conflicts kept at an OP (publications
 * its superior refused because the person or organization already has another home), as JSON.
 */
import { ConfigurationError } from '../infra/errors.ts';
import type { Topology } from '../federation/topology.ts';
import { REGISTRY_CONFLICTS_PATH } from '../federation/registry-conflicts-admin.ts';
import { callAdmin } from './admin-client.ts';

export const ACCOUNT_CONFLICTS_HELP = `  gov-id admin account conflicts --entity ID        registrations the superior refused because the person or
                                                     organization already has another home (resolve: docs/recognition.md)
`;

export async function accountConflictsCommand(values: { entity?: string }, env: { topology: Topology; dataDir: string }): Promise<unknown> {
  if (!values.entity) throw new ConfigurationError('', 'admin account conflicts needs --entity ID');
  const op = env.topology.get(values.entity);
  if (op.kind !== 'op') throw new ConfigurationError('', `${op.id} is not an OP: accounts and their publications live at OPs`);
  return callAdmin(op, env.dataDir, 'GET', REGISTRY_CONFLICTS_PATH);
}
