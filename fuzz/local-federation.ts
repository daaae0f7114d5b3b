/**
 * The whole demo federation in this process, for a fuzz run without --target: every entity on a
 * free loopback port, embedded defaults (in-memory PGlite, in-process store), a throwaway data
 * folder, and its own schema prefix and key namespace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startHost } from '../cli/entity-host.ts';
import { demoTopologyOnFreePorts } from '../cli/free-ports.ts';
import { createLogger, type LogLevel } from '../infra/log.ts';

export interface LocalFederation {
  entities: { url: string; label: string }[];
  close(): Promise<void>;
}

export async function startLocalFederation(logLevel: LogLevel = 'error'): Promise<LocalFederation> {
  const { topology } = await demoTopologyOnFreePorts();
  const prefix = `f${randomBytes(4).toString('hex')}_`;
  const dataDir = mkdtempSync(join(tmpdir(), 'gov-id-fuzz-'));
  const log = createLogger({ topology: topology.name }, logLevel);
  const host = await startHost(
    { dataDir, pgliteDir: `memory://${prefix}`, schemaPrefix: prefix, topology, demo: true, log },
    topology.entities.map((e) => e.id),
  );
  return {
    entities: topology.entities.map((e) => ({ url: e.url, label: e.id })),
    async close() {
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
