/**
 * What the one-OP benchmarks (login, grants) load: the OP gd in a process of its own, a client
 * registered there, and people, each a new person of the population registry registered on the
 * OP's own pages through that client, with the refresh token of that first sign-in.
 */
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, newPerson, redeem, registerOnPage, relyingParty, type Person, type RelyingParty } from '../test/helpers/flows.ts';
import { startFederationProcess, type FederationProcess } from './federation-process.ts';

export const BENCH_PASSWORD = 'Bench-passw0rd';

export interface OpWithPeople {
  server: FederationProcess;
  rp: RelyingParty;
  people: { person: Person; refreshToken: string }[];
}

/**
 * The caller closes `server`. `serverScript`: another tree's federation server (bench/compare.ts).
 * `workers`: processes serving the OP (bench/federation-server.ts; more than one needs PostgreSQL and Redis).
 */
export async function startOpWithPeople(count: number, serverScript?: string, workers = 1): Promise<OpWithPeople> {
  const server = await startFederationProcess(['gd', 'registries'], { BENCH_WORKERS: String(workers) }, serverScript);
  try {
    const rp = await relyingParty(server.fed, 'gd');
    const persons = await Promise.all(Array.from({ length: count }, () => newPerson(server.fed)));
    const people = [];
    for (const person of persons) {
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      const tokens = await redeem(rp, await registerOnPage(server.fed, ua, a.page, person, BENCH_PASSWORD), a);
      people.push({ person, refreshToken: tokens.refresh_token! });
    }
    return { server, rp, people };
  } catch (err) {
    await server.close().catch(() => undefined);
    throw err;
  }
}
