/**
 * The portal's "my data use" page (数据使用记录): every access to the person's data the nodes
 * logged, newest first, and the consents they gave, each active one with a revoke button. One
 * record per block (a definition list), so that it reads on a 390 px phone.
 */
import { html, type Html } from '../../infra/html.ts';
import { isMessageKey, type MessageKey } from '../i18n.ts';
import { hidden, layout, type PageContext } from './pages.ts';

/** A request named in the person's language. */
export interface NamedRequest {
  requester: string;
  holder: string;
  dataset: string;
  attributes: string[];
  purpose: string;
  item: string | null;
  case: string | null;
}

export interface AccessView extends NamedRequest {
  requestId: string;
  at: string;
  result: 'served' | 'refused';
  reason: string | null;
  loggedBy: string[];
}

export interface ConsentView extends NamedRequest {
  id: string;
  status: 'active' | 'used' | 'revoked' | 'expired';
  mode: 'once' | 'period';
  until: string;
}

export interface DataUseView extends PageContext {
  csrf: string;
  lang?: string;
  accesses: AccessView[];
  unavailable: string[];
  consents: ConsentView[];
  notice?: MessageKey;
  error?: MessageKey;
}

/** A time as the person reads it: China time, to the minute. */
function when(iso: string): string {
  return new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
}

function requestRows(p: PageContext, r: NamedRequest): Html {
  return html`<dt>${p.t('field.requester')}</dt><dd>${r.requester}</dd>
<dt>${p.t('field.holder')}</dt><dd>${r.holder}</dd>
<dt>${p.t('field.attributes')}</dt><dd>${r.attributes.join('、')}</dd>
<dt>${p.t('field.purpose')}</dt><dd>${r.purpose}</dd>
${r.item ? html`<dt>${p.t('field.item')}</dt><dd>${r.item}</dd>` : ''}${r.case ? html`<dt>${p.t('field.case')}</dt><dd>${r.case}</dd>` : ''}`;
}

function outcome(p: PageContext, a: AccessView): string {
  if (a.result === 'served') return p.t('result.served');
  const key = `refusal.${a.reason}`;
  return p.t('result.refused', { reason: isMessageKey(key) ? p.t(key) : (a.reason ?? '') });
}

export function dataUsePage(v: DataUseView): string {
  const keep = v.lang ? hidden('lang', v.lang) : '';
  return layout(
    v,
    v.t('page.data_use'),
    html`<p class="lead">${v.t('text.data_use_intro')}</p>
${v.notice ? html`<p class="notice" role="status">${v.t(v.notice)}</p>` : ''}${v.error ? html`<p class="error" role="alert">${v.t(v.error)}</p>` : ''}
<h2>${v.t('heading.accesses')}</h2>
${v.unavailable.length ? html`<p class="hint">${v.t('text.nodes_unavailable', { nodes: v.unavailable.join('、') })}</p>` : ''}
${
  v.accesses.length
    ? v.accesses.map(
        (a) => html`<section class="record" aria-label="${a.dataset} ${when(a.at)}">
<h3>${a.dataset}</h3>
<dl class="record">
<dt>${v.t('field.time')}</dt><dd><time datetime="${a.at}">${when(a.at)}</time></dd>
${requestRows(v, a)}
<dt>${v.t('field.result')}</dt><dd class="${a.result}">${outcome(v, a)}</dd>
<dt>${v.t('field.logged_by')}</dt><dd>${a.loggedBy.join('、')}</dd>
</dl>
</section>`,
      )
    : html`<p>${v.t('text.no_accesses')}</p>`
}
<h2>${v.t('heading.consents')}</h2>
${
  v.consents.length
    ? v.consents.map(
        (c) => html`<section class="record" aria-label="${c.dataset} ${c.requester}">
<h3>${c.dataset}</h3>
<dl class="record">
${requestRows(v, c)}
<dt>${v.t('field.consent_mode')}</dt><dd>${v.t(`consent_mode.${c.mode}`)}</dd>
<dt>${v.t('field.consent_status')}</dt><dd>${v.t(`consent_status.${c.status}`)}</dd>
<dt>${v.t('field.consent_until')}</dt><dd><time datetime="${c.until}">${when(c.until)}</time></dd>
</dl>
${
  c.status === 'active'
    ? html`<form method="post" action="/data-use/consents/${c.id}/revoke">${hidden('csrf', v.csrf)}${keep}<button type="submit" class="secondary">${v.t('action.revoke_consent')}</button></form>`
    : ''
}
</section>`,
      )
    : html`<p>${v.t('text.no_consents')}</p>`
}
<p><a href="/${v.lang ? `?lang=${v.lang}` : ''}">${v.t('action.home')}</a></p>`,
  );
}
