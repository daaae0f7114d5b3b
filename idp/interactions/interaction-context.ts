/**
 * What every interaction route needs: the dependencies of the OP, the interaction being served
 * (checked against the cookie and the URL), its locale, CSRF token and page renderer.
 */
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { hmac, safeEqual } from '../../infra/crypto.ts';
import { Forbidden, HttpError } from '../../infra/errors.ts';
import { pickLocale, translator, type Locale, type Translate } from '../i18n.ts';
import type { NaturalPersonAccounts } from '../accounts/natural-person-accounts.ts';
import type { LegalPersonAccounts } from '../accounts/legal-person-accounts.ts';
import type { LoginThrottle } from '../accounts/login-throttle.ts';
import type { OneTimeCodes } from '../accounts/one-time-codes.ts';
import type { ServicesClient } from '../services-client.ts';
import type { LoaLevel } from '../loa.ts';
import type { FormContext } from '../views/pages.ts';
import type { RecognizedAccounts, RecognizedKind } from '../accounts/recognized-accounts.ts';
import type { CrossTierLogin } from '../broker/cross-tier-login.ts';
import type { Relocation } from '../broker/relocation.ts';
import { endedSessionKey } from '../broker/session-termination.ts';

/** What an OP that takes part in mutual recognition has (every OP of a federation does). */
export interface RecognitionDependencies {
  login: CrossTierLogin;
  /** Moving an account's home to another OP (by its administrator, or by the person). */
  relocation: Relocation;
  /** The registry of homes: where an ID number or USCC is registered (asked city → province → national). */
  homes: { lookup(kind: RecognizedKind, identifier: string): Promise<string | null> };
  /** OPs of the federation: only they may name the home of a request (`home_hint`). */
  isBroker(entityId: string): boolean;
  /** The OPs of the federation a person may have their account at (for the chooser). */
  platforms(): string[];
  /** The display name of a platform of the federation (its entity ID when unknown). */
  siteName(entityId: string, locale: Locale): string;
}

/** A hybrid-mode city portal whose people sign in on this OP's pages, in the city's name and colours. */
export interface CityPortal {
  code: string;
  name: { 'zh-CN': string; en: string };
  color?: string;
}

/** The stylesheet carrying a city's brand colour. */
export const brandStylesheetPath = (code: string) => `/assets/brand/${code}.css`;

export interface OpDependencies {
  provider: Provider;
  runtime: EntityRuntime;
  accounts: NaturalPersonAccounts;
  legalPersons: LegalPersonAccounts;
  throttle: LoginThrottle;
  otp: OneTimeCodes;
  services: ServicesClient;
  acrUris: Record<LoaLevel, string>;
  /** People and organizations whose home is elsewhere, linked here. */
  recognized: RecognizedAccounts;
  /** Absent on an OP outside any federation (it then knows its own accounts only). */
  recognition?: RecognitionDependencies;
  /**
   * Hybrid mode (统分): the portals of this province's cities, by client ID. Their people sign in
   * on this OP's pages, shown in the city's name.
   */
  cityPortals: ReadonlyMap<string, CityPortal>;
}

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
  } catch {
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

/** Ends the interaction and sends the browser back to the authorization endpoint (303). */
export async function finishInteraction(
  ctx: Koa.Context,
  deps: OpDependencies,
  s: InteractionScope,
  result: Record<string, unknown>,
  merge = false,
) {
  // A fresh login: the browser session is good again even if a logout from elsewhere had ended it.
  const sessionUid = s.details.session?.uid;
  if (result.login && sessionUid) await deps.runtime.kv.del(endedSessionKey(sessionUid));
  const returnTo = await deps.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.redirect(returnTo);
  ctx.status = 303;
}
