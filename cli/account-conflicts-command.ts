/**
 * The commands that find and resolve registry conflicts (a person or organization with two homes),
 * each printing JSON (the procedure: docs/recognition.md):
 * - `gov-id admin account conflicts --entity ID` — the conflicts kept at an OP;
 * - `gov-id admin account close-duplicate --entity ID --id-number ID --to ENTITY` — the person keeps
 *   the account at ENTITY; the one at ID ends as if moved there;
 * - `gov-id admin account retry-conflicts --entity ID` — deliver the kept publications again.
 */
import { loadTopology, type Entity, type Topology } from '../federation/topology.ts';
import { print, UsageError, type CommandContext } from './command.ts';
import { REGISTRY_CONFLICTS_PATH } from '../federation/registry-conflicts-admin.ts';
import { callAdmin } from './admin-client.ts';

/** `gov-id admin account conflicts|retry-conflicts|close-duplicate`: `action` is the command's last word. */
export async function accountConflictsCommand(
  action: 'conflicts' | 'close-duplicate' | 'retry-conflicts',
  { values, config, topologyPath }: CommandContext,
): Promise<number> {
  if (!values.entity) throw new UsageError(`admin account ${action} needs --entity ID`);
  const topology = loadTopology(topologyPath);
  const op = opOf(topology, values.entity);
  if (action === 'conflicts') print(await callAdmin(op, config.dataDir, 'GET', REGISTRY_CONFLICTS_PATH));
  else if (action === 'retry-conflicts') print(await callAdmin(op, config.dataDir, 'POST', `${REGISTRY_CONFLICTS_PATH}/retry`));
  else {
    if (!values['id-number'] || !values.to)
      throw new UsageError('admin account close-duplicate needs --entity ID --id-number ID --to ENTITY');
    print(
      await callAdmin(op, config.dataDir, 'POST', '/admin/accounts/close-duplicate', {
        id_number: values['id-number'],
        to: opOf(topology, values.to).url,
      }),
    );
  }
  return 0;
}

function opOf(topology: Topology, id: string): Entity {
  const entity = topology.get(id);
  if (entity.kind !== 'op') throw new UsageError(`${entity.id} is not an OP: accounts and their publications live at OPs`);
  return entity;
}
