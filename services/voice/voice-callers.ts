/**
 * Who calls: a natural person with an access token for this entity (the portal's), or staff, a
 * person whose grants give them roles here. Every answer about a person is not to be cached.
 */
import type Koa from 'koa';
import { Forbidden } from '../../infra/errors.ts';
import { DEFAULT_ACR_URIS, LOA_LEVELS } from '../../federation/loa.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import type { Caller } from '../cases/case-context.ts';
import type { Staff, StaffGrants } from '../cases/staff-grants.ts';

export function levelOf(acr: string | null): string | null {
  return LOA_LEVELS.find((l) => DEFAULT_ACR_URIS[l] === acr) ?? null;
}

export async function personCaller(access: ServiceAccess, ctx: Koa.Context): Promise<Caller> {
  const principal = await access.authenticate(ctx);
  const person = await access.person(principal);
  if (person.kind !== 'natural' || !person.idNumber)
    throw new Forbidden('natural_person_required', 'this API acts for a natural person; the token was issued for an organization');
  ctx.set('Cache-Control', 'no-store');
  return {
    person: { name: person.name, idNumber: person.idNumber, phone: person.phone },
    login: { issuer: principal.issuer, subject: principal.subject, clientId: principal.clientId, level: levelOf(principal.acr) },
  };
}

export async function staffCaller(access: ServiceAccess, grants: StaffGrants, ctx: Koa.Context): Promise<Staff> {
  const caller = await personCaller(access, ctx);
  const staff = await grants.staffOf(caller.person.idNumber);
  if (staff.grants.length === 0) throw new Forbidden('not_staff', 'you hold no staff role on this platform');
  return staff;
}
