/**
 * A Redis Cluster of the test's own: three masters on free loopback ports, each a redis-server of
 * its own with its cluster state in a temporary folder, joined with `redis-cli --cluster create`.
 * Nothing is persisted; the machine's own Redis is never touched.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startPrivateRedis, type PrivateRedis } from './private-redis.ts';
import { until } from './until.ts';

const run = promisify(execFile);

export interface PrivateRedisCluster {
  /** The cluster URL gov-id takes (REDIS_URL). */
  url: string;
  nodes: PrivateRedis[];
  /** Runs redis-cli against one node. */
  cli(node: PrivateRedis, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Slots assigned and the cluster serving them; a bound for a loaded machine, never a measure. */
const FORMING_BOUND_MS = 60_000;

export async function startPrivateRedisCluster(size = 3): Promise<PrivateRedisCluster> {
  const folder = mkdtempSync(join(tmpdir(), 'gov-id-redis-cluster-'));
  const nodes: PrivateRedis[] = [];
  const cli = async (node: PrivateRedis, ...args: string[]) => (await run('redis-cli', ['-p', String(node.port), ...args])).stdout;
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(folder, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const dir = join(folder, `node-${i}`);
      nodes.push(await startPrivateRedis(['--cluster-enabled', 'yes', '--dir', mkdtempSync(`${dir}-`), '--cluster-node-timeout', '5000']));
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await until(
      async () => (await Promise.all(nodes.map((n) => cli(n, 'cluster', 'info')))).every((info) => info.includes('cluster_state:ok')),
      'the cluster to serve every slot',
      FORMING_BOUND_MS,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, nodes, cli, stop };
}
