/**
 * What the case operations share: storage, keys, the legal clock, the platform's code, the
 * catalog the items come from, where notices and results go, and the time (injected, so the demo
 * and tests can age a case without waiting). Also the people involved, as the services entity
 * learns them from access tokens and the issuing OP.
 */
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import type { Database, Queryable } from '../../infra/database.ts';
import type { EntityKeyResolver } from '../../infra/entity-assertion.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import type { Logger } from '../../infra/log.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { LegalClock } from './legal-clock.ts';
import { chinaDate, type CalendarDate } from './working-calendar.ts';

/**
 * Who applies, as the OP that logged them in knows them: a real-name natural person, or an
 * organization (`idNumber` then holds its USCC) with the agent acting for it under the login.
 */
export interface Person {
  kind: 'natural' | 'legal';
  name: string;
  idNumber: string;
  phone: string | null;
  agent?: { name: string; role: string | null; categories: string[] };
}

/** The login an application or action came with (the access token's facts). */
export interface Login {
  issuer: string;
  subject: string;
  clientId: string;
  /** The token's level of assurance, as a level name (loa1..loa3) or null when below them all. */
  level: string | null;
}

export interface Caller {
  person: Person;
  login: Login;
}

/** Sends a short message to a phone (the SMS gateway; in the demo, the outbox), in `db`'s transaction when one is given. */
export type Notifier = (phone: string, text: string, db?: Queryable) => Promise<void>;

/** Makes the result of an approved case (an e-license) and says where it is. */
export type ResultMaker = (c: {
  itemName: string;
  decidedOn: string;
  number: string;
  itemCode: string;
  resultName: string;
  holder: Person;
  authority: string;
}) => Promise<Record<string, unknown>>;

/**
 * Asks the data-sharing exchange for a record of the applicant (docs/exchange.md): this platform's
 * node routes the request to the holding node, which checks the person's consent token.
 */
export type RecordFetcher = (r: {
  holder: string;
  access_token: string;
  subject: { kind: 'natural'; id_number: string } | { kind: 'legal'; uscc: string };
  dataset: string;
  attributes: string[];
  purpose: string;
  item: string | null;
  case: string | null;
}) => Promise<{ request_id: string; holder: string; dataset: string; data: Record<string, string> }>;

export interface CaseDeps {
  db: Database;
  cipher: FieldCipher;
  blindIndex: BlindIndex;
  clock: LegalClock;
  catalog: CatalogService;
  /** The platform's code, the first part of its case numbers (gz, zj …). */
  platform: string;
  /** The services entity's ID: the sender of its messages. */
  self: string;
  notify: Notifier;
  makeResult: ResultMaker;
  now: () => Date;
  log: Logger;
  /** Receiving for other platforms and handling for them (cross-region.ts); absent: every item is handled here. */
  crossRegion?: CrossRegion;
  /** Materials held as e-licenses or in base registries, fetched with the person's consent; absent: no exchange. */
  fetchRecord?: RecordFetcher;
}

/** What a platform needs to know of the federation to receive for others and handle for others. */
export interface CrossRegion {
  /** The platform that handles the items of an authority (by its USCC's region) and its services entity; null when it is this one. */
  handlerOf(authority: string): { platform: string; url: string } | null;
  /** Whether two platforms are in one province (an item handled province-wide). */
  sameProvince(a: string, b: string): boolean;
  /** Keys of a services entity of the federation, through its trust chain; null for anyone else. */
  resolveServicesKeys: EntityKeyResolver;
  signingKey: () => PrivateJwk;
}

export const APPLICANT_AAD = 'cases.applicant_enc';
export const ADDRESS_AAD = 'cases.delivery_address_enc';
export const MATERIAL_AAD = 'case_materials.content_enc';

export function today(deps: Pick<CaseDeps, 'now'>): CalendarDate {
  return chinaDate(deps.now());
}

/** The blind index a natural person is found by. */
export function personIndex(deps: Pick<CaseDeps, 'blindIndex'>, idNumber: string): string {
  return deps.blindIndex.of('id_number', idNumber);
}

/** The blind index an applicant is found by: a person's ID number, an organization's USCC (index spaces apart). */
export function applicantIndex(deps: Pick<CaseDeps, 'blindIndex'>, p: Pick<Person, 'kind' | 'idNumber'>): string {
  return p.kind === 'legal' ? deps.blindIndex.of('uscc', p.idNumber) : personIndex(deps, p.idNumber);
}

export function sealPerson(deps: Pick<CaseDeps, 'cipher'>, p: Person): string {
  return deps.cipher.encrypt(
    JSON.stringify({ kind: p.kind, name: p.name, id_number: p.idNumber, phone: p.phone, ...(p.agent ? { agent: p.agent } : {}) }),
    APPLICANT_AAD,
  );
}

export function openPerson(deps: Pick<CaseDeps, 'cipher'>, sealed: string): Person {
  const p = JSON.parse(deps.cipher.decrypt(sealed, APPLICANT_AAD)) as {
    kind: Person['kind'];
    name: string;
    id_number: string;
    phone: string | null;
    agent?: Person['agent'];
  };
  return { kind: p.kind, name: p.name, idNumber: p.id_number, phone: p.phone, ...(p.agent ? { agent: p.agent } : {}) };
}
