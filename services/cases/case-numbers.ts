/**
 * Case numbers (办件编号): the receiving platform's code, the day of receipt in China, a sequence
 * of that platform and day, and an ISO 7064 MOD 37,36 check character, e.g. GZ-20261204-000042-J.
 * Platform codes are unique in the federation's topology and each platform numbers its own cases,
 * so a number is unique federation-wide; the check character catches a mistyped number before any
 * lookup. The sequence comes from the database (migrations/services/006), inside the caller's
 * transaction.
 */
import type { Queryable } from '../../infra/database.ts';
import { BadRequest } from '../../infra/errors.ts';
import type { CalendarDate } from './working-calendar.ts';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const M = 36;

/** ISO 7064 hybrid system MOD 37,36 over digits and upper-case letters. */
export function checkCharacter(body: string): string {
  let p = M;
  for (const ch of body) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new Error(`not a check-character symbol: ${ch}`);
    const s = (p + v) % M || M;
    p = (2 * s) % (M + 1);
  }
  return ALPHABET[(M + 1 - p) % M]!;
}

const NUMBER = /^([A-Z][A-Z0-9]{1,15})-(\d{8})-(\d{6,})-([0-9A-Z])$/;

export function formatCaseNumber(platform: string, day: CalendarDate, sequence: number): string {
  const body = `${platform.toUpperCase()}-${day.replaceAll('-', '')}-${String(sequence).padStart(6, '0')}`;
  return `${body}-${checkCharacter(body.replaceAll('-', ''))}`;
}

/** A case number as typed (spaces, lower case allowed), normalized; a 400 names what is wrong. */
export function parseCaseNumber(input: unknown): string {
  const value = typeof input === 'string' ? input.replace(/\s+/g, '').toUpperCase() : '';
  const m = NUMBER.exec(value);
  if (!m) throw new BadRequest('invalid_case_number', 'number: a case number looks like GZ-20261204-000042-J');
  if (checkCharacter(`${m[1]}${m[2]}${m[3]}`) !== m[4])
    throw new BadRequest('invalid_case_number', 'number: the check character does not match; look at the number again');
  return value;
}

/** The next number of the platform for the day, taken in the caller's transaction. */
export async function nextCaseNumber(tx: Queryable, platform: string, day: CalendarDate): Promise<string> {
  const { rows } = await tx.query<{ last: number }>(
    `INSERT INTO case_number_counters (day, last) VALUES ($1, 1)
     ON CONFLICT (day) DO UPDATE SET last = case_number_counters.last + 1 RETURNING last`,
    [day],
  );
  return formatCaseNumber(platform, day, rows[0]!.last);
}
