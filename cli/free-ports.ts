/**
 * The demo topology on free loopback ports, for everything that starts a throwaway federation
 * beside other processes (tests, benchmarks, the fuzz harness).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseTopology, DEFAULT_TOPOLOGY, type Topology } from '../federation/topology.ts';

/** Where processes side by side reserve the ports they picked, one file a port (its content: the reserving process's ID). */
const RESERVATIONS = join(tmpdir(), 'gov-id-ports');
const reserved = new Set<number>();
const FIRST_PORT = 20000;
const PORTS = 12000;

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reserves `port` for this process across the machine: a probe alone leaves a window, from the
 * pick to the entity's bind seconds later, in which another process may pick the same port. A
 * reservation whose process is gone is taken over; this process's go when it exits.
 */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      if (reserved.size === 0) process.once('exit', () => reserved.forEach((p) => rmSync(join(RESERVATIONS, String(p)), { force: true })));
      reserved.add(port);
      return true;
    } catch {
      const owner = Number(readFileSync(file, { encoding: 'utf8', flag: 'a+' }));
      if (owner === process.pid || running(owner)) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

/**
 * A port that is free now and reserved for this process, picked below the kernel's ephemeral
 * range (32768+): a port from that range could be taken by an outgoing connection before the
 * entity binds it.
 */
export async function freePort(): Promise<number> {
  mkdirSync(RESERVATIONS, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FIRST_PORT + Math.floor(Math.random() * PORTS);
    if (reserved.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free && reserve(port)) return port;
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
