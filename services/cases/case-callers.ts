/**
 * What the cases' routes (and the routes built on the cases: asking, rating, the person's space)
 * share about a request: who calls (a natural person, an organization where a route allows one, or
 * staff with their grants, from the access token), a list's `limit`, and a rate limit's refusal.
 */
import type Koa from 'koa';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { BadRequest, Forbidden, TooManyRequests } from '../../infra/errors.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import { DEFAULT_ACR_URIS, LOA_LEVELS } from '../../federation/loa.ts';
import type { ServiceAccess, ServicePrincipal } from '../service-access/service-access-tokens.ts';
import type { Caller, Person } from './case-context.ts';
import type { Staff, StaffGrants } from './staff-grants.ts';

export function levelOf(acr: string | null): string | null {
  return LOA_LEVELS.find((l) => DEFAULT_ACR_URIS[l] === acr) ?? null;
}

export function limitParam(raw: unknown, max = 200): number {
  if (raw === undefined) return 50;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    throw new BadRequest('invalid_request', `limit: a number from 1 to ${max}`);
  return Number(raw);
}

export async function throttle(limiter: ReturnType<KeyValueStore['rateLimiter']>, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (r) {
    if (!(r instanceof RateLimiterRes)) throw r;
    const seconds = Math.max(1, Math.ceil(r.msBeforeNext / 1000));
    throw new TooManyRequests(`too many ${what}; retry in ${seconds} s`, seconds);
  }
}

/**
 * Who a request's access token is for (the answer is not to be cached): a natural person, or, where
 * `organizations` allows it, an organization with the agent signed in for it.
 */
export async function callerOfToken(
  access: ServiceAccess,
  ctx: Koa.Context,
  opts: { organizations?: boolean } = {},
): Promise<Caller & { principal: ServicePrincipal }> {
  const principal = await access.authenticate(ctx);
  const facts = await access.person(principal);
  let person: Person;
  if (facts.kind === 'legal' && opts.organizations && facts.uscc) {
    const agent = { name: facts.actor?.name ?? '', role: facts.actor?.role ?? null, categories: facts.actor?.serviceCategories ?? [] };
    person = { kind: 'legal', name: facts.name, idNumber: facts.uscc, phone: null, agent };
  } else if (facts.kind === 'natural' && facts.idNumber) {
    person = { kind: 'natural', name: facts.name, idNumber: facts.idNumber, phone: facts.phone };
  } else throw new Forbidden('natural_person_required', 'this API acts for a natural person; the token was issued for an organization');
  ctx.set('Cache-Control', 'no-store');
  return {
    principal,
    person,
    login: { issuer: principal.issuer, subject: principal.subject, clientId: principal.clientId, level: levelOf(principal.acr) },
  };
}

/** The staff member a request's access token is for, logged in at one of `staffIssuers` when given, with their grants. */
export async function staffOfToken(
  access: ServiceAccess,
  grants: StaffGrants,
  ctx: Koa.Context,
  staffIssuers?: readonly string[],
): Promise<Staff> {
  const caller = await callerOfToken(access, ctx);
  if (staffIssuers && !staffIssuers.includes(caller.login.issuer))
    throw new Forbidden('wrong_tier_login', `staff of this platform log in at ${staffIssuers.join(' or ')}, not ${caller.login.issuer}`);
  const staff = await grants.staffOf(caller.person.idNumber);
  if (staff.grants.length === 0) throw new Forbidden('not_staff', 'you hold no staff role on this platform');
  return staff;
}
