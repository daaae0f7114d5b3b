/**
 * What the ask, rate and my-space pages share: their page context (the portal's, plus their own
 * messages and the form token), labelled form controls, and how states and dates read. Every
 * form is a POST with the CSRF token and the chosen language; nothing needs a script.
 */
import { html, type Html } from '../../infra/html.ts';
import type { Locale } from '../i18n.ts';
import { isVoiceKey, type VoiceKey, type VoiceTranslate } from '../voice-i18n.ts';
import { withLang } from './catalog-pages.ts';
import { hidden, type PageContext } from './pages.ts';

export interface VoicePageContext extends PageContext {
  /** The language the person chose explicitly, kept in every link and form. */
  lang?: Locale;
  v: VoiceTranslate;
  csrf: string;
}

/** A message of the voice catalog by a key built from data (a state, a code), or the raw value when there is none. */
export function known(p: VoicePageContext, prefix: string, value: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const key = `${prefix}.${value}`;
  return isVoiceKey(key) ? p.v(key) : value;
}

export const link = (p: VoicePageContext, path: string, text: string) => html`<a href="${withLang(path, p.lang)}">${text}</a>`;

/** A POST form to `action` with the CSRF token and the language. */
export function postForm(p: VoicePageContext, action: string, body: Html, className = ''): Html {
  return html`<form method="post" action="${action}"${className ? html` class="${className}"` : ''}>
    ${hidden('csrf', p.csrf)}${p.lang ? hidden('lang', p.lang) : ''} ${body}
  </form>`;
}

export function textArea(
  p: VoicePageContext,
  o: { id: string; name?: string; label: string; max: number; required?: boolean; value?: string },
): Html {
  return html`<label class="field" for="${o.id}">${o.label}${o.required ? '' : p.v('text.optional')}</label>
    <textarea id="${o.id}" name="${o.name ?? o.id}" maxlength="${o.max}" rows="4" ${o.required ? 'required' : ''} aria-describedby="${o.id}-hint">${o.value ?? ''}</textarea>
    <span class="hint" id="${o.id}-hint">${p.v('text.max_chars', { max: o.max })}</span>`;
}

/** Radio buttons in a fieldset: `options` as [value, label]. */
export function radios(legend: string, name: string, options: [string, string][], checked?: string): Html {
  return html`<fieldset>
    <legend>${legend}</legend>
    ${options.map(
      ([value, text]) =>
        html`<label class="option"><input type="radio" name="${name}" value="${value}" required ${value === checked ? 'checked' : ''} /> ${text}</label>`,
    )}
  </fieldset>`;
}

export function submit(text: string, className = ''): Html {
  return html`<button type="submit"${className ? html` class="${className}"` : ''}>${text}</button>`;
}

/** A refusal above a form, read out by screen readers. */
export function alertBox(message: string | undefined): Html | string {
  return message ? html`<p class="error" role="alert">${message}</p>` : '';
}

/** The day of an ISO instant or date. */
export const day = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '—');

/** How a deadline stands: on time, due soon, overdue. */
export function clockBadge(p: VoicePageContext, clock: string | null | undefined): Html | string {
  if (!clock) return '';
  const key = `text.${clock}` as VoiceKey;
  return isVoiceKey(key) ? html`<span class="flag ${clock}">${p.v(key)}</span>` : '';
}

/** A record's fields as a definition list, leaving out those without a value. */
export function record(rows: [string, Html | string | null | undefined][]): Html {
  return html`<dl class="record">
    ${rows.filter(([, value]) => value !== null && value !== undefined && value !== '').map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}
  </dl>`;
}
