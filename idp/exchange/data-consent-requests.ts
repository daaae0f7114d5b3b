/**
 * Who consents on the consent page and to what, in words: the account whose data it is (a person,
 * or an organization with the person acting for it under a mandate), and each requested detail
 * named from the holding node's catalog in the person's language. An organization's data may be
 * consented to by its legal representative, or by an agent whose service categories include the
 * purpose's category (the authorizations of idp/accounts/legal-person-accounts.ts).
 */
import type { RequestedDataAccess } from '../../infra/data-access-detail.ts';
import type { AccountDirectory } from '../accounts/account-directory.ts';
import type { LegalPersonAccounts } from '../accounts/legal-person-accounts.ts';
import type { RecognizedAccounts } from '../accounts/recognized-accounts.ts';
import { isMessageKey, type Locale, type MessageKey, type Translate } from '../i18n.ts';
import { CatalogUnavailable, type DatasetCatalogs } from './dataset-catalogs.ts';

export interface ConsentingParty {
  accountSubject: string;
  subjectKind: 'natural' | 'legal';
  /** This OP's blind index of the account's ID number or USCC. */
  subjectIndex: string;
  /** For an organization: its name and who acts for it in this session, under which mandate. */
  organization: { name: string; actorSubject: string; role: string; categories: string[] } | null;
}

export interface ConsentPartyDeps {
  directory: AccountDirectory;
  legalPersons: LegalPersonAccounts;
  recognized: RecognizedAccounts;
}

/** The account of the session and, for an organization, the acting person bound to its grant; null when no one may consent. */
export async function consentingParty(
  deps: ConsentPartyDeps,
  accountSubject: string,
  grantId: string | undefined,
): Promise<ConsentingParty | null> {
  const found = await deps.directory.find(accountSubject);
  if (!found) return null;
  if (found.kind === 'natural')
    return { accountSubject, subjectKind: 'natural', subjectIndex: found.person.idNumberIndex, organization: null };
  if (found.kind === 'legal') {
    const bound = grantId ? await deps.legalPersons.actorOf(grantId) : null;
    if (!bound || bound.mandate.legal.subject !== accountSubject) return null;
    const { mandate } = bound;
    return {
      accountSubject,
      subjectKind: 'legal',
      subjectIndex: found.legal.usccIndex,
      organization: {
        name: found.legal.orgName,
        actorSubject: bound.actorSubject,
        role: mandate.role,
        categories: mandate.serviceCategories,
      },
    };
  }
  const { account } = found;
  if (account.kind === 'natural')
    return { accountSubject, subjectKind: 'natural', subjectIndex: account.identifierIndex, organization: null };
  const actor = grantId ? await deps.recognized.actorOf(grantId) : null;
  const act = actor?.act as { sub?: unknown } | undefined;
  if (!actor || typeof act?.sub !== 'string') return null;
  return {
    accountSubject,
    subjectKind: 'legal',
    subjectIndex: account.identifierIndex,
    organization: {
      name: String(account.claims.org_name ?? ''),
      actorSubject: act.sub,
      role: String(actor.agent_role ?? ''),
      categories: Array.isArray(actor.service_categories) ? actor.service_categories.map(String) : [],
    },
  };
}

/** One requested detail as the consent page shows it, with why the party may not consent to it, if so. */
export interface DataRequestView {
  requester: string;
  holder: string;
  dataset: string;
  attributes: string[];
  purpose: string;
  item: string | null;
  case: string | null;
  refusal: { key: MessageKey; vars: Record<string, string> } | null;
}

/**
 * The details named in the person's language. With a party (the consent page) each says whether
 * that party may consent to it, and a catalog that cannot be read fails the page; without one
 * (a list of consents given) an unreadable catalog leaves the codes as they are.
 */
export async function describeDataRequests(
  details: RequestedDataAccess[],
  party: ConsentingParty | null,
  { t, locale }: { t: Translate; locale: Locale },
  names: { catalogs: DatasetCatalogs; siteName: (id: string, locale: Locale) => string },
): Promise<DataRequestView[]> {
  const categoryName = (c: string) => {
    const key = `category.${c}`;
    return isMessageKey(key) ? t(key) : c;
  };
  return Promise.all(
    details.map(async (d) => {
      const catalog = await names.catalogs.of(d.locations[0]!).catch((err: unknown) => {
        if (party || !(err instanceof CatalogUnavailable)) throw err;
        return null;
      });
      const dataset = catalog?.datasets.find((x) => x.id === d.dataset);
      const purpose = catalog?.purposes.find((p) => p.code === d.purpose);
      const org = party?.organization;
      let refusal: DataRequestView['refusal'] = null;
      if (party && dataset && dataset.subject !== party.subjectKind)
        refusal = { key: 'error.data_request_mismatch', vars: { kind: t(`kind.${dataset.subject}`) } };
      else if (org && org.role !== 'representative' && !(purpose && org.categories.includes(purpose.category)))
        refusal = {
          key: 'error.purpose_not_covered',
          vars: { categories: org.categories.map(categoryName).join('、'), category: purpose ? categoryName(purpose.category) : d.purpose },
        };
      return {
        requester: names.siteName(d.requester, locale),
        holder: catalog?.name[locale] ?? names.siteName(d.locations[0]!, locale),
        dataset: dataset?.name[locale] ?? d.dataset,
        attributes: d.attributes.map((a) => dataset?.attributes.find((x) => x.name === a)?.label[locale] ?? a),
        purpose: purpose?.name[locale] ?? d.purpose,
        item: d.item ?? null,
        case: d.case ?? null,
        refusal,
      };
    }),
  );
}
