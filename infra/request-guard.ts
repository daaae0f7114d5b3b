/**
 * The edge guard: request values no field can hold are refused before any handler, store or
 * query sees them. PostgreSQL text cannot hold NUL (0x00) at all, and no field of ours holds the
 * other C0 controls (TAB, CR and LF excepted: a text area may hold them) or a lone UTF-16
 * surrogate, which has no UTF-8 form. createApp checks every query string; the body readers
 * (request-body.ts) check every body they parse.
 */
import type Koa from 'koa';
import { BadRequest } from './errors.ts';

const UNFIT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string holds a character no field of ours can hold. */
export function hasUnfitCharacter(value: string): boolean {
  return UNFIT.test(value);
}

/** Nesting beyond this is refused too: no request of ours is deeper. */
const MAX_DEPTH = 16;

/** The name of the first field (key or value, at any depth) holding such a character, or null. */
export function unfitField(value: unknown, field = '', depth = 0): string | null {
  if (typeof value === 'string') return hasUnfitCharacter(value) ? field || 'body' : null;
  if (value === null || typeof value !== 'object') return null;
  if (depth > MAX_DEPTH) return field || 'body';
  for (const [key, item] of Object.entries(value)) {
    const name = Array.isArray(value) ? `${field}[${key}]` : field ? `${field}.${key}` : key;
    if (hasUnfitCharacter(key)) return field ? `${field}.(a key)` : '(a key)';
    const found = unfitField(item, name, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Throws the 400 that names the field (as validate() does), if any value holds an unfit character. */
export function refuseUnfitInput(value: unknown): void {
  const field = unfitField(value);
  if (field)
    throw new BadRequest('invalid_request', `${field}: contains a character that is not allowed (a control character or an invalid one)`);
}

/** createApp's first middleware after the error mapping: every query string is checked. */
export const requestGuard: Koa.Middleware = async (ctx, next) => {
  if (ctx.querystring) refuseUnfitInput(ctx.query);
  await next();
};
