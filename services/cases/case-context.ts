/**
 * What the case operations share: storage, keys, the legal clock, the platform's code, the
 * catalog the items come from, where notices and results go, and the time (injected, so the demo
 * and tests can age a case without waiting). Also the people involved, as the services entity
 * learns them from access tokens and the issuing OP.
 */
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import type { Database } from '../../infra/database.ts';
import type { Logger } from '../../infra/log.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { LegalClock } from './legal-clock.ts';
import { chinaDate, type CalendarDate } from './working-calendar.ts';

/** A real-name natural person, as the OP that logged them in knows them. */
export interface Person {
  name: string;
  idNumber: string;
  phone: string | null;
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

/** Sends a short message to a phone (the SMS gateway; in the demo, the outbox). */
export type Notifier = (phone: string, text: string) => Promise<void>;

/** Makes the result of an approved case (an e-license) and says where it is. */
export type ResultMaker = (c: {
  number: string;
  itemCode: string;
  resultName: string;
  holder: Person;
  authority: string;
}) => Promise<Record<string, unknown>>;

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
}

export const APPLICANT_AAD = 'cases.applicant_enc';
export const ADDRESS_AAD = 'cases.delivery_address_enc';
export const MATERIAL_AAD = 'case_materials.content_enc';

export function today(deps: Pick<CaseDeps, 'now'>): CalendarDate {
  return chinaDate(deps.now());
}

export function personIndex(deps: Pick<CaseDeps, 'blindIndex'>, idNumber: string): string {
  return deps.blindIndex.of('id_number', idNumber);
}

export function sealPerson(deps: Pick<CaseDeps, 'cipher'>, p: Person): string {
  return deps.cipher.encrypt(JSON.stringify({ name: p.name, id_number: p.idNumber, phone: p.phone }), APPLICANT_AAD);
}

export function openPerson(deps: Pick<CaseDeps, 'cipher'>, sealed: string): Person {
  const p = JSON.parse(deps.cipher.decrypt(sealed, APPLICANT_AAD)) as { name: string; id_number: string; phone: string | null };
  return { name: p.name, idNumber: p.id_number, phone: p.phone };
}
