/**
 * Errors of the OpenID Federation 1.0 trust layer (metadata policy, trust chain resolution and
 * validation). Every error says which statement failed and which check failed, so that a log
 * line or an error page can tell an operator exactly what to fix.
 */

/** What a {@link MetadataPolicyError} is about. */
export type MetadataPolicyErrorKind =
  /** A single policy is invalid: bad structure, bad operator value type, disallowed operator
   * combination, or an unsupported critical operator (OpenID Federation 1.0 §6.1.3, §6.1.4.1). */
  | 'illegal'
  /** Two policies (of different superiors) cannot be merged (§6.1.4.1 "Resolution"). */
  | 'conflict'
  /** Metadata does not comply with the resolved policy (§6.1.4.2 "Application"). */
  | 'violation';

export class MetadataPolicyError extends Error {
  readonly kind: MetadataPolicyErrorKind;
  readonly entityType: string | undefined;
  readonly parameter: string | undefined;
  readonly operator: string | undefined;

  constructor(
    kind: MetadataPolicyErrorKind,
    message: string,
    where: { entityType?: string | undefined; parameter?: string | undefined; operator?: string | undefined } = {},
  ) {
    const path = [where.entityType, where.parameter, where.operator].filter(Boolean).join('.');
    super(path ? `${path}: ${message}` : message);
    this.name = 'MetadataPolicyError';
    this.kind = kind;
    this.entityType = where.entityType;
    this.parameter = where.parameter;
    this.operator = where.operator;
  }
}

/** The check that rejected a statement or a chain. */
export type TrustChainCheck =
  | 'malformed' // not a compact JWS with JSON header and claims (or duplicate JSON member names)
  | 'typ' // typ header is not exactly entity-statement+jwt
  | 'alg' // alg is none or not an accepted algorithm
  | 'kid' // kid header missing or empty
  | 'signature' // signature does not validate (or the kid is not in the signer's own / the configured anchor keys)
  | 'key_not_in_superior' // signing key not in the jwks the superior published about the signer
  | 'claims' // required claim missing, wrong type, or a claim in the wrong kind of statement
  | 'entity_id' // iss/sub/authority hint is not a valid Entity Identifier
  | 'jwks' // jwks claim is not a valid JWK Set (or duplicate kid)
  | 'crit' // crit claim names a claim that is not understood, or is malformed
  | 'expired' // exp is in the past (beyond the allowed clock skew)
  | 'not_yet_valid' // iat is in the future (beyond the allowed clock skew)
  | 'iss_sub' // iss/sub linkage broken
  | 'authority_hints' // subordinate statement issuer is not among the subject's authority_hints
  | 'loop' // authority_hints lead back to an entity already on the path
  | 'max_path_length' // too many intermediates (local limit or a max_path_length constraint)
  | 'constraints' // constraints malformed, or a naming constraint is violated
  | 'unknown_trust_anchor' // a path ends at an entity that is not a configured trust anchor
  | 'policy_conflict' // metadata policies of two superiors cannot be merged
  | 'policy_illegal' // a metadata policy is invalid (or metadata_policy_crit lists an unsupported operator)
  | 'policy_violation' // the subject's metadata does not comply with the resolved policy
  | 'metadata' // metadata claim malformed (e.g. null values)
  | 'entity_type' // the resolved metadata lacks the requested entity type
  | 'trust_marks' // trust_marks claim malformed
  | 'no_fetch_endpoint' // a superior's entity configuration has no federation_fetch_endpoint
  | 'too_large' // a statement exceeds the byte limit
  | 'fetch_timeout' // fetching a statement took longer than the timeout
  | 'fetch_failed' // fetching a statement failed
  | 'fetch_budget'; // resolution needed more fetches than allowed

export class TrustChainError extends Error {
  /** Which statement, e.g. "entity configuration of https://a" or "subordinate statement https://b→https://a". */
  readonly statement: string;
  readonly check: TrustChainCheck;
  /** What exactly was wrong (the message without the statement and check). */
  readonly detail: string;
  /** For fetch errors, the URL that was being fetched. */
  readonly url: string | undefined;
  /** When resolution tried several paths, the errors of the other paths. */
  readonly alternatives: TrustChainError[];

  constructor(
    statement: string,
    check: TrustChainCheck,
    detail: string,
    opts: { url?: string; cause?: unknown; alternatives?: TrustChainError[] } = {},
  ) {
    super(
      `${statement}: ${check}: ${detail}${opts.url ? ` (${opts.url})` : ''}`,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.name = 'TrustChainError';
    this.statement = statement;
    this.check = check;
    this.detail = detail;
    this.url = opts.url;
    this.alternatives = opts.alternatives ?? [];
  }
}

export function entityConfigurationLabel(entityId: string): string {
  return `entity configuration of ${entityId}`;
}

export function subordinateStatementLabel(issuer: string, subject: string): string {
  return `subordinate statement ${issuer}→${subject}`;
}
