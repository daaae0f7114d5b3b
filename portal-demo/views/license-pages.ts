/**
 * The portal's e-license pages: 我的证照 (the list, one licence with its QR code, sharing by
 * selective disclosure, the presentation made) and the public verify page with its result. Plain
 * forms and links, no scripts; the QR code is an image from a data: URL (the CSP allows img data:).
 */
import { html, type Html } from '../../infra/html.ts';
import type { Locale } from '../../infra/i18n.ts';
import type { HeldLicense, HeldLicenses, LicenseSummary, VerifyAnswer } from '../license-client.ts';
import { isLicenseMessageKey, type LicenseTranslate } from '../license-i18n.ts';
import { hidden, layout, type PageContext } from './pages.ts';

type Label = { 'zh-CN': string; en: string };

export interface LicensePageContext extends PageContext {
  l: LicenseTranslate;
  /** The language the person chose explicitly, kept in links and forms. */
  lang?: Locale;
  /** Names of the licence types, and the labels of their claims (by type, then claim name). */
  typeNames: Record<string, Label>;
  claimLabels: Record<string, Record<string, Label>>;
  /** The name of a platform of the federation by entity ID, when the portal knows it. */
  platformName: (entityId: string) => string | undefined;
}

export function withLang(path: string, lang: Locale | undefined): string {
  return lang ? `${path}${path.includes('?') ? '&' : '?'}lang=${lang}` : path;
}

const keepLang = (p: LicensePageContext) => (p.lang ? hidden('lang', p.lang) : '');
const day = (iso: string) => iso.slice(0, 10);

function claimLabel(p: LicensePageContext, type: string, name: string): string {
  return p.claimLabels[type]?.[name]?.[p.locale] ?? name;
}

function claimValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function platform(p: LicensePageContext, entityId: string): Html | string {
  return p.platformName(entityId) ?? html`<code>${entityId}</code>`;
}

function stateOf(p: LicensePageContext, l: LicenseSummary): Html {
  const state = l.state === 'valid' && l.expired ? 'expired' : l.state;
  return html`<span class="state ${state}">${p.l(`state.${state}`)}</span>`;
}

function validity(p: LicensePageContext, from: string, until: string | null): string {
  return `${day(from)} — ${until ? day(until) : p.l('text.valid_until_none')}`;
}

function claimList(p: LicensePageContext, type: string, claims: Record<string, unknown>): Html {
  return html`<dl class="claims">
    ${Object.entries(claims).map(([name, value]) => html`<dt>${claimLabel(p, type, name)}</dt><dd>${claimValue(value)}</dd>`)}
  </dl>`;
}

/** A refusal on an e-license page: what went wrong, and the way back. */
export function licenseErrorPage(p: LicensePageContext, message: string): string {
  return layout(
    p,
    p.l('page.mine'),
    html`<p class="error" role="alert">${message}</p>
      <p><a href="${withLang('/licenses', p.lang)}">${p.l('action.back_to_list')}</a></p>`,
  );
}

/** Sign in first (or again): the portal's own sign-in form. */
export function signInPage(p: LicensePageContext, csrf: string, expired: boolean): string {
  return layout(
    p,
    p.l('page.mine'),
    html`<p class="lead">${p.l(expired ? 'text.session_expired' : 'text.sign_in_first')}</p>
      <form method="post" action="/login">
        ${hidden('csrf', csrf)}${keepLang(p)}
        <button type="submit">${p.l('action.login')}</button>
      </form>`,
  );
}

export function mineListPage(p: LicensePageContext, held: HeldLicenses, opts: { csrf: string; demo: boolean }): string {
  const list = held.licenses.length
    ? html`<ul class="licenses">
        ${held.licenses.map(
          (l) =>
            html`<li>
              <a href="${withLang(`/licenses/${l.id}`, p.lang)}">${l.type_name[p.locale]}</a> ${stateOf(p, l)}
              <span class="where">${p.l('text.validity')}: ${validity(p, l.valid_from, l.valid_until)}</span>
            </li>`,
        )}
      </ul>`
    : html`<p>${p.l('text.none')}</p>`;
  const demo = opts.demo
    ? html`<form method="post" action="/licenses/demo">
          ${hidden('csrf', opts.csrf)}${keepLang(p)}
          <button type="submit" class="secondary">${p.l('action.demo')}</button>
        </form>`
    : '';
  const elsewhere =
    held.elsewhere === null
      ? html`<p class="hint">${p.l('text.elsewhere_unknown')}</p>`
      : held.elsewhere.length
        ? html`<h2>${p.l('text.elsewhere')}</h2>
            <ul class="results">
              ${held.elsewhere.map((e) => html`<li>${typeName(p, e.type)} · ${platform(p, e.platform)}</li>`)}
            </ul>`
        : '';
  return layout(
    p,
    p.l('page.mine'),
    html`<p class="lead">${p.l('text.mine_intro', { site: p.siteName })}</p>
      ${list} ${demo} ${elsewhere}
      <p><a href="${withLang('/licenses/verify', p.lang)}">${p.l('page.verify')}</a></p>`,
  );
}

