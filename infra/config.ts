/**
 * Deployment configuration from the environment; command-line flags override it.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | DATABASE_URL | PostgreSQL URL; without it the embedded PGlite is used | (embedded) |
 * | GOV_ID_DATABASE_POOL_SIZE | PostgreSQL connections each entity of a process may hold at once (idle ones close after 10 s); size max_connections for entities × processes × this (docs/operations.md, "Scale") | 4 |
 * | DATABASE_REPLICA_URLS | streaming replicas of DATABASE_URL's server, comma-separated: lag-tolerant reads go there (docs/operations.md, "PostgreSQL replicas"); ignored on the embedded PGlite | (none) |
 * | GOV_ID_REPLICA_MAX_LAG_SECONDS | a replica further behind than this serves no reads until it catches up | 5 |
 * | REDIS_URL | Redis URL, or redis+cluster://host:port,host:port for a Redis Cluster; without it an in-process store is used | (in-process) |
 * | GOV_ID_DATA | data folder: embedded database, demo master key | ./data |
 * | GOV_ID_PGLITE | where the embedded database lives (`memory://NAME` keeps it in memory); one process at a time | DATA/pglite |
 * | GOV_ID_MASTER_KEY | 32-byte master key (64 hex digits or base64url) | generated into the data folder |
 * | GOV_ID_TOPOLOGY | topology file | federation/topologies/demo.json |
 * | GOV_ID_SCHEMA_PREFIX | prefix of every entity's schema and key namespace | (none) |
 * | GOV_ID_TRUST_PROXY | 1 to take client IPs from X-Forwarded-For | 0 |
 * | GOV_ID_PORT | `gov-id serve`: the port to listen on instead of the topology's (as `--port`) | the topology's |
 * | GOV_ID_METRICS_TOKEN | bearer token Prometheus presents at every entity's /metrics (at least 32 characters) | (admin tokens only) |
 * | LOG_LEVEL | debug, info, warn, error | info |
 */
import { resolve } from 'node:path';
import { ConfigurationError } from './errors.ts';

/** How far behind a read replica may be and still serve reads, unless GOV_ID_REPLICA_MAX_LAG_SECONDS says otherwise. */
export const DEFAULT_REPLICA_MAX_LAG_SECONDS = 5;

/** PostgreSQL connections per entity and process, unless GOV_ID_DATABASE_POOL_SIZE says otherwise. */
export const DEFAULT_DATABASE_POOL_SIZE = 4;

export interface DeploymentConfig {
  databaseUrl?: string;
  /** Connections each entity's pool may hold (DEFAULT_DATABASE_POOL_SIZE when absent). */
  databasePoolSize?: number;
  /** Streaming replicas of the primary, for lag-tolerant reads (infra/read-replicas.ts). */
  databaseReplicaUrls?: string[];
  /** Replicas further behind serve no reads (DEFAULT_REPLICA_MAX_LAG_SECONDS when absent). */
  replicaMaxLagSeconds?: number;
  redisUrl?: string;
  dataDir: string;
  /** Folder of the embedded database, or memory://NAME. */
  pgliteDir?: string;
  topologyPath?: string;
  schemaPrefix: string;
  /** What a scrape of /metrics may present besides the entity's admin token (infra/metrics-endpoint.ts). */
  metricsToken?: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): DeploymentConfig {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: poolSize(env.GOV_ID_DATABASE_POOL_SIZE),
    databaseReplicaUrls: replicaUrls(env.DATABASE_REPLICA_URLS),
    replicaMaxLagSeconds: maxLagSeconds(env.GOV_ID_REPLICA_MAX_LAG_SECONDS),
    redisUrl: env.REDIS_URL || undefined,
    dataDir: resolve(env.GOV_ID_DATA || 'data'),
    pgliteDir: env.GOV_ID_PGLITE || undefined,
    topologyPath: env.GOV_ID_TOPOLOGY || undefined,
    schemaPrefix: env.GOV_ID_SCHEMA_PREFIX ?? '',
    metricsToken: env.GOV_ID_METRICS_TOKEN || undefined,
  };
}

function replicaUrls(raw: string | undefined): string[] {
  const urls = (raw ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  const wrong = urls.find((url) => !/^postgres(ql)?:\/\//.test(url));
  if (wrong !== undefined)
    throw new ConfigurationError('DATABASE_REPLICA_URLS', `${wrong.replace(/:[^:@/]*@/, ':…@')} is not a postgres:// URL`);
  return urls;
}

function poolSize(raw: string | undefined): number {
  if (!raw) return DEFAULT_DATABASE_POOL_SIZE;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > 100)
    throw new ConfigurationError('GOV_ID_DATABASE_POOL_SIZE', `${raw} is not a whole number of connections from 1 to 100`);
  return size;
}

function maxLagSeconds(raw: string | undefined): number {
  if (!raw) return DEFAULT_REPLICA_MAX_LAG_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new ConfigurationError('GOV_ID_REPLICA_MAX_LAG_SECONDS', `${raw} is not a number of seconds above 0`);
  return seconds;
}
