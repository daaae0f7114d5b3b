/** `gov-id start`, `serve` and `migrate`: the commands that host entities or prepare their databases. */
import { loadTopology, type Topology } from '../federation/topology.ts';
import { print, UsageError, type CommandContext } from './command.ts';
import { isWorker, reportReady, superviseWorkers, workerPlan } from './workers.ts';

export async function migrate(ctx: CommandContext): Promise<number> {
  const t = loadTopology(ctx.topologyPath);
  const ids = ctx.values.entity ? [t.get(ctx.values.entity).id] : t.entities.map((e) => e.id);
  const { migrateEntity } = await import('./entity-host.ts');
  for (const id of ids) print({ entity: id, applied: await migrateEntity(ctx.config, t.get(id)) });
  return 0;
}

/** The whole federation in this process, with the demo's conveniences. */
export function start(ctx: CommandContext): Promise<number> {
  const t = loadTopology(ctx.topologyPath);
  return host(
    ctx,
    t,
    t.entities.map((e) => e.id),
    true,
  );
}

/**
 * One entity, as a deployment runs it (--demo for the demo's conveniences). --port lets several
 * instances of one entity share a host behind a proxy that answers at the entity's URL (also
 * GOV_ID_PORT, which the container image's health check reads too).
 */
export function serve(ctx: CommandContext): Promise<number> {
  const t = loadTopology(ctx.topologyPath);
  if (!ctx.values.entity) throw new UsageError('serve needs --entity ID');
  return host(ctx, t, [t.get(ctx.values.entity).id], Boolean(ctx.values.demo), listenPort(ctx.values.port ?? process.env.GOV_ID_PORT));
}

function listenPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port: ${value} is not a TCP port (1 to 65535)`);
  return port;
}

/** The database part of the start line, with what becomes of DATABASE_REPLICA_URLS. */
function databaseLine(config: CommandContext['config']): string {
  const replicas = config.databaseReplicaUrls?.length ?? 0;
  if (!config.databaseUrl)
    return `embedded PGlite (${config.dataDir})${replicas ? ' (DATABASE_REPLICA_URLS ignored: the embedded database has no replicas)' : ''}`;
  return replicas ? `PostgreSQL with ${replicas} read replica${replicas > 1 ? 's' : ''} for lag-tolerant reads` : 'PostgreSQL';
}

/**
 * Hosts the entities until SIGINT or SIGTERM, in `--workers` processes (workers.ts). The server
 * code loads only now: a usage error above never waits for it.
 */
async function host(ctx: CommandContext, topology: Topology, ids: string[], demo: boolean, port?: number): Promise<number> {
  const { config } = ctx;
  const workers = workerPlan(ctx.values.workers, config);
  const header = (entities: number) =>
    `gov-id ${topology.name}: ${entities} entities on ${databaseLine(config)}, ${config.redisUrl ? 'Redis' : 'in-process store'}`;
  if (workers.count > 1 && !isWorker()) return superviseWorkers(workers.count, header);
  const { startHost } = await import('./entity-host.ts');
  const host = await startHost({ ...config, topology, demo, ...(port ? { port } : {}) }, ids);
  const lines = host.entities.map(
    ({ entity, url }) => `  ${entity.kind.padEnd(8)} ${entity.id.padEnd(16)} ${entity.platform.padEnd(9)} ${url}`,
  );
  if (isWorker()) reportReady(lines);
  else process.stdout.write(`${header(lines.length)}${workers.note ? ` (${workers.note})` : ''}\n${lines.join('\n')}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.close();
  // A worker's channel to the primary would keep it alive.
  if (isWorker() && process.connected) process.disconnect();
  return 0;
}
