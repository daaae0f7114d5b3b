/**
 * `gov-id demo story`: runs the cases story (cli/demo-story/demo-story.ts) against the running
 * demo over HTTP only; exit status 0 only when every step gave the expected answer.
 */
import { loadTopology } from '../federation/topology.ts';
import { UsageError, type CommandContext } from './command.ts';
import { runStory } from './demo-story/demo-story.ts';

export async function demoStory(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError('demo story takes no words after its options');
  const topology = loadTopology(ctx.topologyPath);
  const op = ctx.values.op ?? 'gz';
  if (topology.get(op).kind !== 'op') throw new UsageError(`demo story: ${op} is not an OP`);
  // Guangzhou's management platform handles the story's items.
  const services = ctx.values.entity ?? topology.servicesOf('gz').id;
  if (topology.get(services).kind !== 'services') throw new UsageError(`demo story: ${services} is not a services entity`);
  const ok = await runStory({ topology, dataDir: ctx.config.dataDir, op, services, print: (line) => process.stdout.write(`${line}\n`) });
  return ok ? 0 : 1;
}
