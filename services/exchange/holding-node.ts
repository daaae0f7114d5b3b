/**
 * The holding node's side of a data request: every check a request must pass before data leaves
 * (docs/exchange.md, "What the holding node checks"), in an order that never spends a once-only
 * consent on a request that fails for another reason; then the data, in a response signed with
 * the node's federation key for the requesting node. Every outcome, served or refused, is one
 * entry in this node's access log.
 */
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { beyondConsent, consentedDataAccess, DATA_ACCESS_TYPE, type ConsentedDataAccess } from '../../infra/data-access-detail.ts';
import type { BlindIndex } from '../../infra/crypto.ts';
import type { EntityKeyResolver } from '../../infra/entity-assertion.ts';
import { verifyOrigin } from './request-origin.ts';
import type { EntityKeyRing } from '../../infra/entity-key-ring.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import type { Logger } from '../../infra/log.ts';
import type { AccessEntry, AccessLog } from './access-log.ts';
import type { Datasets, DataSubject } from './datasets.ts';
import { parseSubject, subjectIndex, type RoutedRequest } from './data-request.ts';
import { Refusal, type RefusalCode } from './exchange-refusals.ts';
import type { ConsentToken, ConsentTokens } from './consent-tokens.ts';

export const RESPONSE_TYP = 'exchange-response+jwt';
const RESPONSE_LIFETIME_SECONDS = 120;

export interface HoldingNodeOptions {
  self: string;
  datasets: Datasets;
  log: AccessLog;
  blindIndex: BlindIndex;
  tokens: ConsentTokens;
  keyRing: EntityKeyRing;
  kv: KeyValueStore;
  logger: Logger;
  /** The federation keys of a data-sharing node (to check who signed a request). */
  nodeKeys: EntityKeyResolver;
}

const MISMATCH_REFUSAL = {
  holder: 'consent_required',
  requester: 'requester_not_consented',
  dataset: 'dataset_not_consented',
  attributes: 'attributes_not_consented',
  purpose: 'purpose_not_consented',
  case: 'case_not_consented',
} as const satisfies Record<string, RefusalCode>;

const CONSENT_STATUS_REFUSAL = {
  revoked: 'consent_revoked',
  expired: 'consent_expired',
  used: 'consent_used',
  unknown: 'consent_required',
} as const satisfies Record<string, RefusalCode>;

/** What is known of a request as the checks go, for its log entry. */
interface Known {
  subject: DataSubject | null;
  token: ConsentToken | null;
  detail: ConsentedDataAccess | null;
}

export class HoldingNode {
  constructor(private readonly o: HoldingNodeOptions) {}

  /** Serves the request, or throws the Refusal; logs either way. Returns the signed response. */
  async serve(request: RoutedRequest): Promise<{ response: string }> {
    const known: Known = { subject: null, token: null, detail: null };
    try {
      const { data, consent } = await this.check(request, known);
      await this.record(request, known, 'served', null);
      return { response: await this.sign(request, data, consent) };
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      await this.record(request, known, 'refused', err.reason);
      throw err;
    }
  }

