/**
 * How a page that registers organizations (the picker at login, the account area) tells why one
 * was not registered: the message, next to its field or above the form, and the status it is
 * sent with.
 */
import type { MessageKey } from '../i18n.ts';
import type { OrganizationRefusal } from '../accounts/organization-registration.ts';

export interface OrganizationRefusalAnswer {
  status: number;
  /** A message next to a field of the registration form ... */
  registerErrors?: { uscc?: MessageKey; org_name?: MessageKey };
  /** ... or above the form. */
  error?: MessageKey;
  errorVars?: Record<string, string>;
}

/** `siteName` names the platform where the organization is registered instead. */
export function organizationRefusalAnswer(r: OrganizationRefusal, siteName: (home: string) => string): OrganizationRefusalAnswer {
  switch (r.refused) {
    case 'uscc_invalid':
      return { status: 400, registerErrors: { uscc: `error.${r.problem}` } };
    case 'org_name_invalid':
      return { status: 400, registerErrors: { org_name: 'error.org_name_mismatch' } };
    case 'registered_here':
      return { status: 409, registerErrors: { uscc: 'error.org_registered' } };
    case 'registered_elsewhere':
      return { status: 409, error: 'error.org_registered_elsewhere', errorVars: { site: siteName(r.home) } };
    case 'directory_unavailable':
      return { status: 503, error: 'error.directory_unavailable' };
    case 'registry_unavailable':
      return { status: 503, error: 'error.registry_unavailable' };
    case 'unknown_to_registry':
      return { status: 422, registerErrors: { uscc: 'error.org_unknown' } };
    case 'name_mismatch':
      return { status: 422, registerErrors: { org_name: 'error.org_name_mismatch' } };
    case 'not_representative':
      return { status: 403, error: 'error.not_representative' };
  }
}
