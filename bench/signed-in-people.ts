/**
 * People for the one-OP benchmarks: each a new person of the population registry, registered on
 * the OP's own pages through the relying party, with the refresh token of that first sign-in.
 */
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, newPerson, redeem, registerOnPage, type FederationAddresses, type Person, type RelyingParty } from '../test/helpers/flows.ts';

export const BENCH_PASSWORD = 'Bench-passw0rd';

export async function signedInPeople(fed: FederationAddresses, rp: RelyingParty, count: number): Promise<{ person: Person; refreshToken: string }[]> {
  const people = await Promise.all(Array.from({ length: count }, () => newPerson(fed)));
  const out = [];
  for (const person of people) {
    const ua = new UserAgent();
    const a = await authorize(rp, ua);
    const tokens = await redeem(rp, await registerOnPage(fed, ua, a.page, person, BENCH_PASSWORD), a);
    out.push({ person, refreshToken: tokens.refresh_token! });
  }
  return out;
}