function typeName(p: LicensePageContext, type: string): string {
  return p.typeNames[type]?.[p.locale] ?? type;
}

export interface LicenseView {
  held: HeldLicense;
  issuer: string;
  /** The QR code (an SVG data: URL) and the verify page address it holds. */
  qr: string;
  verifyUrl: string;
}

export function licensePage(p: LicensePageContext, v: LicenseView): string {
  const l = v.held.license;
  return layout(
    p,
    l.type_name[p.locale],
    html`<dl class="claims">
        <dt>${p.l('text.state')}</dt>
        <dd>${stateOf(p, l)}</dd>
        <dt>${p.l('text.validity')}</dt>
        <dd>${validity(p, l.valid_from, l.valid_until)}</dd>
        <dt>${p.l('text.issuer')}</dt>
        <dd>${platform(p, v.issuer)}</dd>
        <dt>${p.l('text.license_id')}</dt>
        <dd><code>${l.id}</code></dd>
      </dl>
      ${claimList(p, l.type, v.held.claims)}
      <figure class="qr">
        <img src="${v.qr}" alt="${p.l('text.qr_alt')}" width="300" height="300" />
        <figcaption class="hint">${p.l('text.qr_hint')}</figcaption>
      </figure>
      <ul class="license-actions">
        <li><a href="${withLang(`/licenses/${l.id}/download`, p.lang)}" download>${p.l('action.download')}</a></li>
        <li><a href="${withLang(`/licenses/${l.id}/share`, p.lang)}">${p.l('action.share')}</a></li>
        <li><a href="${v.verifyUrl}">${p.l('action.verify_this')}</a></li>
      </ul>
      <p><a href="${withLang('/licenses', p.lang)}">${p.l('action.back_to_list')}</a></p>`,
  );
}

export interface ShareForm {
  disclose: string[];
  audience: string;
  nonce: string;
  error?: string;
}

export function sharePage(p: LicensePageContext, held: HeldLicense, csrf: string, form: ShareForm): string {
  const l = held.license;
  return layout(
    p,
    `${p.l('page.share')}：${l.type_name[p.locale]}`,
    html`${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''}
      <form class="fields" method="post" action="/licenses/${l.id}/share">
        ${hidden('csrf', csrf)}${keepLang(p)}
        <fieldset>
          <legend>${p.l('text.share_intro')}</legend>
          ${Object.entries(held.claims).map(
            ([name, value]) =>
              html`<label class="option"
                ><input type="checkbox" name="disclose" value="${name}" ${form.disclose.includes(name) ? 'checked' : ''} />
                ${claimLabel(p, l.type, name)}：<span class="hint">${claimValue(value)}</span></label
              >`,
          )}
        </fieldset>
        <label for="audience">${p.l('text.share_audience')}</label>
        <input id="audience" name="audience" value="${form.audience}" maxlength="500" required />
        <label for="nonce">${p.l('text.share_nonce')}</label>
        <input id="nonce" name="nonce" value="${form.nonce}" maxlength="200" autocomplete="off" />
        <p class="hint">${p.l('text.custodial')}</p>
        <button type="submit">${p.l('action.make_presentation')}</button>
        <button type="submit" name="as" value="file" class="secondary">${p.l('action.download_presentation')}</button>
      </form>
      <p><a href="${withLang(`/licenses/${l.id}`, p.lang)}">${p.l('page.license')}</a></p>`,
  );
}

