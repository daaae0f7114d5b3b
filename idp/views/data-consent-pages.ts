/**
 * The data-sharing parts of the OP's pages: on the consent page, what a requesting authority asks
 * to read (who asks, from whom, which dataset and items, for what purpose and item or case) and for
 * how long the person allows it; in the account area, the consents given, revocable.
 */
import { html, type Html } from '../../infra/html.ts';
import type { DataRequestView } from '../exchange/data-consent-requests.ts';
import { CONSENT_PERIODS } from '../exchange/data-consents.ts';
import { alert, hidden, layout, type PageContext } from './pages.ts';
import type { MessageKey } from '../i18n.ts';
import type { AccountContext } from './account-pages.ts';

export interface ActingFor {
  org: string;
  role: string;
}

function requestList(p: PageContext, r: DataRequestView): Html {
  return html`<dl class="data-request">
<dt>${p.t('field.requester')}</dt><dd>${r.requester}</dd>
<dt>${p.t('field.holder')}</dt><dd>${r.holder}</dd>
<dt>${p.t('field.dataset')}</dt><dd>${r.dataset}</dd>
<dt>${p.t('field.attributes')}</dt><dd>${r.attributes.join('、')}</dd>
<dt>${p.t('field.purpose')}</dt><dd>${r.purpose}</dd>
${r.item ? html`<dt>${p.t('field.item')}</dt><dd>${r.item}</dd>` : ''}${r.case ? html`<dt>${p.t('field.case')}</dt><dd>${r.case}</dd>` : ''}
</dl>`;
}

/** The requests and, when the party may consent to all of them, the choice of how long (inside the allow form). */
export function dataRequestsSection(
  p: PageContext,
  requests: DataRequestView[],
  actingFor: ActingFor | null,
  modeError?: MessageKey,
): Html {
  const org = actingFor?.org;
  return html`<section class="data-requests" aria-labelledby="data-requests-title">
<h2 id="data-requests-title">${p.t('page.data_consents')}</h2>
${actingFor ? html`<p>${p.t('text.acting_for', { org: actingFor.org, role: p.t(`role.${actingFor.role}` as MessageKey) })}</p>` : ''}
${requests.map(
  (
    r,
  ) => html`<p>${org ? p.t('text.data_request_org', { requester: r.requester, holder: r.holder, org }) : p.t('text.data_request', { requester: r.requester, holder: r.holder })}</p>
${requestList(p, r)}${r.refusal ? html`<p class="error" role="alert">${p.t(r.refusal.key, r.refusal.vars)}</p>` : ''}`,
)}
${
  requests.some((r) => r.refusal)
    ? ''
    : html`<fieldset${modeError ? html` aria-describedby="consent-mode-error"` : ''}><legend>${p.t('field.consent_mode')}</legend>
<label class="choice"><input type="radio" name="consent_mode" value="once" checked> ${p.t('consent_mode.once')}</label>
${CONSENT_PERIODS.map((days) => html`<label class="choice"><input type="radio" name="consent_mode" value="${days}"> ${p.t('consent_mode.days', { days })}</label>`)}
${modeError ? html`<p class="field-error" id="consent-mode-error">${p.t(modeError)}</p>` : ''}
</fieldset>
<p class="hint">${p.t('text.data_consent_hint')}</p>`
}
</section>`;
}

export interface ConsentListItem {
  id: string;
  request: DataRequestView;
  status: 'active' | 'used' | 'revoked' | 'expired';
  createdAt: string;
  expiresAt: string;
  /** For an organization's data: its name. */
  org: string | null;
}

export interface DataConsentsView extends AccountContext {
  consents: ConsentListItem[];
  notice?: MessageKey;
  error?: MessageKey;
}

const day = (iso: string) => iso.slice(0, 10);

export function dataConsentsPage(v: DataConsentsView): string {
  return layout(
    v,
    'page.data_consents',
    html`${v.notice ? html`<p class="notice" role="status">${v.t(v.notice)}</p>` : ''}${alert(v, v.error)}
${
  v.consents.length
    ? v.consents.map(
        (c) => html`<section class="consent" aria-labelledby="consent-${c.id}">
<h2 id="consent-${c.id}">${c.request.dataset} · ${c.request.requester}</h2>
${c.org ? html`<p>${c.org}</p>` : ''}${requestList(v, c.request)}
<dl class="data-request">
<dt>${v.t('field.consent_status')}</dt><dd>${v.t(`consent_status.${c.status}`)}</dd>
<dt>${v.t('field.consent_given')}</dt><dd>${day(c.createdAt)}</dd>
<dt>${v.t('field.consent_until')}</dt><dd>${day(c.expiresAt)}</dd>
</dl>
${
  c.status === 'active'
    ? html`<form method="post" action="/account/consents/${c.id}/revoke">${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}<button type="submit" class="secondary">${v.t('action.revoke_consent')}</button></form>`
    : ''
}
</section>`,
      )
    : html`<p>${v.t('text.no_data_consents')}</p>`
}
<nav class="links"><a href="/account">${v.t('page.account')}</a></nav>`,
  );
}
