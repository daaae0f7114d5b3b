/** The services entity a command talks to: `--entity ID`, which must name one of the topology's services entities. */
import { loadTopology, type Entity } from '../federation/topology.ts';
import { UsageError, type CommandContext } from './command.ts';

/** `words` is the command as the person typed it (`catalog import`, `staff grant`), for the usage message. */
export function servicesEntity({ values, topologyPath }: CommandContext, words: string): Entity {
  if (!values.entity) throw new UsageError(`${words} needs --entity ID (a services entity)`);
  const entity = loadTopology(topologyPath).get(values.entity);
  if (entity.kind !== 'services') throw new UsageError(`${words}: ${entity.id} is not a services entity`);
  return entity;
}
