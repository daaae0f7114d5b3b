/**
 * Why a data request is refused: one code per reason (docs/exchange.md, "Refusals"), each with
 * its HTTP status. The holding node answers with it, the nodes on the way pass it back as it is,
 * and both ends write it in their access log as the entry's `reason`.
 */
import { HttpError } from '../../infra/errors.ts';

export const REFUSALS = {
  origin_invalid: 401,
  consent_required: 403,
  invalid_token: 401,
  token_expired: 401,
  token_audience: 401,
  dataset_not_consented: 403,
  attributes_not_consented: 403,
  purpose_not_consented: 403,
  case_not_consented: 403,
  requester_not_consented: 403,
  subject_mismatch: 403,
  consent_revoked: 403,
  consent_expired: 403,
  consent_used: 403,
  request_replayed: 409,
  unknown_dataset: 404,
  no_record: 404,
  invalid_subject: 400,
  route_malformed: 400,
  route_loop: 400,
  route_too_long: 400,
  no_route: 404,
  consent_unverifiable: 503,
  node_unreachable: 503,
  invalid_response: 502,
} as const;

export type RefusalCode = keyof typeof REFUSALS;

export function isRefusalCode(code: unknown): code is RefusalCode {
  return typeof code === 'string' && Object.hasOwn(REFUSALS, code);
}

export class Refusal extends HttpError {
  constructor(
    readonly reason: RefusalCode,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(REFUSALS[reason], reason, message, {
      details,
      ...(REFUSALS[reason] === 401 ? { headers: { 'WWW-Authenticate': `Bearer error="invalid_token"` } } : {}),
    });
  }
}
