/**
 * What people write (a comment, a complaint, a question, an answer, a call-back note): checked
 * before anything is stored. Pages show it escaped whatever it holds; markup is refused all the
 * same, so that no record ever carries a script to a reader that might not escape it.
 */
import { BadRequest } from '../../infra/errors.ts';

/** A tag, a comment or declaration opener, a javascript: link or an event handler attribute. */
const MARKUP = /<\s*\/?\s*[a-z!?]|javascript\s*:|\bon[a-z]+\s*=/i;
/** Control characters other than tab and line breaks. */
const CONTROL = /[^\P{Cc}\t\n\r]/u;

/**
 * The text of `field`, normalized and trimmed, or null when absent or blank (unless required).
 * Refusals: 400 `text_too_long` (more than `max` characters), `markup_not_allowed`, `invalid_request`.
 */
export function freeText(field: string, raw: unknown, max: number, required = false): string | null {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    if (required) throw new BadRequest('invalid_request', `${field}: required`, { details: { field } });
    return null;
  }
  if (typeof raw !== 'string') throw new BadRequest('invalid_request', `${field}: text expected`, { details: { field } });
  const text = raw.normalize('NFC').trim();
  const length = [...text].length;
  if (length > max)
    throw new BadRequest('text_too_long', `${field}: at most ${max} characters (this one has ${length})`, { details: { field, max } });
  if (CONTROL.test(text)) throw new BadRequest('invalid_request', `${field}: contains control characters`, { details: { field } });
  if (MARKUP.test(text))
    throw new BadRequest('markup_not_allowed', `${field}: plain text only; markup and scripts are not accepted`, { details: { field } });
  return text;
}
