/**
 * Synthetic natural persons for the demo population registry: plausible names, ID numbers that
 * pass GB 11643 (real division codes, valid birth dates, correct check digit) and mobile numbers.
 * A seeded generator makes the demo data identical on every machine.
 */
import { randomInt } from 'node:crypto';
import { idNumberCheckDigit } from '../../infra/identifiers.ts';

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '梁'];
const GIVEN = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀英',
  '霞',
  '平',
  '刚',
  '桂英',
  '晓东',
  '嘉怡',
  '子轩',
  '雨涵',
  '浩然',
  '欣怡',
];
/** County-level division codes (GB/T 2260) in the demo provinces and the capital. */
const DIVISIONS = ['440106', '440104', '440304', '440305', '320102', '320104', '320211', '330106', '330102', '110101', '110105'];

export interface SyntheticPerson {
  name: string;
  idNumber: string;
  phone: string;
}

/** A number source: `next(n)` returns an integer in [0, n). */
export interface Draw {
  next(n: number): number;
}

/** mulberry32: small, fast, and good enough for demo data (never for secrets). */
export function seededDraw(seed: number): Draw {
  let a = seed >>> 0;
  return {
    next(n: number) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    },
  };
}

export const randomDraw: Draw = { next: (n) => randomInt(n) };

const pick = <T>(draw: Draw, list: readonly T[]) => list[draw.next(list.length)]!;
const digits = (draw: Draw, count: number) => Array.from({ length: count }, () => draw.next(10)).join('');

export function syntheticIdNumber(draw: Draw): string {
  const year = 1950 + draw.next(56);
  const month = 1 + draw.next(12);
  const day = 1 + draw.next(28);
  const first17 = `${pick(draw, DIVISIONS)}${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}${digits(draw, 3)}`;
  return first17 + idNumberCheckDigit(first17);
}

export function syntheticPerson(draw: Draw, name?: string): SyntheticPerson {
  return {
    name: name ?? pick(draw, SURNAMES) + pick(draw, GIVEN),
    idNumber: syntheticIdNumber(draw),
    phone: `1${3 + draw.next(7)}${digits(draw, 9)}`,
  };
}
