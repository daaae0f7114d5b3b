/**
 * Registering an organization at this OP: the code must be well formed, not yet registered here
 * or elsewhere (register once), known to the legal-person registry under that name, and the person
 * registering it must be its legal representative. Used by the login interaction and by the
 * account area; each says the outcome in its own page (views/organization-refusals.ts).
 */
import { InvalidUscc, parseUscc, type UsccProblem } from '../../infra/identifiers.ts';
import { HomeConflict } from '../../federation/registry-of-homes.ts';
import { whenUnavailable } from '../upstream-outage.ts';
import type { NaturalPerson, NaturalPersonAccounts } from './natural-person-accounts.ts';
import { OrganizationExists, type LegalPersonAccounts } from './legal-person-accounts.ts';
import type { ServicesClient } from '../services-client.ts';

/** Why an organization was not registered. */
export type OrganizationRefusal =
  | { refused: 'uscc_invalid'; problem: UsccProblem }
  | { refused: 'org_name_invalid' }
  | { refused: 'registered_here' }
  | { refused: 'registered_elsewhere'; home: string }
  | { refused: 'directory_unavailable' }
  | { refused: 'registry_unavailable' }
  | { refused: 'unknown_to_registry' }
  | { refused: 'name_mismatch' }
  | { refused: 'not_representative' };

/** The registry of homes, asked before registering (absent outside a federation). */
export interface RegisterOnceCheck {
  lookupBeforeRegistration(kind: 'legal', uscc: string): Promise<string | null>;
}

export type OrganizationRegistration = { registered: string } | OrganizationRefusal;

export async function registerOrganization(
  deps: {
    accounts: NaturalPersonAccounts;
    legalPersons: LegalPersonAccounts;
    services: ServicesClient;
    homes: RegisterOnceCheck | undefined;
    self: string;
  },
  person: NaturalPerson,
  input: { uscc: string; orgName: string },
  clientId: string | null,
): Promise<OrganizationRegistration> {
  let uscc: string;
  try {
    uscc = parseUscc(input.uscc);
  } catch (err) {
    if (!(err instanceof InvalidUscc)) throw err;
    return { refused: 'uscc_invalid', problem: err.problem };
  }
  const orgName = input.orgName.trim();
  if (!orgName || orgName.length > 200) return { refused: 'org_name_invalid' };
  if (await deps.legalPersons.isRegistered(uscc)) return { refused: 'registered_here' };
  // Register once: an organization registered at another platform is used from there.
  const home = await whenUnavailable(
    deps.homes?.lookupBeforeRegistration('legal', uscc) ?? Promise.resolve(null),
    () => ({ refused: 'directory_unavailable' }) as const,
  );
  if (typeof home === 'object' && home) return home;
  if (home && home !== deps.self) return { refused: 'registered_elsewhere', home };
  const check = await whenUnavailable(
    deps.services.checkRepresentative(uscc, orgName, person.name, deps.accounts.idNumberOf(person)),
    () => ({ refused: 'registry_unavailable' }) as const,
  );
  if ('refused' in check) return check;
  if (!check.found) return { refused: 'unknown_to_registry' };
  if (!check.nameMatches) return { refused: 'name_mismatch' };
  if (!check.representative) return { refused: 'not_representative' };
  try {
    const subject = await deps.legalPersons.register(
      {
        uscc,
        orgName,
        orgType: check.type,
        representative: { subject: person.subject, name: person.name, idNumberIndex: person.idNumberIndex },
      },
      clientId,
    );
    return { registered: subject };
  } catch (err) {
    if (err instanceof OrganizationExists) return { refused: 'registered_here' };
    if (err instanceof HomeConflict) return { refused: 'registered_elsewhere', home: err.home };
    throw err;
  }
}
