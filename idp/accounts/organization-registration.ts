/**
 * Registering an organization at this OP: the code must be well formed, not yet registered here,
 * known to the legal-person registry under that name, and the person registering it must be its
 * legal representative. Used by the login interaction and by the account area.
 */
import { InvalidUscc, parseUscc } from '../../infra/identifiers.ts';
import { UpstreamUnavailable } from '../../infra/errors.ts';
import type { Locale, MessageKey } from '../i18n.ts';
import type { RecognitionDependencies } from '../interactions/interaction-context.ts';
import { HomeConflict } from '../../federation/registry-of-homes.ts';
import type { NaturalPerson, NaturalPersonAccounts } from './natural-person-accounts.ts';
import { OrganizationExists, type LegalPersonAccounts } from './legal-person-accounts.ts';
import type { ServicesClient } from '../services-client.ts';

export type OrganizationRegistration =
  { subject: string } | { field: 'uscc' | 'org_name' | null; error: MessageKey; errorVars?: Record<string, string>; status: number };

export async function registerOrganization(
  deps: {
    accounts: NaturalPersonAccounts;
    legalPersons: LegalPersonAccounts;
    services: ServicesClient;
    recognition?: RecognitionDependencies;
    runtime: { self: { url: string } };
  },
  person: NaturalPerson,
  input: { uscc: string; orgName: string },
  clientId: string | null,
  locale: Locale,
): Promise<OrganizationRegistration> {
  let uscc: string;
  try {
    uscc = parseUscc(input.uscc);
  } catch (err) {
    if (!(err instanceof InvalidUscc)) throw err;
    return { field: 'uscc', error: `error.${err.problem}`, status: 400 };
  }
  const orgName = input.orgName.trim();
  if (!orgName || orgName.length > 200) return { field: 'org_name', error: 'error.org_name_mismatch', status: 400 };
  if (await deps.legalPersons.isRegistered(uscc)) return { field: 'uscc', error: 'error.org_registered', status: 409 };
  // Register once: an organization registered at another platform is used from there.
  let home: string | null;
  try {
    home = (await deps.recognition?.homes.lookup('legal', uscc)) ?? null;
  } catch (err) {
    if (!(err instanceof UpstreamUnavailable)) throw err;
    return { field: null, error: 'error.directory_unavailable', status: 503 };
  }
  if (home && home !== deps.runtime.self.url)
    return {
      field: null,
      error: 'error.org_registered_elsewhere',
      errorVars: { site: deps.recognition!.siteName(home, locale) },
      status: 409,
    };
  let check;
  try {
    check = await deps.services.checkRepresentative(uscc, orgName, person.name, deps.accounts.idNumberOf(person));
  } catch (err) {
    if (!(err instanceof UpstreamUnavailable)) throw err;
    return { field: null, error: 'error.registry_unavailable', status: 503 };
  }
  if (!check.found) return { field: 'uscc', error: 'error.org_unknown', status: 422 };
  if (!check.nameMatches) return { field: 'org_name', error: 'error.org_name_mismatch', status: 422 };
  if (!check.representative) return { field: null, error: 'error.not_representative', status: 403 };
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
    return { subject };
  } catch (err) {
    if (err instanceof OrganizationExists) return { field: 'uscc', error: 'error.org_registered', status: 409 };
    if (err instanceof HomeConflict)
      return {
        field: null,
        error: 'error.org_registered_elsewhere',
        errorVars: { site: deps.recognition?.siteName(err.home, locale) ?? err.home },
        status: 409,
      };
    throw err;
  }
}
