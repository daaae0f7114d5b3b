/**
 * The RFC 9396 authorization details type of the data-sharing exchange, `gov-id:data-access`:
 * what a portal asks the person's OP to consent to, what the OP puts in the access token, and
 * what the holding node checks a data request against (docs/exchange.md). One definition for the
 * OP (idp/exchange) and the nodes (services/exchange), which share no code otherwise.
 */
import { z } from 'zod';

export const DATA_ACCESS_TYPE = 'gov-id:data-access';

const code = z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,63}$/, 'must be a code of lowercase letters, digits and . _ : -');
const entityId = z.url({ protocol: /^https?$/ }).max(256);
const reference = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be letters, digits and . _ : -');

const requested = z
  .object({
    type: z.literal(DATA_ACCESS_TYPE),
    /** The node that holds the data (RFC 9396 §2.2 `locations`): exactly one, the token's audience. */
    locations: z.array(entityId).length(1),
    /** The requesting authority's node: the only one that may start a request with this consent. */
    requester: entityId,
    dataset: code,
    attributes: z
      .array(code)
      .min(1)
      .max(32)
      .refine((a) => new Set(a).size === a.length, 'must not repeat an attribute'),
    purpose: code,
    /** The service item (implementing code) or the case (case number) the data serves: one of them at least. */
    item: reference.optional(),
    case: reference.optional(),
  })
  .strict()
  .refine((d) => d.item !== undefined || d.case !== undefined, {
    message: 'names neither the item nor the case it serves',
    path: ['item'],
  });

/** A detail as a client asks for it (no consent reference: only the OP sets that). */
export const requestedDataAccess = requested;
export type RequestedDataAccess = z.infer<typeof requested>;

/** A detail as the OP issues it in an access token: what was consented, and the consent's ID at that OP. */
export type ConsentedDataAccess = RequestedDataAccess & { consent: string };

export function consentedDataAccess(value: unknown): ConsentedDataAccess | null {
  if (!value || typeof value !== 'object') return null;
  const { consent, ...rest } = value as Record<string, unknown>;
  const parsed = requested.safeParse(rest);
  return parsed.success && typeof consent === 'string' && consent ? { ...parsed.data, consent } : null;
}

/** What a data request asks for, to be checked against a consented detail. */
export interface DataRequestScope {
  holder: string;
  requester: string;
  dataset: string;
  attributes: string[];
  purpose: string;
  item: string | null;
  case: string | null;
}

export type ScopeMismatch = 'holder' | 'requester' | 'dataset' | 'attributes' | 'purpose' | 'case';

/** The first way the request goes beyond the consent, or null when the consent covers it. */
export function beyondConsent(detail: RequestedDataAccess, request: DataRequestScope): ScopeMismatch | null {
  if (detail.locations[0] !== request.holder) return 'holder';
  if (detail.requester !== request.requester) return 'requester';
  if (detail.dataset !== request.dataset) return 'dataset';
  if (!request.attributes.every((a) => detail.attributes.includes(a))) return 'attributes';
  if (detail.purpose !== request.purpose) return 'purpose';
  // The consent names the item or case it serves; a request for another one is beyond it.
  if ((detail.item ?? null) !== request.item || (detail.case ?? null) !== request.case) return 'case';
  return null;
}

/** Two details ask for the same thing (a standing consent covers a new request: the attributes asked are among those consented). */
export function sameScope(consented: RequestedDataAccess, asked: RequestedDataAccess): boolean {
  return (
    beyondConsent(consented, {
      holder: asked.locations[0]!,
      requester: asked.requester,
      dataset: asked.dataset,
      attributes: asked.attributes,
      purpose: asked.purpose,
      item: asked.item ?? null,
      case: asked.case ?? null,
    }) === null
  );
}

/**
 * The OP's endpoint where the holding node asks, for a token the OP issued to it, whether the
 * consent in it still stands and whether the request's person is the token's (entity-authenticated;
 * the ID number travels in the body). A once-only consent is used up by the answer that lets it serve.
 */
export const CONSENT_CHECK_PATH = '/exchange/consent-check';
/** The OP's endpoints where a node, for the person whose token it holds, lists and revokes their consents. */
export const CONSENT_LIST_PATH = '/exchange/consents';
export const CONSENT_REVOKE_PATH = '/exchange/consents/revoke';

export type ConsentStatus = 'active' | 'revoked' | 'expired' | 'used' | 'unknown';

/** Whose data: a natural person by ID number, an organization by USCC (as the exchange's bodies carry it). */
export const dataSubject = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('natural'), id_number: z.string().min(1).max(32) }).strict(),
  z.object({ kind: z.literal('legal'), uscc: z.string().min(1).max(32) }).strict(),
]);
export type DataSubjectBody = z.infer<typeof dataSubject>;

const localized = z.object({ 'zh-CN': z.string(), en: z.string() });

/** A node's dataset catalog (`GET /exchange/datasets`), as the node publishes it and the OP's consent page reads it. */
export const datasetCatalog = z.object({
  node: z.string(),
  name: localized,
  purposes: z.array(z.object({ code: z.string(), category: z.string(), name: localized })),
  datasets: z.array(
    z.object({
      id: z.string(),
      name: localized,
      subject: z.enum(['natural', 'legal']),
      attributes: z.array(z.object({ name: z.string(), label: localized })),
      purposes: z.array(z.string()),
    }),
  ),
});
export type DatasetCatalog = z.infer<typeof datasetCatalog>;
export type Dataset = DatasetCatalog['datasets'][number];
export type Purpose = DatasetCatalog['purposes'][number];
