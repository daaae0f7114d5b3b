/**
 * The OP's server-rendered pages. Accessible forms (every input has a label, errors are tied to
 * their field with aria-describedby), no scripts, one external stylesheet.
 */
import { Html, html } from '../../infra/html.ts';
import { STYLESHEET_PATH } from './stylesheet.ts';
import { isMessageKey, type Locale, type MessageKey, type Translate } from '../i18n.ts';

export interface PageContext {
  t: Translate;
  locale: Locale;
  siteName: string;
  /** Where the language switch points (a GET URL), when the page has one. */
  switchLanguageUrl?: string;
  /** A city's brand stylesheet (hybrid mode), on top of the OP's own. */
  brandStylesheet?: string;
}

export interface FormContext extends PageContext {
  action: string;
  csrf: string;
}

export function layout(p: PageContext, title: MessageKey, body: Html): string {
  const other = p.locale === 'en' ? 'zh-CN' : 'en';
  const switcher = p.switchLanguageUrl
    ? html`<a href="${p.switchLanguageUrl}${p.switchLanguageUrl.includes('?') ? '&' : '?'}lang=${other}" lang="${other}">${p.t('text.language')}</a>`
    : '';
  return html`<!DOCTYPE html>
<html lang="${p.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.t(title)} · ${p.siteName}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">${
    p.brandStylesheet
      ? html`
<link rel="stylesheet" href="${p.brandStylesheet}">`
      : ''
  }
</head>
<body>
<header class="site"><span>${p.siteName}</span>${switcher}</header>
<main>
<h1>${p.t(title)}</h1>
${body}
</main>
</body>
</html>`.value;
}

export const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;

export function alert(p: PageContext, error?: MessageKey, vars?: Record<string, string | number>): Html | string {
  return error ? html`<p class="error" role="alert" id="form-error">${p.t(error, vars)}</p>` : '';
}

interface FieldSpec {
  name: string;
  label: MessageKey;
  type?: 'text' | 'password' | 'tel';
  value?: string;
  autocomplete?: string;
  hint?: MessageKey;
  error?: MessageKey;
  required?: boolean;
  inputmode?: string;
  maxlength?: number;
}

export function field(p: PageContext, f: FieldSpec): Html {
  const described = [f.hint ? `${f.name}-hint` : '', f.error ? `${f.name}-error` : ''].filter(Boolean).join(' ');
  return html`<label for="${f.name}">${p.t(f.label)}</label>
<input id="${f.name}" name="${f.name}" type="${f.type ?? 'text'}" value="${f.value ?? ''}" autocomplete="${f.autocomplete ?? 'off'}"${f.required === false ? '' : html` required`}${f.inputmode ? html` inputmode="${f.inputmode}"` : ''}${f.maxlength ? html` maxlength="${f.maxlength}"` : ''}${described ? html` aria-describedby="${described}"` : ''}${f.error ? html` aria-invalid="true"` : ''}>
${f.hint ? html`<p class="hint" id="${f.name}-hint">${p.t(f.hint)}</p>` : ''}${f.error ? html`<p class="field-error" id="${f.name}-error">${p.t(f.error)}</p>` : ''}`;
}

export interface LoginView extends FormContext {
  registerUrl: string;
  /**
   * In a federation only: the chooser of platforms (cross-tier login without giving the
   * identifier here). The login page is then identifier first.
   */
  regionsUrl?: string;
  clientName: string;
  identifier?: string;
  error?: MessageKey;
  errorVars?: Record<string, string | number>;
  notice?: MessageKey;
}

/** The login pages' view: the form, the portal's name, the link to registration and, in a federation, to the chooser of platforms. */
export function loginView(
  { form, clientName }: { form: FormContext; clientName: string },
  extra: Partial<LoginView> & { federated?: boolean } = {},
): LoginView {
  const { federated, ...rest } = extra;
  return {
    ...form,
    clientName,
    registerUrl: `${form.action}/register?lang=${form.locale}`,
    ...(federated ? { regionsUrl: `${form.action}/regions?lang=${form.locale}` } : {}),
    ...rest,
  };
}

/**
 * The login page. In a federation, identifier first (DESIGN.md, "Mutual recognition"): the ID
 * number says where the person's home is, and a password is only ever typed there, on its
 * password page. On an OP outside any federation an ID number can only be local: identifier and
 * password on one form, so that a login is one POST (the form posts to the identifier step, which
 * checks the password when one is given), with the SMS code as a button of the same form.
 */
