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
  const details = await loaded(deps.provider.interactionDetails(ctx.req, ctx.res));
  // The cookie names the interaction; the URL must name the same one.
  if (details.uid !== ctx.params.uid) throw new InteractionExpired();
  return scopeOf(ctx, deps, details);
}

/**
 * The interaction `uid`, for a request that showed otherwise that it comes from the browser of that
 * interaction (a neighbour's answer: login/hop-binding.ts). The checks are those oidc-provider makes
 * when it finds the interaction by its cookie: it exists, and its browser session still does, with
 * the same person signed in.
 */
export async function boundInteractionScope(ctx: Koa.Context, deps: OpDependencies, uid: string): Promise<InteractionScope> {
  const { Interaction, Session } = deps.provider;
  const details = await loaded(
    (async () => {
      const interaction = await Interaction.find(uid);
      if (!interaction) throw new InteractionExpired();
      if (interaction.session?.uid) {
        const session = await Session.findByUid(interaction.session.uid);
        if (!session || session.accountId !== interaction.session.accountId) throw new InteractionExpired();
      }
      return interaction;
    })(),
  );
  return scopeOf(ctx, deps, details);
}

/** The interaction loaded; any failure but a store outage (answered as such, op-app.ts) is an expired login. */
async function loaded(finding: Promise<Interaction>): Promise<Interaction> {
  try {
    return await finding;
  } catch (err) {
    if (err instanceof ProtocolStateUnavailable) throw err;
    throw new InteractionExpired();
  }
}

async function scopeOf(ctx: Koa.Context, deps: OpDependencies, details: Interaction): Promise<InteractionScope> {
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
