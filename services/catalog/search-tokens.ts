/**
 * Search tokens for Chinese text that PGlite and PostgreSQL index alike: runs of CJK characters
 * become their unigrams and bigrams (so one- and two-character queries match), Latin letters and
 * digits become lowercase words; everything else separates tokens. Documents are stored as a
 * tsvector of these tokens ('simple' configuration); queries are built from the same tokens as
 * quoted lexemes, so user text is never read as tsquery syntax.
 */
import { BadRequest } from '../../infra/errors.ts';

const TOKEN_RUN = /[\p{Script=Han}]+|[\p{Script=Latin}\d]+/gu;
const IS_CJK = /^\p{Script=Han}/u;
const MAX_QUERY_LENGTH = 100;

/** Runs of CJK characters, and runs of Latin letters and digits. */
function runs(text: string): string[] {
  return text.normalize('NFKC').match(TOKEN_RUN) ?? [];
}

/** Each CJK run gives its unigrams then its bigrams; Latin and digit runs give one lowercase word each. */
export function documentTokens(text: string): string {
  const tokens: string[] = [];
  for (const run of runs(text)) {
    if (!IS_CJK.test(run)) {
      tokens.push(run.toLowerCase());
      continue;
    }
    const chars = [...run];
    tokens.push(...chars);
    for (let i = 0; i + 1 < chars.length; i++) tokens.push(chars[i]! + chars[i + 1]!);
  }
  return tokens.join(' ');
}

/** The lexemes a query must match: a lone CJK character itself, longer runs their bigrams. */
export function queryLexemes(text: string): string[] {
  const lexemes: string[] = [];
  for (const run of runs(text)) {
    if (!IS_CJK.test(run)) {
      lexemes.push(run.toLowerCase());
      continue;
    }
    const chars = [...run];
    if (chars.length === 1) lexemes.push(chars[0]!);
    for (let i = 0; i + 1 < chars.length; i++) lexemes.push(chars[i]! + chars[i + 1]!);
  }
  return [...new Set(lexemes)];
}

/** A lexeme as tsquery text, quoted, optionally restricted to weights (A name, B other names). */
function quoted(lexeme: string, weights = ''): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'${weights ? `:${weights}` : ''}`;
}

/** A tsquery text that requires every lexeme (in the given weights). */
export function allOf(lexemes: string[], weights = ''): string {
  return lexemes.map((l) => quoted(l, weights)).join(' & ');
}

/** A tsquery text that any lexeme satisfies (in the given weights). */
export function anyOf(lexemes: string[], weights = ''): string {
  return lexemes.map((l) => quoted(l, weights)).join(' | ');
}

/**
 * A tsquery text that any two of the lexemes satisfy together (the first 12 lexemes), or any one
 * when there are only two: the candidates a typo-tolerant match compares, few enough to compare.
 */
export function twoOf(lexemes: string[], weights = ''): string {
  const head = lexemes.slice(0, 12);
  if (head.length <= 2) return anyOf(head, weights);
  const pairs: string[] = [];
  for (let i = 0; i < head.length; i++) for (let j = i + 1; j < head.length; j++) pairs.push(`(${allOf([head[i]!, head[j]!], weights)})`);
  return pairs.join(' | ');
}

/** A query a person typed, checked: a 400 that says what is wrong, or the text and its lexemes. */
export function parseQuery(raw: unknown): { text: string; lexemes: string[] } {
  if (typeof raw !== 'string' || raw.trim() === '') throw new BadRequest('invalid_query', 'q: type what you are looking for');
  if ([...raw].length > MAX_QUERY_LENGTH) throw new BadRequest('invalid_query', `q: at most ${MAX_QUERY_LENGTH} characters`);
  if (/\p{Cc}/u.test(raw)) throw new BadRequest('invalid_query', 'q: contains control characters');
  const text = raw.normalize('NFKC').trim();
  const lexemes = queryLexemes(text);
  if (lexemes.length === 0) throw new BadRequest('invalid_query', 'q: has no letters, digits or Chinese characters to search for');
  return { text, lexemes };
}