export function loginPage(v: LoginView): string {
  const credentials = v.regionsUrl
    ? html`<button type="submit">${v.t('action.next')}</button>`
    : html`${field(v, { name: 'password', label: 'field.password', type: 'password', autocomplete: 'current-password', maxlength: 128, required: false })}
<button type="submit">${v.t('action.login')}</button>
<button type="submit" class="secondary" formaction="${v.action}/otp/send">${v.t('action.use_otp')}</button>`;
  return layout(
    v,
    'page.login',
    html`<p>${v.t('text.login_at', { site: v.clientName })}</p>
${alert(v, v.error, v.errorVars)}
<form method="post" action="${v.action}/identifier" novalidate>
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
${field(v, { name: 'identifier', label: 'field.identifier', value: v.identifier, autocomplete: 'username', hint: 'hint.identifier', maxlength: 20 })}
${credentials}
</form>
<nav class="links"><a href="${v.registerUrl}">${v.t('action.go_register')}</a>${v.regionsUrl ? html` <a href="${v.regionsUrl}">${v.t('action.login_elsewhere')}</a>` : ''}</nav>`,
  );
}

/** A required choice of one platform of the federation (form field `home`). */
export function platformChoice(p: PageContext, legend: MessageKey, platforms: { id: string; name: string }[]): Html {
  return html`<fieldset><legend>${p.t(legend)}</legend>
${platforms.map((x) => html`<label class="choice"><input type="radio" name="home" value="${x.id}" required> ${x.name}</label>`)}
</fieldset>`;
}

/** The fallback of cross-tier login: choose the platform of one's account instead of giving the identifier here. */
export function regionsPage(v: FormContext & { platforms: { id: string; name: string }[]; error?: MessageKey }): string {
  return layout(
    v,
    'page.regions',
    html`<p>${v.t('text.regions')}</p>${alert(v, v.error)}
<form method="post" action="${v.action}/regions">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
${platformChoice(v, 'field.home_platform', v.platforms)}
<button type="submit">${v.t('action.continue')}</button>
</form>`,
  );
}

export function passwordPage(v: LoginView & { identifier: string }): string {
  return layout(
    v,
    'page.password',
    html`${alert(v, v.error, v.errorVars)}
<form method="post" action="${v.action}/password">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
<label for="identifier-shown">${v.t('field.identifier')}</label>
<input id="identifier-shown" type="text" value="${v.identifier}" readonly autocomplete="username">
${hidden('identifier', v.identifier)}
${field(v, { name: 'password', label: 'field.password', type: 'password', autocomplete: 'current-password', maxlength: 128 })}
<button type="submit">${v.t('action.login')}</button>
</form>
<form method="post" action="${v.action}/otp/send">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}${hidden('identifier', v.identifier)}
<button type="submit" class="secondary">${v.t('action.use_otp')}</button>
</form>
<nav class="links"><a href="${v.registerUrl}">${v.t('action.go_register')}</a></nav>`,
  );
}

export function otpLoginPage(v: LoginView & { identifier: string }): string {
  return layout(
    v,
    'page.otp',
    html`${v.notice ? html`<p class="notice" role="status">${v.t(v.notice)}</p>` : ''}${alert(v, v.error, v.errorVars)}
<form method="post" action="${v.action}/otp">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}${hidden('identifier', v.identifier)}
${field(v, { name: 'otp', label: 'field.otp', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6 })}
<button type="submit">${v.t('action.login')}</button>
</form>
<form method="post" action="${v.action}/identifier">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}${hidden('identifier', v.identifier)}
<button type="submit" class="secondary">${v.t('action.use_password')}</button>
</form>`,
  );
}

export interface RegisterView extends FormContext {
  loginUrl: string;
  values: { name?: string; id_number?: string; phone?: string };
  fieldErrors: Partial<Record<'name' | 'id_number' | 'phone' | 'otp' | 'password', MessageKey>>;
  error?: MessageKey;
  notice?: { key: MessageKey; vars?: Record<string, string> };
  /** Register once: the person is registered at another platform, named here; offer to log in there. */
  elsewhere?: { site: string; idNumber: string };
}

function registeredElsewhere(v: RegisterView): Html | string {
  if (!v.elsewhere) return '';
  return html`${alert(v, 'error.registered_elsewhere', { site: v.elsewhere.site })}
<form method="post" action="${v.action}/identifier">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}${hidden('identifier', v.elsewhere.idNumber)}
<button type="submit">${v.t('action.login_with_existing')}</button>
</form>`;
}

