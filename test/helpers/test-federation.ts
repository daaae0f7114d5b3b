/**
 * Starts (part of) the demo federation for a test: free loopback ports, a schema prefix and key
 * namespace of its own, an in-memory embedded database unless DATABASE_URL is set, Redis when
 * REDIS_URL is set. Nothing an earlier run left behind is read; schemas are dropped at the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseTopology, type Topology } from '../../federation/topology.ts';
import { demoTopologyOnFreePorts } from '../../cli/free-ports.ts';
import { startHost, type Host, type HostOptions } from '../../cli/entity-host.ts';
import { configFromEnv, type DeploymentConfig } from '../../infra/config.ts';
import { createLogger, type Logger } from '../../infra/log.ts';

export { freePort } from '../../cli/free-ports.ts';

/** The demo topology with every port replaced by a free one. */
export const testTopology = demoTopologyOnFreePorts;

function withSuperiors(topology: Topology, id: string): string[] {
  const chain: string[] = [];
  for (let e: string | null = id; e; e = topology.get(e).superior) chain.unshift(e);
  return chain;
}

export interface TestFederation {
  topology: Topology;
  /** The topology as a file in the data folder: `gov-id --topology FILE --data DIR` agrees with the host. */
  topologyFile: string;
  host: Host;
  config: DeploymentConfig;
  url(id: string): string;
  close(): Promise<void>;
}

/**
 * Starts the given entities with their superiors (default: every OP and the national services
 * entity; tests of portals and of platforms' services entities name them). `embedded` ignores
 * DATABASE_URL and REDIS_URL, so the embedded defaults are tested in every run; `redisUrl` and
 * `databaseUrl` put the federation on a Redis or a PostgreSQL of the test's own (one it may stop)
 * instead of REDIS_URL's and DATABASE_URL's.
 */
export async function startTestFederation(
  ids?: string[],
  opts: {
    embedded?: boolean;
    redisUrl?: string;
    databaseUrl?: string;
    /** Further deployment settings (read replicas and their lag bound). */
    deployment?: Pick<DeploymentConfig, 'databaseReplicaUrls' | 'replicaMaxLagSeconds'>;
    edit?: (raw: Record<string, unknown>) => void;
    log?: Logger;
    /** Runs before any entity starts: state the entities find at start, as after a restart. */
    prepare?: (config: DeploymentConfig, topology: Topology) => Promise<void>;
    /** Hosts the entities instead of this process (bench/federation-server.ts: in worker processes). */
    host?: (options: HostOptions, ids: string[]) => Promise<Host>;
    /** Longest reuse of a resolved trust chain by an OP, in seconds (tests of the background refresh shorten it). */
    trustCacheSeconds?: number;
    /** OPs refresh their neighbours' trust chains in the background, as `gov-id start` does (off unless asked). */
    warmNeighbourChains?: boolean;
  } = {},
): Promise<TestFederation> {
  const fresh = await testTopology();
  opts.edit?.(fresh.raw);
  const { raw } = fresh;
  const topology = opts.edit ? parseTopology(raw, 'test topology') : fresh.topology;
  const prefix = `t${randomBytes(4).toString('hex')}_`;
  const dataDir = mkdtempSync(join(tmpdir(), 'gov-id-test-'));
  const topologyFile = join(dataDir, 'topology.json');
  writeFileSync(topologyFile, JSON.stringify(raw, null, 2));
  const env = opts.embedded
    ? { ...configFromEnv(), databaseUrl: undefined, redisUrl: undefined }
    : {
        ...configFromEnv(),
        ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
        ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
        ...opts.deployment,
      };
  const config: DeploymentConfig = { ...env, dataDir, pgliteDir: `memory://${prefix}`, schemaPrefix: prefix, topologyPath: topologyFile };
  const log = opts.log ?? createLogger({}, (process.env.TEST_LOG_LEVEL as 'error') ?? 'error');
  // An entity needs its superiors up to the trust anchor (trust chain, trust marks, registry of
  // homes); a portal also needs its platform's services entity, the resource its sign-in asks a token for.
  const everyOp = [...topology.ops().map((e) => e.id), topology.services().id];
  const needs = (id: string): string[] => {
    const entity = topology.get(id);
    const services = entity.kind === 'portal' ? withSuperiors(topology, topology.nearestServices(entity.platform).id) : [];
    return [...withSuperiors(topology, id), ...services];
  };
  const wanted = [...new Set((ids ?? everyOp).flatMap(needs))];
  await opts.prepare?.(config, topology);
  const host = await (opts.host ?? startHost)(
    {
      ...config,
      topology,
      demo: true,
      log,
      warmNeighbourChains: opts.warmNeighbourChains ?? false,
      ...(opts.trustCacheSeconds ? { trustCacheSeconds: opts.trustCacheSeconds } : {}),
    },
    wanted,
  );
  return {
    topology,
    topologyFile,
    host,
    config,
    url: (id) => topology.get(id).url,
    async close() {
      await host.close();
      if (config.databaseUrl) {
        const client = new pg.Client({ connectionString: config.databaseUrl });
        await client.connect();
        for (const id of wanted) await client.query(`DROP SCHEMA IF EXISTS "${prefix}${id}" CASCADE`);
        await client.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
