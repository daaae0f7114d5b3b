/**
 * A data request as it travels from the requesting node to the holding node (docs/exchange.md):
 * the body every hop posts to the next, authenticated by the hop's entity assertion. The ID
 * number or USCC travels only here, in an authenticated body, never in a URL.
 */
import { z } from 'zod';
import { dataSubject, type DataSubjectBody } from '../../infra/data-access-detail.ts';
import { InvalidIdentifier, InvalidUscc, parseIdNumber, parseUscc } from '../../infra/identifiers.ts';
import type { BlindIndex } from '../../infra/crypto.ts';
import type { DataSubject } from './datasets.ts';
import { Refusal } from './exchange-refusals.ts';

const entityId = z.url({ protocol: /^https?$/ }).max(256);
const code = z.string().min(1).max(64);
const reference = z.string().min(1).max(64).nullable().default(null);

/** What the requesting authority asks for (the requesting node's API and every hop). */
export const dataRequestFields = {
  holder: entityId,
  /** The consent token the person's OP issued for the holding node; absent, the holder refuses (consent_required). */
  access_token: z.string().min(1).max(16384).optional(),
  subject: dataSubject,
  dataset: code,
  attributes: z.array(code).min(1).max(32),
  purpose: code,
  item: reference,
  case: reference,
};

export const routedRequest = z
  .object({
    request_id: z.uuid(),
    /** The nodes the request went through, the requesting node first; the caller is the last. */
    route: z.array(entityId).min(1).max(8),
    /** The requesting node's signature of the request (request-origin.ts). */
    origin: z.string().min(1).max(4096),
    ...dataRequestFields,
  })
  .strict();
export type RoutedRequest = z.infer<typeof routedRequest>;

/** The route a data request travels: the path a hop posts it to. */
export const ROUTE_PATH = '/exchange/route';

/** The subject, checked (format, check character); an unusable one is refused as invalid_subject. */
export function parseSubject(subject: DataSubjectBody): DataSubject {
  try {
    return subject.kind === 'natural'
      ? { kind: 'natural', idNumber: parseIdNumber(subject.id_number) }
      : { kind: 'legal', uscc: parseUscc(subject.uscc) };
  } catch (err) {
    if (err instanceof InvalidIdentifier || err instanceof InvalidUscc) throw new Refusal('invalid_subject', err.message);
    throw err;
  }
}

/** This node's blind index of the subject's identifier (the name spaces the registries use). */
export function subjectIndex(index: BlindIndex, subject: DataSubject): string {
  return subject.kind === 'natural' ? index.of('id_number', subject.idNumber) : index.of('uscc', subject.uscc);
}

/** The subject as bodies carry it. */
export function subjectBody(subject: DataSubject): DataSubjectBody {
  return subject.kind === 'natural' ? { kind: 'natural', id_number: subject.idNumber } : { kind: 'legal', uscc: subject.uscc };
}
