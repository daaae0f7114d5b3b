/**
 * Identifiers of people, validated the way the standards define them. Shared by the OPs and the
 * base registries. Errors are specific so that forms can tell the user exactly what is wrong.
 */

import { BadRequest } from './errors.ts';

/** Why an identifier was refused; the code doubles as the i18n message key. */
export type IdentifierProblem = 'id_number_format' | 'id_number_region' | 'id_number_birth_date' | 'id_number_check_digit' | 'phone_format';

/** An ID number or phone that is not one; a request carrying it is a 400 invalid_request naming the problem. */
export class InvalidIdentifier extends BadRequest {
  constructor(readonly problem: IdentifierProblem) {
    super('invalid_request', problem);
  }
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/** GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits. */
export function idNumberCheckDigit(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11]!;
}

/** Returns the normalized ID number (upper-case X) or throws InvalidIdentifier. */
export function parseIdNumber(input: string): string {
  const value = input.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(value)) throw new InvalidIdentifier('id_number_format');
  // Administrative division codes start with 1-8 (GB/T 2260).
  if (!/^[1-8]\d{5}/.test(value)) throw new InvalidIdentifier('id_number_region');
  const y = Number(value.slice(6, 10));
  const m = Number(value.slice(10, 12));
  const d = Number(value.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  // "Not in the future" is judged by the calendar in China (UTC+8), where the numbers are issued.
  const todayInChina = Date.now() + 8 * 3600_000;
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || date.getTime() > todayInChina) {
    throw new InvalidIdentifier('id_number_birth_date');
  }
  if (idNumberCheckDigit(value) !== value[17]) throw new InvalidIdentifier('id_number_check_digit');
  return value;
}

export function isIdNumber(input: string): boolean {
  try {
    parseIdNumber(input);
    return true;
  } catch {
    return false;
  }
}

/** Mainland mobile numbers, with or without +86; returns the 11-digit form. */
export function parsePhone(input: string): string {
  const value = input.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, '');
  if (!/^1[3-9]\d{9}$/.test(value)) throw new InvalidIdentifier('phone_format');
  return value;
}

/** Shows enough of an identifier for a person to recognize it, never the whole. */
export function maskIdNumber(idNumber: string): string {
  return `${idNumber.slice(0, 3)}***********${idNumber.slice(14)}`;
}

export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}****${phone.slice(7)}`;
}

/** GB 32100-2015 character set: digits and capitals without I, O, S, V, Z (31 characters). */
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export type UsccProblem = 'uscc_format' | 'uscc_check_character';

/** A unified social credit code that is not one; a request carrying it is a 400 invalid_request naming the problem. */
export class InvalidUscc extends BadRequest {
  constructor(readonly problem: UsccProblem) {
    super('invalid_request', problem);
  }
}

/** GB 32100-2015: weighted sum mod 31 over the first 17 characters. */
export function usccCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(first17[i]!) * USCC_WEIGHTS[i]!;
  return USCC_CHARS[(31 - (sum % 31)) % 31]!;
}

/** Returns the normalized unified social credit code (upper case) or throws InvalidUscc. */
export function parseUscc(input: string): string {
  const value = input.trim().toUpperCase();
  // Registration authority (1-9, A-H, N, Y), organization type, 6-digit division code, 9-character organization code, check character.
  if (!/^[1-9A-HNY][0-9A-HJ-NP-RTUW-Y]\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$/.test(value)) throw new InvalidUscc('uscc_format');
  if (usccCheckCharacter(value) !== value[17]) throw new InvalidUscc('uscc_check_character');
  return value;
}
