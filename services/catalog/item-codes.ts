/**
 * Item codes, modelled on GB/T 39554.1 (政务服务事项基本目录及实施清单 第1部分：编码要求). The
 * standard's text was not at hand; its elements are: a basic code (基本编码) made of the item type
 * code, the competent department's code and the main- and sub-item sequences; an implementing code
 * (实施编码) made of the implementing authority's unified social credit code, the tier that holds
 * the power and the basic code; a handling item code (业务办理项编码) extending an implementing
 * code with a sequence. The widths below are ours (docs/catalog.md):
 *
 *   basic code        TT DDDD MMM SSS              12 digits
 *   implementing code <USCC 18> L <basic code 12>  31 characters, L: 1 national, 2 province, 3 city
 *   handling code     <implementing code 31> HH    33 characters
 *
 * A problem is reported with the element's name, so a person can find what to fix.
 */
import { InvalidUscc, parseUscc } from '../../infra/identifiers.ts';

export const TIER_DIGITS = { national: '1', province: '2', city: '3' } as const;
const ITEM_TYPE_CODES = new Set(['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '20']);

export interface BasicCode {
  typeCode: string;
  department: string;
  mainSequence: string;
  subSequence: string;
}

export interface ImplementingCode {
  authority: string;
  tierDigit: string;
  basicCode: string;
}

/** Null when the code is a well-formed unified social credit code (GB 32100), else what is wrong. */
export function usccProblem(code: string): string | null {
  try {
    parseUscc(code);
    return code === code.trim().toUpperCase() ? null : 'authority code: write it in capitals without spaces';
  } catch (err) {
    if (!(err instanceof InvalidUscc)) throw err;
    return err.problem === 'uscc_format'
      ? 'authority code: not an 18-character unified social credit code'
      : 'authority code: the check character (18th) does not match';
  }
}

export function basicCodeProblem(code: string): string | null {
  if (!/^\d{12}$/.test(code)) return 'basic code: 12 digits (item type 2, department 4, main item 3, sub-item 3)';
  if (!ITEM_TYPE_CODES.has(code.slice(0, 2)))
    return `basic code: item type code (digits 1-2) "${code.slice(0, 2)}" is not one of ${[...ITEM_TYPE_CODES].join(', ')}`;
  if (code.slice(6, 9) === '000') return 'basic code: main item sequence (digits 7-9) starts at 001';
  return null;
}

export function parseBasicCode(code: string): BasicCode {
  return { typeCode: code.slice(0, 2), department: code.slice(2, 6), mainSequence: code.slice(6, 9), subSequence: code.slice(9, 12) };
}

/** The basic code of the main item a sub-item belongs to; null for a main item. */
export function mainItemOf(basicCode: string): string | null {
  return basicCode.endsWith('000') ? null : `${basicCode.slice(0, 9)}000`;
}

export function implementingCodeProblem(code: string): string | null {
  if (code.length !== 31) return 'implementing code: 31 characters (authority code 18, tier 1, basic code 12)';
  const authority = usccProblem(code.slice(0, 18));
  if (authority) return `implementing code: characters 1-18 are the implementing ${authority}`;
  if (!Object.values(TIER_DIGITS).includes(code[18] as '1'))
    return `implementing code: tier (character 19) "${code[18]}" is not 1 (national), 2 (province) or 3 (city)`;
  const basic = basicCodeProblem(code.slice(19));
  return basic ? `implementing code: characters 20-31 are the ${basic}` : null;
}

export function parseImplementingCode(code: string): ImplementingCode {
  return { authority: code.slice(0, 18), tierDigit: code[18]!, basicCode: code.slice(19, 31) };
}

export function handlingCodeProblem(code: string): string | null {
  if (code.length !== 33) return 'handling item code: 33 characters (the implementing code 31, handling sequence 2)';
  const parent = implementingCodeProblem(code.slice(0, 31));
  if (parent) return `handling item code: ${parent}`;
  if (!/^\d\d$/.test(code.slice(31)) || code.slice(31) === '00')
    return 'handling item code: handling sequence (characters 32-33) is 01 to 99';
  return null;
}
