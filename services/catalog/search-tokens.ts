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
export const MAX_QUERY_LENGTH = 100;

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

function quoted(lexeme: string): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** A tsquery text that requires every lexeme. */
export function allOf(lexemes: string[]): string {
  return lexemes.map(quoted).join(' & ');
}

/** A tsquery text that any lexeme satisfies (candidates for typo-tolerant matching). */
export function anyOf(lexemes: string[]): string {
  return lexemes.map(quoted).join(' | ');
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
