/**
 * The requesting node's side of a data request: it names the request, sends it along the route,
 * checks that the answer is the holding node's (its signature through the holder's trust chain,
 * for this node and this request), and writes the outcome in its own access log: the requesting
 * authority's record of what it asked for and got.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { consentedDataAccess, DATA_ACCESS_TYPE } from '../../infra/data-access-detail.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import type { AccessEntry, AccessLog } from './access-log.ts';
import { parseSubject, subjectIndex, type RoutedRequest } from './data-request.ts';
import type { DataSubject } from './datasets.ts';
import type { ExchangeFederation } from './exchange-federation.ts';
import { isRefusalCode, Refusal } from './exchange-refusals.ts';
import { asRefusal, type ExchangeRouting } from './exchange-routing.ts';
import { RESPONSE_TYP } from './holding-node.ts';
import { signOrigin } from './request-origin.ts';

export type DataRequest = Omit<RoutedRequest, 'request_id' | 'route' | 'origin'>;

export interface DataResponse {
  request_id: string;
  holder: string;
  dataset: string;
  data: Record<string, string>;
  consent: { issuer: string; id: string };
}

/** The consent and portal a token names, read without checking it: for this node's log only (the holder checks). */
function claimedConsent(
  token: string | undefined,
  dataset: string,
  requester: string,
): { clientId: string | null; consent: AccessEntry['consent'] } {
  if (!token) return { clientId: null, consent: null };
  try {
    const claims = decodeJwt(token);
    const details = Array.isArray(claims.authorization_details) ? claims.authorization_details : [];
    const detail = details
      .filter((d) => (d as { type?: unknown }).type === DATA_ACCESS_TYPE)
      .map(consentedDataAccess)
      .find((d) => d?.dataset === dataset && d.requester === requester);
    return {
      clientId: typeof claims.client_id === 'string' ? claims.client_id : null,
      consent: detail && typeof claims.iss === 'string' ? { issuer: claims.iss, id: detail.consent } : null,
    };
  } catch {
    return { clientId: null, consent: null };
  }
}

export class RequestingNode {
  constructor(
    private readonly runtime: EntityRuntime,
    private readonly federation: ExchangeFederation,
    private readonly routing: ExchangeRouting,
    private readonly log: AccessLog,
  ) {}

  async request(input: DataRequest): Promise<DataResponse> {
    const self = this.runtime.self.url;
    const unsigned = { ...input, request_id: randomUUID(), route: [self] };
    const request: RoutedRequest = { ...unsigned, origin: await signOrigin(this.runtime, unsigned) };
    let subject: DataSubject | null = null;
    try {
      subject = parseSubject(request.subject);
      const answer = await this.routing.relay(request).catch((err: unknown) => {
        throw asRefusal(err);
      });
      if (answer.status !== 200) {
        const code = answer.json.error;
        const message = String(answer.json.error_description ?? `the holding node refused (${answer.status})`);
        throw isRefusalCode(code) ? new Refusal(code, message) : new Refusal('invalid_response', `${message} (${String(code)})`);
      }
      const response = await this.verified(request, answer.json.response);
      await this.record(request, subject, 'served', null, {
        clientId: claimedConsent(request.access_token, request.dataset, self).clientId,
        consent: response.consent,
      });
      return response;
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      await this.record(request, subject, 'refused', err.reason, claimedConsent(request.access_token, request.dataset, self));
      // The business system keeps the request's ID: the person and the auditors find it by it in both logs.
      throw new Refusal(err.reason, err.message, { request_id: request.request_id });
    }
  }

  /** The holder's signed answer, for this node and this request. */
  private async verified(request: RoutedRequest, response: unknown): Promise<DataResponse> {
    const keys = typeof response === 'string' ? await this.federation.nodeKeys(request.holder) : null;
    if (!keys)
      throw new Refusal('invalid_response', `${request.holder} answered without a response it signed, or is no node of the federation`);
    try {
      const { payload } = await jwtVerify(response as string, createLocalJWKSet(keys), {
        issuer: request.holder,
        audience: this.runtime.self.url,
        typ: RESPONSE_TYP,
        requiredClaims: ['request_id', 'data', 'consent', 'exp'],
      });
      if (payload.request_id !== request.request_id || payload.dataset !== request.dataset) throw new Error('it answers another request');
      const data = payload.data as Record<string, string>;
      const extra = Object.keys(data).filter((k) => !request.attributes.includes(k));
      if (extra.length) throw new Error(`it holds attributes that were not asked for (${extra.join(', ')})`);
      return {
        request_id: request.request_id,
        holder: request.holder,
        dataset: request.dataset,
        data,
        consent: payload.consent as DataResponse['consent'],
      };
    } catch (err) {
      throw new Refusal('invalid_response', `the holding node's response does not verify: ${(err as Error).message}`);
    }
  }

  private async record(
    request: RoutedRequest,
    subject: DataSubject | null,
    result: AccessEntry['result'],
    reason: string | null,
    claimed: { clientId: string | null; consent: AccessEntry['consent'] },
  ) {
    await this.log.append({
      request_id: request.request_id,
      role: 'requester',
      requester: this.runtime.self.url,
      holder: request.holder,
      client_id: claimed.clientId,
      subject_kind: request.subject.kind,
      subject_index: subject ? subjectIndex(this.runtime.blindIndex, subject) : null,
      dataset: request.dataset,
      attributes: request.attributes,
      purpose: request.purpose,
      item: request.item,
      case: request.case,
      consent: claimed.consent,
      result,
      reason,
    });
  }
}
