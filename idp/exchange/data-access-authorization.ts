/**
 * RFC 9396 rich authorization requests of type `gov-id:data-access` in oidc-provider
 * (docs/exchange.md, "Consent"). A portal asks, with the holding node as the RFC 8707 `resource`,
 * for one or more details; each is checked against the holding node's dataset catalog; the
 * person consents on the consent page unless a standing (period) consent to this portal covers
 * it; and the code, then the access token, carry exactly the details asked and consented, each
 * with the ID of the consent that allows it, which the holding node asks this OP about.
 */
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { DataAccessRequests } from '../oidc/provider-config.ts';
import { DATA_ACCESS_TYPE, requestedDataAccess, type RequestedDataAccess } from '../../infra/data-access-detail.ts';
import type { TrustedResources } from '../../federation/trusted-resources.ts';
import type { DataConsents } from './data-consents.ts';
import { CatalogUnavailable, type DatasetCatalogs } from './dataset-catalogs.ts';

/** What the consent page hands on to the authorization it resumes: the consents just given, in the order asked. */
export const GIVEN_CONSENTS = 'dataConsents';

/** The `gov-id:data-access` details of an authorization request (already validated by oidc-provider's check). */
export function requestedDetails(params: Record<string, unknown> | undefined): RequestedDataAccess[] {
  const raw = params?.authorization_details;
  if (typeof raw !== 'string') return [];
  const parsed = JSON.parse(raw) as unknown[];
  return parsed.flatMap((d) => {
    const checked = requestedDataAccess.safeParse(d);
    return checked.success ? [checked.data] : [];
  });
}

function resources(ctx: KoaContextWithOIDC): string[] {
  const r = ctx.oidc.params?.resource;
  return Array.isArray(r) ? r.map(String) : typeof r === 'string' ? [r] : [];
}

export interface DataAccessAuthorizationDeps {
  consents: DataConsents;
  catalogs: DatasetCatalogs;
  resources: TrustedResources;
}

export function dataAccessAuthorization(deps: DataAccessAuthorizationDeps): DataAccessRequests {
  const validate = async (ctx: KoaContextWithOIDC, raw: unknown) => {
    const checked = requestedDataAccess.safeParse(raw);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new errors.InvalidAuthorizationDetails(`${issue.path.join('.') || DATA_ACCESS_TYPE}: ${issue.message}`);
    }
    const detail = checked.data;
    const holder = detail.locations[0]!;
    // The token is for the holding node: it alone may act on what it carries.
    if (!resources(ctx).includes(holder))
      throw new errors.InvalidAuthorizationDetails(`locations: ${holder} must be the requested resource`);
    if (!(await deps.resources.isResource(detail.requester)))
      throw new errors.InvalidAuthorizationDetails(`requester: ${detail.requester} is no data-sharing node of the federation`);
    let catalog;
    try {
      catalog = await deps.catalogs.of(holder);
    } catch (err) {
      if (err instanceof CatalogUnavailable) throw new errors.TemporarilyUnavailable(err.message);
      throw err;
    }
    const dataset = catalog.datasets.find((d) => d.id === detail.dataset);
    if (!dataset) throw new errors.InvalidAuthorizationDetails(`dataset: ${holder} holds no dataset "${detail.dataset}"`);
    const unknown = detail.attributes.filter((a) => !dataset.attributes.some((x) => x.name === a));
    if (unknown.length) throw new errors.InvalidAuthorizationDetails(`attributes: dataset ${dataset.id} has no ${unknown.join(', ')}`);
    if (!dataset.purposes.includes(detail.purpose))
      throw new errors.InvalidAuthorizationDetails(`purpose: dataset ${dataset.id} may not be shared for "${detail.purpose}"`);
  };

  return {
    enabled: true,
    types: { [DATA_ACCESS_TYPE]: { validate: (ctx, detail) => validate(ctx, detail) } },
    authorizationDetailsForGrantSource: async (ctx) => {
      const details = requestedDetails(ctx.oidc.params);
      if (!details.length) return undefined;
      const given = ctx.oidc.result?.[GIVEN_CONSENTS] as string[] | undefined;
      const account = ctx.oidc.session!.accountId!;
      const clientId = ctx.oidc.client!.clientId;
      const ids =
        given?.length === details.length ? given : await Promise.all(details.map((d) => deps.consents.standing(account, clientId, d)));
      if (ids.some((id) => !id)) throw new errors.AccessDenied('the person has not consented to the data requested');
      return details.map((d, i) => ({ ...d, consent: ids[i]! }));
    },
    // Exactly what the code carried: the details asked for and consented to, with their consents.
    authorizationDetailsForAccessToken: async (_ctx, _token, source) => source?.rar,
    authorizationDetailsForIntrospection: async (_ctx, token) => token.rar,
  };
}

/**
 * Replaces oidc-provider's `rar_prompt` consent check, which asks on every request with details:
 * the consent page is skipped when the consents were just given in this interaction, or when
 * standing consents of the account to this client cover every detail asked.
 */
export function withDataConsentCheck<P extends ReturnType<typeof interactionPolicy.base>>(policy: P, consents: DataConsents): P {
  const { Check } = interactionPolicy;
  const { checks } = policy.get('consent')!;
  checks.remove('rar_prompt');
  checks.add(dataConsentCheck(consents, Check));
  return policy;
}

function dataConsentCheck(consents: DataConsents, Check: typeof interactionPolicy.Check) {
  return new Check(
    'rar_prompt',
    'data the person has not consented to was requested',
    'consent_required',
    async (ctx: KoaContextWithOIDC) => {
      const details = requestedDetails(ctx.oidc.params);
      if (!details.length || Array.isArray(ctx.oidc.result?.[GIVEN_CONSENTS])) return Check.NO_NEED_TO_PROMPT;
      const account = ctx.oidc.session?.accountId;
      if (!account) return Check.REQUEST_PROMPT;
      for (const d of details) if (!(await consents.standing(account, ctx.oidc.client!.clientId, d))) return Check.REQUEST_PROMPT;
      return Check.NO_NEED_TO_PROMPT;
    },
    ({ oidc }: KoaContextWithOIDC) => ({ rar: requestedDetails(oidc.params) }),
  );
}
