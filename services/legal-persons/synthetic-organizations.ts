/**
 * Synthetic organizations for the demo legal-person registry: names, types and unified social
 * credit codes that pass GB 32100 (registration authority, type, division code, check character).
 */
import { usccCheckCharacter } from '../../infra/identifiers.ts';
import type { Draw } from '../population/synthetic-persons.ts';

const USCC_BODY_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const DIVISIONS = ['440106', '440304', '320102', '320211', '330106', '110105'];
const PLACES = ['广州', '深圳', '南京', '无锡', '杭州', '北京'];
const WORDS = ['云帆', '启明', '华信', '恒通', '博远', '安泰', '海润', '众诚', '嘉禾', '新锐'];
const TRADES = ['科技', '贸易', '物流', '餐饮', '建设', '文化传媒', '医药'];
export const ORG_TYPES = ['有限责任公司', '股份有限公司', '个人独资企业', '农民专业合作社', '社会团体'] as const;

export interface SyntheticOrganization {
  uscc: string;
  name: string;
  type: string;
}

const pick = <T>(draw: Draw, list: readonly T[]) => list[draw.next(list.length)]!;

export function syntheticUscc(draw: Draw): string {
  // 9 = industry and commerce, 1 = enterprise; then the division code and the organization code.
  let body = `91${pick(draw, DIVISIONS)}`;
  for (let i = 0; i < 9; i++) body += USCC_BODY_CHARS[draw.next(USCC_BODY_CHARS.length)];
  return body + usccCheckCharacter(body);
}

export function syntheticOrganization(draw: Draw): SyntheticOrganization {
  const i = draw.next(PLACES.length);
  const type = pick(draw, ORG_TYPES);
  const suffix = type.endsWith('公司') ? type : `${pick(draw, TRADES)}${type}`;
  return {
    uscc: syntheticUscc(draw),
    name: `${PLACES[i]}${pick(draw, WORDS)}${type.endsWith('公司') ? pick(draw, TRADES) : ''}${suffix}`,
    type,
  };
}
