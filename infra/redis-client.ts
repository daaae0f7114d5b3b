/**
 * The Redis client for `REDIS_URL`: one server (`redis://`, `rediss://`, as ioredis reads them) or
 * a Redis Cluster, named by some of its nodes in one URL:
 *
 *   redis+cluster://[user:password@]host:port[,host:port…]    (rediss+cluster:// for TLS)
 *
 * The client discovers the other nodes and the slots from those. Either way an outage is answered
 * at once rather than queued (see openKeyValueStore), and the client reconnects by itself.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ConfigurationError } from './errors.ts';

export type RedisClient = Redis | Cluster;

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/;

/** What every connection is given: no queue while disconnected, no retry of a failed command, a bound on a hung server. */
const OUTAGE_OPTIONS = {
  // A hung server after 5 s (a bound that a busy host's pauses stay under: the timer may fire before the reply is read).
  commandTimeout: 5000,
  maxRetriesPerRequest: 0,
} satisfies RedisOptions;

/** Reconnects for ever, at most 1 s apart: service resumes by itself when Redis is back. */
const retry = (attempt: number) => Math.min(attempt * 100, 1000);

export interface ClusterAddress {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

/** The nodes and credentials of a `redis+cluster://` URL, or null for any other URL. */
export function parseClusterUrl(url: string): ClusterAddress | null {
  if (!/^rediss?\+cluster:/.test(url)) return null;
  const m = CLUSTER_URL.exec(url);
  if (!m) throw new ConfigurationError('REDIS_URL', 'a cluster URL is redis+cluster://[user:password@]host:port[,host:port…]');
  const nodes = m[3]!.split(',').map((node) => {
    const address = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(node.trim());
    const port = Number(address?.[2] ?? 6379);
    if (!address || port < 1 || port > 65535) throw new ConfigurationError('REDIS_URL', `${node}: not a host:port`);
    return { host: address[1]!.replace(/^\[|\]$/g, ''), port };
  });
  const [user, password] = m[2] ? m[2].split(':').map(decodeURIComponent) : [];
  return {
    nodes,
    ...(user ? { username: user } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: m[1] === 'rediss',
  };
}

export function redisClient(url: string): RedisClient {
  const cluster = parseClusterUrl(url);
  if (!cluster) return new Redis(url, { lazyConnect: true, enableOfflineQueue: false, retryStrategy: retry, ...OUTAGE_OPTIONS });
  return new Cluster(cluster.nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    redisOptions: {
      ...OUTAGE_OPTIONS,
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password !== undefined ? { password: cluster.password } : {}),
      ...(cluster.tls ? { tls: {} } : {}),
    },
  });
}

/** A connection of its own for subscriptions, which waits for the server (ioredis renews them after a reconnect). */
export function subscriberOf(client: RedisClient): RedisClient {
  return client instanceof Cluster
    ? client.duplicate(undefined, { enableOfflineQueue: true })
    : client.duplicate({ enableOfflineQueue: true });
}
