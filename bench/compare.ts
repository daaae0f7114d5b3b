/**
 * Paired comparison of two versions of the OP: the OP of another checkout (its
 * bench/federation-server.ts, so its own code) and this one's run side by side, and one loop
 * alternates the operations between them, so that the load of a shared machine weighs on both
 * alike. Prints the server CPU per operation of each (docs/performance.md, "Paired comparisons").
 *
 *   node --import tsx bench/compare.ts OTHER_CHECKOUT refresh|client-credentials|login [SECONDS]
 *
 * The other checkout needs bench/federation-server.ts and node_modules (a symlink will do).
 * DATABASE_URL and REDIS_URL apply to both, as for the benchmarks.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, oidc, passwordLogin, redeem } from '../test/helpers/flows.ts';
import { BENCH_PASSWORD, startOpWithPeople, type OpWithPeople } from './op-with-people.ts';

const OPERATIONS = ['refresh', 'client-credentials', 'login'] as const;
type Operation = (typeof OPERATIONS)[number];
const SLOTS = 4;

const [other, operation, seconds = '20'] = process.argv.slice(2);
if (!other || !OPERATIONS.includes(operation as Operation) || !(Number(seconds) > 0)) {
  console.error(`usage: node --import tsx bench/compare.ts OTHER_CHECKOUT ${OPERATIONS.join('|')} [SECONDS]`);
  process.exit(2);
}

const sides: { name: string; op: OpWithPeople; refreshTokens: string[]; done: number; cpu0: number }[] = [];
try {
  for (const [name, script] of [
    [`other (${other})`, join(resolve(other), 'bench', 'federation-server.ts')],
    ['this checkout', fileURLToPath(new URL('./federation-server.ts', import.meta.url))],
  ] as const) {
    const op = await startOpWithPeople(SLOTS, script);
    sides.push({ name, op, refreshTokens: op.people.map((p) => p.refreshToken), done: 0, cpu0: 0 });
  }
  const run = async (side: (typeof sides)[number], slot: number) => {
    const { rp, people } = side.op;
    if (operation === 'refresh')
      side.refreshTokens[slot] = (await oidc.refreshTokenGrant(rp.config, side.refreshTokens[slot]!)).refresh_token!;
    else if (operation === 'client-credentials') await oidc.clientCredentialsGrant(rp.config);
    else {
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      await redeem(rp, await passwordLogin(ua, a.page, people[slot]!.person.id_number, BENCH_PASSWORD), a);
    }
  };
  // Warm both up, then alternate: operation n of each slot goes to side n mod 2.
  for (const side of sides) for (let i = 0; i < 20; i++) await run(side, i % SLOTS);
  for (const side of sides) side.cpu0 = await side.op.server.cpuMs();
  const end = performance.now() + Number(seconds) * 1000;
  await Promise.all(
    Array.from({ length: SLOTS }, async (_, slot) => {
      for (let n = slot; performance.now() < end; n++) {
        const side = sides[n % sides.length]!;
        await run(side, slot);
        side.done++;
      }
    }),
  );
  for (const side of sides) {
    const cpu = ((await side.op.server.cpuMs()) - side.cpu0) / side.done;
    console.log(`${operation}: ${side.name}: ${cpu.toFixed(3)} ms of server CPU per operation (${side.done} operations)`);
  }
  console.log(`load average ${loadavg()[0]!.toFixed(1)}`);
} finally {
  for (const side of sides) await side.op.server.close();
}
process.exit(0);
