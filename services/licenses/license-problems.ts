/**
 * Why a licence did not verify: one problem code per check, so that a verifier, a page or the
 * command line can say exactly what failed (docs/licenses.md, "Errors"). A licence that fails a
 * check is answered 422 (the request was fine, the licence is not); one that cannot be checked
 * now (its issuer or status list out of reach) 503, never "valid".
 */
import { HttpError } from '../../infra/errors.ts';

/** The checks, in the order they run. */
export const CHECKS = ['format', 'issuer', 'key', 'signature', 'validity', 'disclosures', 'key_binding', 'status'] as const;
export type Check = (typeof CHECKS)[number];

export const PROBLEMS = {
  license_malformed: 'format',
  license_type_unknown: 'format',
  issuer_untrusted: 'issuer',
  issuer_unreachable: 'issuer',
  key_not_in_chain: 'key',
  signature_invalid: 'signature',
  license_not_yet_valid: 'validity',
  license_expired: 'validity',
  disclosure_invalid: 'disclosures',
  key_binding_required: 'key_binding',
  kb_invalid: 'key_binding',
  kb_sd_hash_mismatch: 'key_binding',
  kb_audience_mismatch: 'key_binding',
  kb_nonce_mismatch: 'key_binding',
  kb_stale: 'key_binding',
  status_list_invalid: 'status',
  status_list_unavailable: 'status',
  license_revoked: 'status',
  license_suspended: 'status',
} as const satisfies Record<string, Check>;
export type Problem = keyof typeof PROBLEMS;

/** Could not be decided now: try later (the answer is 503). */
const UNDECIDED: ReadonlySet<Problem> = new Set(['issuer_unreachable', 'status_list_unavailable']);

export class LicenseCheckFailed extends HttpError {
  readonly problem: Problem;
  readonly check: Check;

  constructor(problem: Problem, message: string) {
    const check = PROBLEMS[problem];
    super(UNDECIDED.has(problem) ? 503 : 422, problem, message, { details: { valid: false, check } });
    this.problem = problem;
    this.check = check;
  }

  /** The licence may be fine: the check could not be made now. */
  get undecided(): boolean {
    return UNDECIDED.has(this.problem);
  }
}

export function isProblem(code: unknown): code is Problem {
  return typeof code === 'string' && Object.hasOwn(PROBLEMS, code);
}
