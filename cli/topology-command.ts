/** `gov-id topology`: every entity of the topology as JSON. */
import { describeTopology, loadTopology } from '../federation/topology.ts';
import { print, type CommandContext } from './command.ts';

export async function topology(ctx: CommandContext): Promise<number> {
  print(describeTopology(loadTopology(ctx.topologyPath)));
  return 0;
}
