/**
 * The consent page's data-sharing step: shows what a requesting authority asks to read and, when
 * the person allows it, records the consents (once, or for the period chosen) that the code and
 * the access token will name. A request the person may not consent to (an organization's data
 * and an agent whose categories do not cover the purpose, or data of the other kind of account)
 * is shown with the reason and can only be denied.
 */
import type { Html } from '../../infra/html.ts';
import { dataRequestsSection } from '../views/data-consent-pages.ts';
import type { InteractionScope } from '../interactions/interaction-context.ts';
import type { ExchangeDependencies, OpDependencies } from '../op-dependencies.ts';
import type { MessageKey } from '../i18n.ts';
import { requestedDetails } from './data-access-authorization.ts';
import { CONSENT_PERIODS, type NewConsent } from './data-consents.ts';
import { consentingParty, describeDataRequests, type ConsentingParty, type DataRequestView } from './data-consent-requests.ts';
import { TTL } from '../oidc/provider-config.ts';

const DAY = 24 * 3600;

interface DataStep {
  exchange: ExchangeDependencies;
  party: ConsentingParty | null;
  requests: DataRequestView[];
}

async function dataStep(deps: OpDependencies, s: InteractionScope): Promise<DataStep | null> {
  const { exchange } = deps;
  const details = requestedDetails(s.details.params);
  if (!exchange || !details.length || !s.details.session?.accountId) return null;
  const party = await consentingParty(
    { ...exchange, legalPersons: deps.legalPersons, recognized: deps.recognized },
    s.details.session.accountId,
    s.details.grantId,
  );
  const requests = party
    ? await describeDataRequests(details, party, s, {
        catalogs: exchange.catalogs,
        siteName: (id, locale) => deps.recognition?.siteName(id, locale) ?? id,
      })
    : [];
  return { exchange, party, requests };
}

/** The data section of the consent page, or null when no data is asked for. */
export async function dataConsentSection(
  deps: OpDependencies,
  s: InteractionScope,
  modeError?: MessageKey,
): Promise<{ section: Html; mayAllow: boolean } | null> {
  const step = await dataStep(deps, s);
  if (!step) return null;
  const org = step.party?.organization;
  return {
    section: dataRequestsSection(s.form, step.requests, org ? { org: org.name, role: org.role } : null, modeError),
    mayAllow: step.party !== null && step.requests.every((r) => !r.refusal),
  };
}

/** The consent mode the form chose: once, or one of the periods (seconds); null when none was chosen. */
function chosenMode(raw: string | undefined): Pick<NewConsent, 'mode' | 'lifetime'> | null {
  // Once: as long as the code and then the token it gives may be used.
  if (raw === 'once') return { mode: 'once', lifetime: TTL.AuthorizationCode + TTL.AccessToken };
  const days = CONSENT_PERIODS.find((d) => String(d) === raw);
  return days ? { mode: 'period', lifetime: days * DAY } : null;
}

export type GivenConsents = { given: string[] } | { refused: 'mode' | 'not_allowed' };

/** Records the consents the form gives; [] when no data was asked for. */
export async function giveDataConsents(deps: OpDependencies, s: InteractionScope): Promise<GivenConsents> {
  const step = await dataStep(deps, s);
  if (!step) return { given: [] };
  const { party } = step;
  if (!party || step.requests.some((r) => r.refusal)) return { refused: 'not_allowed' };
  const mode = chosenMode(s.body.consent_mode);
  if (!mode) return { refused: 'mode' };
  const clientId = String(s.details.params.client_id);
  const given = await step.exchange.consents.give(
    requestedDetails(s.details.params).map((detail) => ({
      accountSubject: party.accountSubject,
      subjectKind: party.subjectKind,
      subjectIndex: party.subjectIndex,
      actorSubject: party.organization?.actorSubject ?? null,
      clientId,
      detail,
      ...mode,
    })),
  );
  return { given };
}