  private async check(request: RoutedRequest, known: Known) {
    const { self } = this.o;
    await verifyOrigin(request, self, this.o.nodeKeys);
    known.subject = parseSubject(request.subject);
    const source = this.o.datasets.get(request.dataset);
    if (!source) throw new Refusal('unknown_dataset', `${self} holds no dataset "${request.dataset}"`);
    if (source.dataset.subject !== known.subject.kind)
      throw new Refusal(
        'invalid_subject',
        `dataset ${request.dataset} holds ${source.dataset.subject === 'natural' ? "natural persons'" : "organizations'"} data`,
      );
    const unknown = request.attributes.filter((a) => !source.dataset.attributes.some((d) => d.name === a));
    if (unknown.length) throw new Refusal('attributes_not_consented', `dataset ${request.dataset} has no attribute ${unknown.join(', ')}`);
    if (!request.access_token) throw new Refusal('consent_required', 'the request carries no consent token');

    const token = await this.verifiedToken(request.access_token);
    known.token = token;
    const ours = token.details.filter((d) => (d as { type?: unknown }).type === DATA_ACCESS_TYPE).map(consentedDataAccess);
    // A token may carry several consents: the one for this requester and dataset, else the nearest (its mismatch is the refusal).
    const detail =
      ours.find((d) => d?.dataset === request.dataset && d.requester === request.route[0]) ??
      ours.find((d) => d?.dataset === request.dataset) ??
      ours.find((d) => d !== null) ??
      null;
    if (!detail) throw new Refusal('consent_required', `the token carries no ${DATA_ACCESS_TYPE} consent`);
    known.detail = detail;
    const mismatch = beyondConsent(detail, {
      holder: self,
      requester: request.route[0]!,
      dataset: request.dataset,
      attributes: request.attributes,
      purpose: request.purpose,
      item: request.item,
      case: request.case,
    });
    if (mismatch)
      throw new Refusal(
        MISMATCH_REFUSAL[mismatch],
        `the request goes beyond the consent: its ${mismatch} is not what the person consented to`,
      );

    // Each request serves once, for as long as its token could be shown again.
    const window = Math.max(60, token.expiresAt - Math.floor(Date.now() / 1000) + 60);
    if (!(await this.o.kv.setIfAbsent(`exchange-request:${request.request_id}`, '1', window)))
      throw new Refusal('request_replayed', `request ${request.request_id} was already answered`);

    const verdict = await this.o.tokens.check(token, detail.consent, known.subject);
    if (!verdict.subjectMatches) throw new Refusal('subject_mismatch', "the request names another person's data than the consent's");
    if (verdict.status !== 'active') throw new Refusal(CONSENT_STATUS_REFUSAL[verdict.status], `the consent is ${verdict.status}`);

    const data = await source.read(known.subject, request.attributes, { item: request.item, case: request.case });
    if (!data)
      throw new Refusal(
        'no_record',
        `${self} holds no ${request.dataset} record of this ${known.subject.kind === 'natural' ? 'person' : 'organization'}`,
      );
    return { data, consent: { issuer: token.issuer, id: detail.consent } };
  }

  /** Expiry and audience are read first so that their refusals say exactly that; the signature decides. */
  private async verifiedToken(token: string): Promise<ConsentToken> {
    let claims;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new Refusal('invalid_token', 'the consent token is not a JWT');
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(this.o.self))
      throw new Refusal('token_audience', `the consent token is for ${audiences.join(', ')}, not ${this.o.self}`);
    if (typeof claims.exp === 'number' && claims.exp <= Math.floor(Date.now() / 1000))
      throw new Refusal('token_expired', 'the consent token has expired');
    return this.o.tokens.verify(token);
  }

  private async record(request: RoutedRequest, known: Known, result: AccessEntry['result'], reason: string | null) {
    const { token, detail, subject } = known;
    await this.o.log.append({
      request_id: request.request_id,
      role: 'holder',
      requester: request.route[0]!,
      holder: this.o.self,
      client_id: token?.clientId ?? null,
      subject_kind: request.subject.kind,
      subject_index: subject ? subjectIndex(this.o.blindIndex, subject) : null,
      dataset: request.dataset,
      attributes: request.attributes,
      purpose: request.purpose,
      item: request.item,
      case: request.case,
      consent: token && detail ? { issuer: token.issuer, id: detail.consent } : null,
      result,
      reason,
    });
    this.o.logger.info('data request answered', { request_id: request.request_id, dataset: request.dataset, result, reason });
  }

  private async sign(request: RoutedRequest, data: Record<string, string>, consent: { issuer: string; id: string }): Promise<string> {
    const key = this.o.keyRing.signingKey();
    return new SignJWT({ request_id: request.request_id, dataset: request.dataset, data, consent })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RESPONSE_TYP })
      .setIssuer(this.o.self)
      .setAudience(request.route[0]!)
      .setIssuedAt()
      .setExpirationTime(`${RESPONSE_LIFETIME_SECONDS}s`)
      .sign(await importJWK(key, key.alg));
  }
}
