/**
 * A Redis server of the test's own, as a child process on a free port, for tests that stop it:
 * the shared Redis is never touched. Nothing is persisted, so a restart starts empty, as Redis
 * does after losing its memory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './test-federation.ts';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Kills the server at once (SIGKILL), as a crash would, and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
}

/** Whether `redis-server` can be run here; the tests that need it skip without it. */
export const redisServerInstalled = !spawnSync('redis-server', ['--version']).error;

/** `args`: more of redis-server's options (a cluster node's, say). */
export async function startPrivateRedis(args: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // Read for as long as it runs (a full pipe would stall the server); kept until it is ready.
      let out: string | null = '';
      server.stdout!.on('data', (chunk: Buffer) => {
        if (out === null) return;
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          out = null;
          resolve();
        }
      });
      server.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited (${code}) before it was ready:\n${out}`)));
      child = server;
    });
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    async kill() {
      const server = child;
      if (!server || server.exitCode !== null || server.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        server.once('exit', () => resolve());
        server.kill('SIGKILL');
      });
    },
  };
}