export function registerPage(v: RegisterView): string {
  const e = v.fieldErrors;
  return layout(
    v,
    'page.register',
    html`${v.notice ? html`<p class="notice" role="status">${v.t(v.notice.key, v.notice.vars)}</p>` : ''}${alert(v, v.error)}${registeredElsewhere(v)}
<form method="post" action="${v.action}/register" novalidate>
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
${field(v, { name: 'name', label: 'field.name', value: v.values.name, autocomplete: 'name', error: e.name, maxlength: 64 })}
${field(v, { name: 'id_number', label: 'field.id_number', value: v.values.id_number, error: e.id_number, maxlength: 18 })}
<div class="row"><div>
${field(v, { name: 'phone', label: 'field.phone', type: 'tel', value: v.values.phone, autocomplete: 'tel-national', error: e.phone, inputmode: 'numeric', maxlength: 14 })}
</div><button type="submit" class="secondary" formaction="${v.action}/register/otp" formnovalidate>${v.t('action.send_otp')}</button></div>
${field(v, { name: 'otp', label: 'field.otp', autocomplete: 'one-time-code', error: e.otp, inputmode: 'numeric', maxlength: 6 })}
${field(v, { name: 'password', label: 'field.password', type: 'password', autocomplete: 'new-password', hint: 'hint.password', error: e.password, maxlength: 64 })}
<button type="submit">${v.t('action.register')}</button>
</form>
<nav class="links"><a href="${v.loginUrl}">${v.t('action.go_login')}</a></nav>`,
  );
}

export interface ConsentView extends FormContext {
  clientName: string;
  scopes: string[];
  /** Services entities (by name) where the client will act for the person with its access token. */
  resources: string[];
  /** Data a requesting authority asks to read (RFC 9396 details), with the choice of how long: part of the allow form. */
  data?: Html;
  /** False when the person may not consent to what is asked (only deny is offered). */
  mayAllow?: boolean;
}

export function consentPage(v: ConsentView): string {
  const label = (s: string) => {
    const key = `scope.${s}`;
    return isMessageKey(key) ? v.t(key) : s;
  };
  return layout(
    v,
    'page.consent',
    html`<p>${v.t('text.client_wants', { client: v.clientName })}</p>
<ul class="scopes">${v.scopes.map((s) => html`<li>${label(s)}</li>`)}${v.resources.map(
      (r) => html`<li>${v.t('text.resource_access', { resource: r })}</li>`,
    )}</ul>
<form method="post" action="${v.action}/consent">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}${v.data ?? ''}
${v.mayAllow === false ? '' : html`<button type="submit">${v.t('action.allow')}</button>`}
</form>
<form method="post" action="${v.action}/abort">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
<button type="submit" class="secondary">${v.t('action.deny')}</button>
</form>`,
  );
}

export function errorPage(p: PageContext, message: string, code?: string): string {
  return layout(p, 'page.error', html`<p class="error" role="alert">${message}</p>${code ? html`<p class="hint">${code}</p>` : ''}`);
}

/** `form` is oidc-provider's own logout form (it carries its xsrf token). */
export function logoutPage(p: PageContext, form: string): string {
  return layout(
    p,
    'page.logout',
    html`<p>${p.t('text.logout_confirm', { site: p.siteName })}</p>
${new Html(form)}
<button type="submit" form="op.logoutForm" value="yes" name="logout">${p.t('action.logout')}</button>
<button type="submit" form="op.logoutForm" class="secondary">${p.t('action.stay')}</button>`,
  );
}

export function loggedOutPage(p: PageContext): string {
  return layout(p, 'page.logged_out', html`<p role="status">${p.t('text.logged_out')}</p>`);
}

export interface OrgPickerView extends FormContext {
  clientName: string;
  orgs: { subject: string; orgName: string; role: string }[];
  error?: MessageKey;
  errorVars?: Record<string, string>;
  notice?: MessageKey;
  registerErrors: { uscc?: MessageKey; org_name?: MessageKey };
  values: { uscc?: string; org_name?: string };
}

/** Choosing the organization to act for (form field `org`), and registering one as its representative. */
export function orgPickerPage(v: OrgPickerView): string {
  return layout(
    v,
    'page.org_picker',
    html`${v.notice ? html`<p class="notice" role="status">${v.t(v.notice)}</p>` : ''}${alert(v, v.error, v.errorVars)}
${
  v.orgs.length
    ? html`<form method="post" action="${v.action}/org">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
<fieldset><legend>${v.t('text.org_picker_intro', { client: v.clientName })}</legend>
${v.orgs.map((o, i) => html`<label class="choice"><input type="radio" name="org" value="${o.subject}"${i === 0 ? html` checked` : ''}> ${o.orgName}（${o.role}）</label>`)}
</fieldset>
<button type="submit">${v.t('action.continue')}</button>
</form>`
    : html`<p>${v.t('text.no_orgs')}</p>`
}
<h2>${v.t('page.register_org')}</h2>
<form method="post" action="${v.action}/org/register" novalidate>
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
${field(v, { name: 'uscc', label: 'field.uscc', value: v.values.uscc, error: v.registerErrors.uscc, maxlength: 18 })}
${field(v, { name: 'org_name', label: 'field.org_name', value: v.values.org_name, error: v.registerErrors.org_name, maxlength: 200 })}
<button type="submit" class="secondary">${v.t('action.register_org')}</button>
</form>
<form method="post" action="${v.action}/abort">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
<button type="submit" class="secondary">${v.t('action.deny')}</button>
</form>`,
  );
}
