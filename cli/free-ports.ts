/**
 * The demo topology on free loopback ports, for everything that starts a throwaway federation
 * beside other processes (tests, benchmarks, the fuzz harness).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseTopology, DEFAULT_TOPOLOGY, type Topology } from '../federation/topology.ts';

const taken = new Set<number>();

/**
 * A port that is free now, picked below the kernel's ephemeral range (32768+): a port from that
 * range could be taken by an outgoing connection before the entity binds it. Processes running
 * side by side draw from disjoint slices (by process ID) and try until one binds.
 */
export async function freePort(): Promise<number> {
  const slice = 20000 + (process.pid % 24) * 500;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = slice + Math.floor(Math.random() * 500);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range');
}

/** The demo topology under a fresh name, with every port replaced by a free one. */
export async function demoTopologyOnFreePorts(): Promise<{ topology: Topology; raw: Record<string, unknown> }> {
  const raw = JSON.parse(readFileSync(DEFAULT_TOPOLOGY, 'utf8'));
  raw.name = `test-${randomBytes(3).toString('hex')}`;
  // Every `port` of the file, wherever it is (the platforms, their portals and services entities).
  const renumber = async (node: unknown): Promise<void> => {
    if (Array.isArray(node)) for (const child of node) await renumber(child);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      for (const [key, value] of Object.entries(record)) {
        if (key === 'port' && typeof value === 'number') record.port = await freePort();
        else await renumber(value);
      }
    }
  };
  await renumber(raw);
  return { topology: parseTopology(raw, 'test topology'), raw };
}
