/**
 * The portal's server-rendered pages: no scripts, no inline styles, one stylesheet from the
 * portal's own origin; landmarks, a skip link, and every action a real form button.
 */
import { html, type Html } from '../../infra/html.ts';
import { STYLESHEET_PATH } from './stylesheet.ts';
import { isMessageKey, type Locale, type MessageKey, type Translate } from '../i18n.ts';

export interface PageContext {
  t: Translate;
  locale: Locale;
  siteName: string;
  /** Where the language switch points (a GET path), on pages that have one. */
  switchLanguagePath?: string;
}

/** What the home page shows of a signed-in person (from the ID token). */
export interface SignedInView {
  name?: string;
  userType?: string;
  home?: string;
  acr?: string;
  orgName?: string;
  agentRole?: string;
  actName?: string;
  /** A recognized account (互认账号): registered at `home`, another platform. */
  recognized?: string;
}

export function layout(p: PageContext, title: string, body: Html): string {
  const other: Locale = p.locale === 'en' ? 'zh-CN' : 'en';
  const switcher = p.switchLanguagePath
    ? html`<a href="${p.switchLanguagePath}${p.switchLanguagePath.includes('?') ? '&' : '?'}lang=${other}" lang="${other}" hreflang="${other}">${p.t('text.language')}</a>`
    : '';
  return html`<!DOCTYPE html>
<html lang="${p.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${p.siteName}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<a class="skip" href="#main">${p.t('text.skip')}</a>
<header class="site"><a class="name" href="/">${p.siteName}</a>${switcher}</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`.value;
}

export const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;

export function label(p: PageContext, prefix: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = `${prefix}.${value}`;
  return isMessageKey(key) ? p.t(key) : value;
}

function acrLabel(p: PageContext, acr: string | undefined): Html | string {
  if (!acr) return '';
  const level = /:(\d)$/.exec(acr)?.[1];
  const key = `loa.${level}`;
  return isMessageKey(key) ? html`${p.t(key)} <code>${acr}</code>` : html`<code>${acr}</code>`;
}

export interface HomeView extends PageContext {
  csrf: string;
  /** The language the person chose explicitly (kept through the sign-in), if any. */
  lang?: Locale;
  opName: string;
  person: SignedInView | null;
  /** The name of the person's home platform, when the portal knows it (else its entity ID is shown). */
  homeName?: string;
  /** The catalog's part of the page: search, 我要办 and browse links. */
  catalog: Html;
}

const withLangOf = (v: HomeView, path: string) => (v.lang ? `${path}?lang=${v.lang}` : path);

export function homePage(v: HomeView): string {
  const keep = v.lang ? hidden('lang', v.lang) : '';
  if (!v.person) {
    return layout(
      v,
      v.siteName,
      html`<p class="lead">${v.t('text.welcome', { site: v.siteName })}</p>
<form class="inline" method="post" action="/login">
${hidden('csrf', v.csrf)}${keep}
<button type="submit">${v.t('action.login')}</button>
</form>
<form class="inline" method="post" action="/login">
${hidden('csrf', v.csrf)}${hidden('as', 'legal')}${keep}
<button type="submit" class="secondary">${v.t('action.login_legal')}</button>
</form>
<p class="hint">${v.t('text.login_provider', { op: v.opName })}</p>
<nav class="cases-links"><a href="/track">${v.t('action.track')}</a> <a href="${v.lang ? `/ratings?lang=${v.lang}` : '/ratings'}">${v.t('action.rating_figures')}</a> <a href="${withLangOf(v, '/licenses/verify')}">${v.t('action.verify_license')}</a></nav>
${v.catalog}`,
    );
  }
  const s = v.person;
  const row = (key: MessageKey, value: Html | string | undefined) => (value ? html`<dt>${v.t(key)}</dt><dd>${value}</dd>` : '');
  return layout(
    v,
    v.t('text.hello', { name: s.name ?? '' }),
    html`<p class="lead">${v.t('text.signed_in', { site: v.siteName })}</p>
<dl class="claims">
${row('field.name', s.name)}
${row('field.user_type', label(v, 'user_type', s.userType))}
${row('field.org_name', s.orgName)}
${row('field.agent_role', label(v, 'role', s.agentRole))}
${row('field.act', s.actName)}
${row('field.home', v.homeName ?? (s.home ? html`<code>${s.home}</code>` : undefined))}
${row('field.recognized', s.recognized ? v.t('text.recognized') : undefined)}
${row('field.acr', acrLabel(v, s.acr))}
</dl>
<nav class="cases-links"><a href="${v.lang ? `/my?lang=${v.lang}` : '/my'}">${v.t('action.my_space')}</a> <a href="${withLangOf(v, '/licenses')}">${v.t('action.my_licenses')}</a> <a href="/my-cases">${v.t('action.my_cases')}</a> <a href="/track">${v.t('action.track')}</a> <a href="/workbench">${v.t('action.workbench')}</a> <a href="${withLangOf(v, '/licenses/verify')}">${v.t('action.verify_license')}</a> <a href="${withLangOf(v, '/data-use')}">${v.t('action.data_use')}</a></nav>
<form method="post" action="/logout">
${hidden('csrf', v.csrf)}${keep}
<button type="submit">${v.t('action.logout')}</button>
</form>
${v.catalog}
<p><a href="${v.lang ? `/ratings?lang=${v.lang}` : '/ratings'}">${v.t('action.rating_figures')}</a></p>`,
  );
}

export interface ErrorView extends PageContext {
  title: MessageKey;
  message: string;
  /** The OAuth error code (e.g. access_denied), shown for support. */
  code?: string;
  description?: string;
}

export function errorPage(v: ErrorView): string {
  return layout(
    v,
    v.t(v.title),
    html`<p class="error" role="alert">${v.message}</p>
${v.code ? html`<p class="hint">${v.t('text.error_code')}: <code>${v.code}</code>${v.description ? html` — ${v.description}` : ''}</p>` : ''}
<p><a href="/">${v.t('action.home')}</a></p>`,
  );
}
