/**
 * The consent token at the holding node: an RFC 9068 access token the person's OP issued for this
 * node, carrying the consented `gov-id:data-access` authorization details (infra/data-access-detail.ts).
 * Its signature, issuer (a federation OP, through its trust chain), audience and expiry are checked
 * here without a call; whether the consent still stands is not in the token, so the node asks the
 * issuing OP on every request (a revoked consent stops the next request, not the next token), in
 * the same call that checks the request's person is the token's (docs/exchange.md, "Revocation").
 */
import { CONSENT_CHECK_PATH, type ConsentStatus } from '../../infra/data-access-detail.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { HttpError } from '../../infra/errors.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import type { DataSubject } from './datasets.ts';
import { subjectBody } from './data-request.ts';
import { Refusal } from './exchange-refusals.ts';

export interface ConsentToken {
  issuer: string;
  clientId: string;
  /** The token's authorization_details, unparsed. */
  details: unknown[];
  tokenId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  token: string;
}

export interface ConsentTokens {
  /** The token checked for this node; throws Refusal (invalid_token, token_expired, token_audience, consent_unverifiable). */
  verify(token: string): Promise<ConsentToken>;
  /** The issuing OP's word on the consent and the request's person; throws Refusal(consent_unverifiable) when it cannot be had. */
  check(token: ConsentToken, consentId: string, subject: DataSubject): Promise<{ status: ConsentStatus; subjectMatches: boolean }>;
}

const CHECK_TIMEOUT_MS = 5_000;
const STATUSES: readonly ConsentStatus[] = ['active', 'revoked', 'expired', 'used', 'unknown'];

export function consentTokens(runtime: EntityRuntime, access: ServiceAccess): ConsentTokens {
  return {
    async verify(token) {
      try {
        const { issuer, clientId, authorizationDetails, tokenId, expiresAt } = await access.verify(token);
        return { issuer, clientId, details: authorizationDetails, tokenId, expiresAt, token };
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        // Fail closed: the issuer's keys out of reach is no consent either.
        if (err.status >= 500) throw new Refusal('consent_unverifiable', err.message);
        throw new Refusal('invalid_token', err.message);
      }
    },
    async check(token, consentId, subject) {
      let answer;
      try {
        answer = await postAsEntity({
          from: runtime.self.url,
          key: runtime.keyRing.signingKey(),
          to: token.issuer,
          path: CONSENT_CHECK_PATH,
          body: { access_token: token.token, consent: consentId, subject: subjectBody(subject) },
          timeoutMs: CHECK_TIMEOUT_MS,
        });
      } catch (err) {
        if (err instanceof HttpError) throw new Refusal('consent_unverifiable', err.message);
        throw err;
      }
      const { status, json } = answer;
      if (status !== 200 || !STATUSES.includes(json.status as ConsentStatus) || typeof json.subject_matches !== 'boolean')
        throw new Refusal(
          'consent_unverifiable',
          `${token.issuer} did not answer the consent check (${status} ${String(json.error ?? '')})`.trim(),
        );
      return { status: json.status as ConsentStatus, subjectMatches: json.subject_matches };
    },
  };
}
