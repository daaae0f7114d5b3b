/**
 * Answers offered before a question goes to staff (有疑就问): the item's FAQ entries and the
 * sections of its guide that match the question, found with the catalog's search tokens
 * (search-tokens.ts): the FAQ is stored as a weighted tsvector and narrowed by the index, then
 * every candidate is scored by how much of the question it covers. A question is written in
 * sentences, so its question words (请问, 怎么, 什么, 哪里 …) are taken out first: what is left
 * are the words that name what is asked about.
 */
import type { Queryable } from '../../infra/database.ts';
import { anyOf, documentTokens, queryLexemes } from '../catalog/search-tokens.ts';
import type { Guide } from '../catalog/guide.ts';

/** Question words and particles, longest first, taken out of a question before its lexemes are made. */
const QUESTION_WORDS = [
  '请问一下',
  '请问',
  '问一下',
  '在哪里',
  '在哪儿',
  '哪里',
  '哪儿',
  '在哪',
  '怎么样',
  '怎么',
  '怎样',
  '如何',
  '什么',
  '哪些',
  '多少',
  '多久',
  '需要',
  '是否',
  '可以',
  '能否',
  '能不能',
  '有没有',
  '我想',
  '我要',
  '吗',
  '呢',
  '吧',
  '啊',
  '要',
  '的',
  '了',
];
/** Lexemes every guide and answer is full of: they tell nothing apart. */
const COMMON_LEXEMES = new Set(['办理', '申请', '事项', '政务', '服务']);

const MIN_COVERAGE = 0.6;
const MAX_FAQ = 3;
const MAX_SECTIONS = 2;

/** What a question asks about: its lexemes without question words. */
export function questionLexemes(text: string): string[] {
  let rest = text.normalize('NFKC');
  for (const w of QUESTION_WORDS) rest = rest.split(w).join(' ');
  return queryLexemes(rest).filter((l) => !COMMON_LEXEMES.has(l));
}

/** Share of the question's lexemes a document's tokens hold. */
function coverage(lexemes: readonly string[], tokens: ReadonlySet<string>): number {
  return lexemes.length === 0 ? 0 : lexemes.filter((l) => tokens.has(l)).length / lexemes.length;
}

const tokenSet = (text: string) => new Set(documentTokens(text).split(' '));

/** A guide section's value as plain text (lists and records joined). */
export function sectionText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (Array.isArray(value)) return value.map(sectionText).filter(Boolean).join('；');
  return Object.values(value as Record<string, unknown>)
    .map(sectionText)
    .filter(Boolean)
    .join('，');
}

export interface FaqOffer {
  kind: 'faq';
  id: string;
  question: string;
  answer: string;
  score: number;
}

export interface GuideOffer {
  kind: 'guide';
  key: string;
  label: { 'zh-CN': string; en: string };
  text: string;
  score: number;
}

export type Offer = FaqOffer | GuideOffer;

const rounded = (n: number) => Math.round(n * 100) / 100;

/** FAQ entries of the item that answer the question, best first. */
export async function faqOffers(db: Queryable, itemCode: string, lexemes: string[]): Promise<FaqOffer[]> {
  if (lexemes.length === 0) return [];
  const { rows } = await db.query<{ id: string; question: string; answer: string }>(
    `SELECT id::text AS id, question, answer FROM item_faq
     WHERE item_code = $1 AND search_tokens @@ to_tsquery('simple', $2)
     ORDER BY ts_rank(search_tokens, to_tsquery('simple', $2)) DESC, id LIMIT 50`,
    [itemCode, anyOf(lexemes)],
  );
  return rows
    .map((r) => ({ kind: 'faq' as const, ...r, score: rounded(coverage(lexemes, tokenSet(r.question))) }))
    .filter((o) => o.score >= MIN_COVERAGE)
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_FAQ);
}

/**
 * Sections of the guide that answer the question: those whose title names what is asked about
 * (材料, 地点, 收费 …), or whose text covers most of the question.
 */
export function guideOffers(guide: Guide, lexemes: string[]): GuideOffer[] {
  if (lexemes.length === 0) return [];
  return guide.sections
    .map((s) => {
      const text = sectionText(s.value);
      const titled = lexemes.filter((l) => tokenSet(s.label['zh-CN']).has(l)).length;
      const covered = coverage(lexemes, tokenSet(`${s.label['zh-CN']} ${text}`));
      return { kind: 'guide' as const, key: s.key, label: s.label, text, score: rounded(covered + titled), titled };
    })
    .filter((o) => o.text && (o.titled > 0 || o.score >= MIN_COVERAGE))
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_SECTIONS)
    .map(({ titled: _titled, ...o }) => o);
}

/** The search tokens an FAQ entry is stored with: A its question, B its answer. */
export function faqTokens(question: string, answer: string): { question: string; answer: string } {
  return { question: documentTokens(question), answer: documentTokens(answer) };
}
