/**
 * What a person reads in their space about the use of their data (数据使用记录): the accesses to it
 * logged at every data-sharing node, merged into one list, and the consents they gave at their OP.
 * The portal calls its platform's node with the person's access token; the node asks the OP who
 * the person is, reads its own log by its blind index, and asks every other node for theirs,
 * passing the person's token on (issued for this node: the other node checks that it was, through
 * the issuer's trust chain) with the ID number or USCC in the authenticated body. Consents live at
 * the OP that recorded them: the node relays the person's token to it.
 */
import { z } from 'zod';
import { CONSENT_LIST_PATH, CONSENT_REVOKE_PATH } from '../../infra/data-access-detail.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { HttpError, UpstreamUnavailable } from '../../infra/errors.ts';
import type { ServiceAccess, ServicePrincipal } from '../service-access/service-access-tokens.ts';
import type { AccessLog, AccessRecord } from './access-log.ts';
import { subjectBody, subjectIndex } from './data-request.ts';
import type { DataSubject } from './datasets.ts';
import type { ExchangeFederation } from './exchange-federation.ts';

/** Where a node asks another for the accesses to one person's data it logged. */
export const SUBJECT_LOG_PATH = '/exchange/log/subject';

const PEER_TIMEOUT_MS = 5_000;

/** One request as the person sees it: what was asked, by whom, of whom, and what came of it. */
export interface PersonAccess {
  request_id: string;
  at: string;
  requester: string;
  holder: string;
  client_id: string | null;
  dataset: string;
  attributes: string[];
  purpose: string;
  item: string | null;
  case: string | null;
  consent: { issuer: string; id: string } | null;
  result: 'served' | 'refused';
  reason: string | null;
  /** The nodes whose logs hold it (the holding and the requesting node, when both answered). */
  logged_by: string[];
}

export interface PersonDataUse {
  accesses: PersonAccess[];
  /** Nodes that could not be asked now: the list may miss what they logged. */
  unavailable: string[];
}

const peerEntry = z.object({
  request_id: z.string(),
  role: z.enum(['holder', 'requester']),
  requester: z.string(),
  holder: z.string(),
  client_id: z.string().nullable(),
  dataset: z.string(),
  attributes: z.array(z.string()),
  purpose: z.string(),
  item: z.string().nullable(),
  case: z.string().nullable(),
  consent: z.object({ issuer: z.string(), id: z.string() }).nullable(),
  result: z.enum(['served', 'refused']),
  reason: z.string().nullable(),
  at: z.string(),
});
type PeerEntry = z.infer<typeof peerEntry>;
const peerAnswer = z.object({ entries: z.array(peerEntry) });

/** An entry as another node may see it: whose data it is goes without saying (their own blind index stays home). */
export function shareable(records: AccessRecord[]): PeerEntry[] {
  return records.map(({ entry: { subject_index: _index, subject_kind: _kind, ...rest } }) => rest);
}

/** One row per request: the holding node's entry says what came of it when it is there. */
function merge(logs: { node: string; entries: PeerEntry[] }[]): PersonAccess[] {
  const byRequest = new Map<string, { entry: PeerEntry; logged_by: string[] }>();
  for (const { node, entries } of logs) {
    for (const entry of entries) {
      const seen = byRequest.get(entry.request_id);
      if (!seen) byRequest.set(entry.request_id, { entry, logged_by: [node] });
      else {
        // One node may log both sides (it asked itself); it is named once.
        if (!seen.logged_by.includes(node)) seen.logged_by.push(node);
        if (entry.role === 'holder') seen.entry = entry;
      }
    }
  }
  return [...byRequest.values()]
    .map(({ entry: { role: _role, ...rest }, logged_by }) => ({ ...rest, logged_by }))
    .sort((a, b) => b.at.localeCompare(a.at));
}

export class PersonDataUseService {
  constructor(
    private readonly runtime: EntityRuntime,
    private readonly access: ServiceAccess,
    private readonly federation: ExchangeFederation,
    private readonly log: AccessLog,
  ) {}

  /** The data subject the token's person is (the OP says, over an entity-authenticated call). */
  async subjectOf(principal: ServicePrincipal): Promise<DataSubject> {
    const person = await this.access.person(principal);
    if (person.kind === 'legal' && person.uscc) return { kind: 'legal', uscc: person.uscc };
    if (person.kind === 'natural' && person.idNumber) return { kind: 'natural', idNumber: person.idNumber };
    throw new UpstreamUnavailable(`${principal.issuer} did not give the identifier of the token's subject`);
  }

  async accesses(principal: ServicePrincipal): Promise<PersonDataUse> {
    const subject = await this.subjectOf(principal);
    const self = this.runtime.self.url;
    const own = { node: self, entries: shareable(await this.log.ofSubject(subjectIndex(this.runtime.blindIndex, subject))) };
    const peers = (await this.federation.nodes()).filter((n) => n !== self);
    const answers = await Promise.all(
      peers.map(async (node) => {
        try {
          const { status, json } = await postAsEntity({
            from: self,
            key: this.runtime.keyRing.signingKey(),
            to: node,
            path: SUBJECT_LOG_PATH,
            body: { access_token: principal.token, subject: subjectBody(subject) },
            timeoutMs: PEER_TIMEOUT_MS,
          });
          const parsed = peerAnswer.safeParse(json);
          if (status !== 200 || !parsed.success) throw new UpstreamUnavailable(`${node} answered ${status}`);
          return { node, entries: parsed.data.entries };
        } catch (err) {
          if (!(err instanceof HttpError)) throw err;
          this.runtime.log.warn('a node did not give its log of a person', { node, reason: err.message });
          return { node, entries: null };
        }
      }),
    );
    return {
      accesses: merge([own, ...answers.filter((a): a is { node: string; entries: PeerEntry[] } => a.entries !== null)]),
      unavailable: answers.filter((a) => a.entries === null).map((a) => a.node),
    };
  }

  /** The consents the person gave at the OP that issued the token. */
  consents(principal: ServicePrincipal): Promise<Record<string, unknown>> {
    return this.toOp(principal, CONSENT_LIST_PATH, {});
  }

  revoke(principal: ServicePrincipal, consent: string): Promise<Record<string, unknown>> {
    return this.toOp(principal, CONSENT_REVOKE_PATH, { consent });
  }

  private async toOp(principal: ServicePrincipal, path: string, body: Record<string, unknown>) {
    const { status, json } = await postAsEntity({
      from: this.runtime.self.url,
      key: this.runtime.keyRing.signingKey(),
      to: principal.issuer,
      path,
      body: { access_token: principal.token, ...body },
      timeoutMs: PEER_TIMEOUT_MS,
    });
    if (status === 200) return json;
    const message = String(json.error_description ?? `the OP answered ${status}`);
    if (status >= 400 && status < 500 && typeof json.error === 'string') throw new HttpError(status, json.error, message);
    throw new UpstreamUnavailable(`${principal.issuer}: ${message}`);
  }
}
