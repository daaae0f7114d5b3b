/**
 * What every interaction route needs: the interaction being served (checked against the cookie
 * and the URL), its locale, CSRF token and page renderer.
 */
import type Koa from 'koa';
import type { Interaction } from 'oidc-provider';
import { hmac, safeEqual } from '../../infra/crypto.ts';
import { Forbidden, HttpError } from '../../infra/errors.ts';
import { ProtocolStateUnavailable } from '../oidc/artifact-adapter.ts';
import { pickLocale, translator, type Locale, type Translate } from '../i18n.ts';
import type { FormContext } from '../views/pages.ts';
import { brandStylesheetPath } from '../views/stylesheet.ts';
import type { OpDependencies } from '../op-dependencies.ts';

export class InteractionExpired extends HttpError {
  constructor() {
    super(400, 'session_expired', 'the login session expired or belongs to another browser');
  }
}

export interface InteractionScope {
  details: Interaction;
  locale: Locale;
  t: Translate;
  form: FormContext;
  clientName: string;
  /** Form fields as single strings (a repeated field is refused, never merged). */
  body: Record<string, string>;
}

function formFields(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if (typeof v === 'string') out[k] = v;
      else throw new Forbidden('invalid_request', `form field ${k} must be given once`);
    }
  }
  return out;
}

export function csrfToken(macKey: Buffer, uid: string): string {
  return hmac(macKey, `csrf:${uid}`);
}

/** Loads the interaction this request belongs to; throws InteractionExpired or Forbidden (CSRF). */
export async function interactionScope(ctx: Koa.Context, deps: OpDependencies): Promise<InteractionScope> {
  let details: Interaction;
  try {
    details = await deps.provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    // A store outage is not an expired login: it is answered as such (op-app.ts).
    if (err instanceof ProtocolStateUnavailable) throw err;
    throw new InteractionExpired();
  }
  // The cookie names the interaction; the URL must name the same one.
  if (details.uid !== ctx.params.uid) throw new InteractionExpired();
  const body = ctx.method === 'POST' ? formFields(ctx.request.body) : {};
  const csrf = csrfToken(deps.runtime.macKey, details.uid);
  if (ctx.method === 'POST' && !safeEqual(body.csrf ?? '', csrf)) throw new Forbidden('csrf', 'missing or wrong CSRF token');
  const locale = pickLocale(
    body.lang,
    typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined,
    String(details.params.ui_locales ?? ''),
    ctx.get('accept-language'),
  );
  const t = translator(locale);
  const client = await deps.provider.Client.find(String(details.params.client_id));
  const action = `/interaction/${details.uid}`;
  return {
    details,
    locale,
    t,
    body,
    clientName: client?.clientName ?? String(details.params.client_id),
    form: {
      t,
      locale,
      siteName: siteNameFor(deps, String(details.params.client_id), locale),
      ...brandOf(deps, String(details.params.client_id)),
      action,
      csrf,
      switchLanguageUrl: ctx.method === 'GET' ? ctx.path : undefined,
    },
  };
}

/** The name on the pages: the city's, for a city portal in hybrid mode, with this platform's behind it. */
export function siteNameFor(deps: OpDependencies, clientId: string, locale: Locale): string {
  const city = deps.cityPortals.get(clientId);
  const own = deps.runtime.self.name[locale];
  return city ? `${city.name[locale]}${locale === 'en' ? ` (${own})` : `（${own}）`}` : own;
}

function brandOf(deps: OpDependencies, clientId: string): { brandStylesheet?: string } {
  const city = deps.cityPortals.get(clientId);
  return city?.color ? { brandStylesheet: brandStylesheetPath(city.code) } : {};
}

export function sendPage(ctx: Koa.Context, page: string, status = 200) {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = page;
}