export function sharedPage(p: LicensePageContext, shared: { presentation: string; audience: string; nonce: string }): string {
  return layout(
    p,
    p.l('page.shared'),
    html`<p class="lead">${p.l('text.shared_intro')}</p>
      <dl class="claims">
        <dt>${p.l('text.shared_audience')}</dt>
        <dd>${shared.audience}</dd>
        <dt>${p.l('text.shared_nonce')}</dt>
        <dd><code id="nonce">${shared.nonce}</code></dd>
      </dl>
      <label for="presentation">${p.l('page.shared')}</label>
      <textarea id="presentation" class="token" readonly rows="8">${shared.presentation}</textarea>
      <p><a href="${withLang('/licenses', p.lang)}">${p.l('action.back_to_list')}</a></p>`,
  );
}

export interface VerifyForm {
  license: string;
  audience: string;
  nonce: string;
  error?: string;
}

function verifyForm(p: LicensePageContext, csrf: string, form: VerifyForm): Html {
  return html`<form class="fields" method="post" action="/licenses/verify" enctype="multipart/form-data">
    ${hidden('csrf', csrf)}${keepLang(p)}
    <label for="license">${p.l('text.verify_text')}</label>
    <textarea id="license" name="license" class="token" rows="6" spellcheck="false">${form.license}</textarea>
    <label for="license_file">${p.l('text.verify_file')}</label>
    <input id="license_file" name="license_file" type="file" accept=".txt,.jwt,.sd-jwt,text/plain,application/dc+sd-jwt" />
    <label for="audience">${p.l('text.verify_audience')}</label>
    <input id="audience" name="audience" value="${form.audience}" maxlength="500" />
    <label for="nonce">${p.l('text.verify_nonce')}</label>
    <input id="nonce" name="nonce" value="${form.nonce}" maxlength="200" autocomplete="off" />
    <button type="submit">${p.l('action.verify')}</button>
  </form>`;
}

export function verifyPage(p: LicensePageContext, csrf: string, form: VerifyForm): string {
  return layout(
    p,
    p.l('page.verify'),
    html`<p class="lead">${p.l('text.verify_intro')}</p>
      ${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''} ${verifyForm(p, csrf, form)}`,
  );
}

export function verifyResultPage(p: LicensePageContext, answer: VerifyAnswer, csrf: string): string {
  if (!answer.valid) {
    const problem = `problem.${answer.error}`;
    const check = `check.${answer.check}`;
    return layout(
      p,
      p.l('page.result_invalid'),
      html`<p class="error" role="alert">${isLicenseMessageKey(problem) ? p.l(problem) : answer.error_description}</p>
        <dl class="claims">
          <dt>${p.l('text.failed_check')}</dt>
          <dd>${isLicenseMessageKey(check) ? p.l(check) : answer.check}</dd>
        </dl>
        <p class="hint">${p.t('text.error_code')}: <code>${answer.error}</code> — ${answer.error_description}</p>
        <h2>${p.l('action.verify_another')}</h2>
        ${verifyForm(p, csrf, { license: '', audience: '', nonce: '' })}`,
    );
  }
  const l = answer.license;
  return layout(
    p,
    p.l('page.result_valid'),
    html`<p class="ok" role="status">${p.l('text.verified')}</p>
      <dl class="claims">
        <dt>${p.l('text.license_id')}</dt>
        <dd><code>${l.id}</code></dd>
        <dt>${p.l('text.type')}</dt>
        <dd>${l.type_name[p.locale]}</dd>
        <dt>${p.l('text.issuer')}</dt>
        <dd>${platform(p, l.issuer)}</dd>
        <dt>${p.l('text.holder_kind')}</dt>
        <dd>${p.l(`holder.${l.holder.kind}`)}</dd>
        <dt>${p.l('text.validity')}</dt>
        <dd>${validity(p, l.valid_from, l.valid_until)}</dd>
      </dl>
      ${Object.keys(l.disclosed).length ? html`<h2>${p.l('text.disclosed')}</h2>${claimList(p, l.type, l.disclosed)}` : ''}
      ${l.undisclosed ? html`<p class="hint">${p.l('text.undisclosed', { count: l.undisclosed })}</p>` : ''}
      ${l.key_binding ? html`<p>${p.l('text.key_binding', { audience: l.key_binding.audience })}</p>` : ''}
      ${l.signed_with.retired ? html`<p class="hint">${p.l('text.retired_key')}</p>` : ''}
      <p class="hint">${p.l('text.checks')}</p>
      <h2>${p.l('action.verify_another')}</h2>
      ${verifyForm(p, csrf, { license: '', audience: '', nonce: '' })}`,
  );
}
