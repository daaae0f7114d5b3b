/**
 * Paired comparison of two versions of a server: the servers of another checkout (its
 * bench/federation-server.ts, so its own code) and this one's run side by side, and one loop
 * alternates the operations between them, so that the load of a shared machine weighs on both
 * alike. Prints the server CPU per operation of each (docs/performance.md, "Paired comparisons").
 *
 *   node --import tsx bench/compare.ts OTHER_CHECKOUT refresh|client-credentials|login|license-verify [SECONDS]
 *
 * The other checkout needs bench/federation-server.ts and node_modules (a symlink will do).
 * DATABASE_URL and REDIS_URL apply to both, as for the benchmarks.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, newPerson, oidc, passwordLogin, redeem } from '../test/helpers/flows.ts';
import { issueLicense, verifyAt } from '../test/helpers/licenses.ts';
import { BENCH_PASSWORD, startOpWithPeople } from './op-with-people.ts';
import { startFederationProcess, type FederationProcess } from './federation-process.ts';

const SLOTS = 4;
const LICENCES = 20;

interface Side {
  server: FederationProcess;
  /** One operation for the loop's slot `slot`. */
  run(slot: number): Promise<void>;
}

/** Each operation: how a side is started from a checkout's federation server script. */
const OPERATIONS: Record<string, (script: string) => Promise<Side>> = {
  refresh: async (script) => {
    const { server, rp, people } = await startOpWithPeople(SLOTS, script);
    const refreshTokens = people.map((p) => p.refreshToken);
    return {
      server,
      run: async (slot) => {
        refreshTokens[slot] = (await oidc.refreshTokenGrant(rp.config, refreshTokens[slot]!)).refresh_token!;
      },
    };
  },
  'client-credentials': async (script) => {
    const { server, rp } = await startOpWithPeople(SLOTS, script);
    return { server, run: async () => void (await oidc.clientCredentialsGrant(rp.config)) };
  },
  login: async (script) => {
    const { server, rp, people } = await startOpWithPeople(SLOTS, script);
    return {
      server,
      run: async (slot) => {
        const ua = new UserAgent();
        const a = await authorize(rp, ua);
        await redeem(rp, await passwordLogin(ua, a.page, people[slot]!.person.id_number, BENCH_PASSWORD), a);
      },
    };
  },
  // As bench/license-verification.ts: licences of one issuer, verified round-robin from warm caches.
  'license-verify': async (script) => {
    const server = await startFederationProcess(['registries'], {}, script);
    try {
      const person = await newPerson(server.fed);
      const licences: string[] = [];
      for (let i = 0; i < LICENCES; i++) licences.push((await issueLicense(server.fed, 'registries', person)).credential);
      const services = server.fed.url('registries');
      let next = 0;
      return {
        server,
        run: async () => {
          const r = await verifyAt(services, { license: licences[next++ % licences.length]! });
          if (r.status !== 200) throw new Error(`verification failed: ${JSON.stringify(r.json)}`);
        },
      };
    } catch (err) {
      await server.close().catch(() => undefined);
      throw err;
    }
  },
};

const [other, operation, seconds = '20'] = process.argv.slice(2);
const start = operation !== undefined && Object.hasOwn(OPERATIONS, operation) ? OPERATIONS[operation] : undefined;
if (!other || !start || !(Number(seconds) > 0)) {
  console.error(`usage: node --import tsx bench/compare.ts OTHER_CHECKOUT ${Object.keys(OPERATIONS).join('|')} [SECONDS]`);
  process.exit(2);
}

const sides: (Side & { name: string; done: number; cpu0: number })[] = [];
try {
  for (const [name, script] of [
    [`other (${other})`, join(resolve(other), 'bench', 'federation-server.ts')],
    ['this checkout', fileURLToPath(new URL('./federation-server.ts', import.meta.url))],
  ] as const) {
    sides.push({ name, ...(await start(script)), done: 0, cpu0: 0 });
  }
  // Warm both up, then alternate: operation n of each slot goes to side n mod 2.
  for (const side of sides) for (let i = 0; i < 20; i++) await side.run(i % SLOTS);
  for (const side of sides) side.cpu0 = await side.server.cpuMs();
  const end = performance.now() + Number(seconds) * 1000;
  await Promise.all(
    Array.from({ length: SLOTS }, async (_, slot) => {
      for (let n = slot; performance.now() < end; n++) {
        const side = sides[n % sides.length]!;
        await side.run(slot);
        side.done++;
      }
    }),
  );
  for (const side of sides) {
    const cpu = ((await side.server.cpuMs()) - side.cpu0) / side.done;
    console.log(`${operation}: ${side.name}: ${cpu.toFixed(3)} ms of server CPU per operation (${side.done} operations)`);
  }
  console.log(`load average ${loadavg()[0]!.toFixed(1)}`);
} finally {
  for (const side of sides) await side.server.close();
}
process.exit(0);
