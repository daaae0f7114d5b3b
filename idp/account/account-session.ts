/**
 * The browser session of the OP's account area: signing in there (an ordinary authorization
 * request of the OP's first-party account client, so every login rule applies) and reading a
 * request of a signed-in person (its form fields, checked against the session's CSRF token, and
 * the page's locale).
 */
import type Koa from 'koa';
import { createHash } from 'node:crypto';
import { hmac, randomToken, safeEqual } from '../../infra/crypto.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { Forbidden } from '../../infra/errors.ts';
import { pickLocale, translator } from '../i18n.ts';
import type { AccountContext } from '../views/account-pages.ts';

export const ACCOUNT_CLIENT_ID = 'gov-id-account';
export const ACCOUNT_CALLBACK_PATH = '/account/callback';

/** Sends the browser to sign in at this OP for its account area. */
export function signInToAccount(ctx: Koa.Context, issuer: string): void {
  const query = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: issuer + ACCOUNT_CALLBACK_PATH,
    code_challenge: createHash('sha256').update(randomToken(32)).digest('base64url'),
    code_challenge_method: 'S256',
    state: randomToken(16),
    ...(typeof ctx.query.lang === 'string' ? { ui_locales: ctx.query.lang } : {}),
  });
  ctx.redirect(`/auth?${query}`);
}

export interface AccountRequest {
  page: AccountContext;
  body: Record<string, string | string[]>;
}

/** The form fields and page context of a request in the session `sessionUid`; a POST without its CSRF token is refused. */
export function accountRequest(ctx: Koa.Context, runtime: EntityRuntime, sessionUid: string): AccountRequest {
  const raw = (ctx.request.body ?? {}) as Record<string, string | string[]>;
  const body = typeof raw === 'object' ? raw : {};
  const csrf = hmac(runtime.macKey, `account-csrf:${sessionUid}`);
  if (ctx.method === 'POST' && !safeEqual(typeof body.csrf === 'string' ? body.csrf : '', csrf))
    throw new Forbidden('csrf', 'missing or wrong CSRF token');
  const lang = typeof body.lang === 'string' ? body.lang : typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  const locale = pickLocale(lang, ctx.get('accept-language'));
  return {
    body,
    page: {
      t: translator(locale),
      locale,
      siteName: runtime.self.name[locale],
      csrf,
      switchLanguageUrl: ctx.method === 'GET' ? ctx.path : undefined,
    },
  };
}
