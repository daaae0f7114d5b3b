/** Pages of the OP's account area: the person's organizations and, for their administrators, agents. */
import { html } from '../../infra/html.ts';
import { alert, field, hidden, layout, platformChoice, type PageContext } from './pages.ts';
import type { MessageKey } from '../i18n.ts';
import type { AgentAuthorization, Mandate, ServiceCategory } from '../accounts/legal-person-accounts.ts';

export interface AccountContext extends PageContext {
  csrf: string;
}

/** The link to the person's data-sharing consents, where the OP takes part in the exchange. */
function consentsLink(p: PageContext & { dataConsents?: boolean }) {
  return p.dataConsents ? html`<a href="/account/consents">${p.t('action.data_consents')}</a>` : '';
}

export interface AccountView extends AccountContext {
  dataConsents?: boolean;
  /** The platforms the account may move to (relocation), when this OP takes part in the federation. */
  platforms?: { id: string; name: string }[];
  moveError?: MessageKey;
  moveErrorVars?: Record<string, string>;
  name: string;
  maskedIdNumber: string;
  mandates: Mandate[];
  error?: MessageKey;
  errorVars?: Record<string, string>;
  notice?: MessageKey;
  registerErrors: { uscc?: MessageKey; org_name?: MessageKey };
  values: { uscc?: string; org_name?: string };
}

const canManage = (m: Mandate) => m.role === 'representative' || m.role === 'admin';

export function accountPage(v: AccountView): string {
  return layout(
    v,
    'page.account',
    html`<p>${v.t('text.account_intro', { name: v.name, id_number: v.maskedIdNumber })}</p>
${v.notice ? html`<p class="notice" role="status">${v.t(v.notice)}</p>` : ''}${alert(v, v.error, v.errorVars)}
<h2>${v.t('text.my_orgs')}</h2>
${
  v.mandates.length
    ? html`<table><thead><tr><th scope="col">${v.t('field.org_name')}</th><th scope="col">${v.t('field.role')}</th><th scope="col"></th></tr></thead><tbody>
${v.mandates.map((m) => html`<tr><td>${m.legal.orgName}</td><td>${v.t(`role.${m.role}`)}</td><td>${canManage(m) ? html`<a href="/account/organizations/${m.legal.subject}">${v.t('action.manage')}</a>` : ''}</td></tr>`)}
</tbody></table>`
    : html`<p>${v.t('text.no_orgs')}</p>`
}
<h2>${v.t('page.register_org')}</h2>
<form method="post" action="/account/organizations" novalidate>
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
${field(v, { name: 'uscc', label: 'field.uscc', value: v.values.uscc, error: v.registerErrors.uscc, maxlength: 18 })}
${field(v, { name: 'org_name', label: 'field.org_name', value: v.values.org_name, error: v.registerErrors.org_name, maxlength: 200 })}
<button type="submit" class="secondary">${v.t('action.register_org')}</button>
</form>
${v.platforms?.length ? movingForm(v, v.platforms) : ''}
<nav class="links">${consentsLink(v)}<a href="/session/end">${v.t('action.account_logout')}</a></nav>`,
  );
}

export interface OrganizationView extends AccountContext {
  mandate: Mandate;
  agents: AgentAuthorization[];
  categories: readonly ServiceCategory[];
  error?: MessageKey;
  notice?: MessageKey;
  fieldErrors: Partial<Record<'name' | 'id_number' | 'role' | 'categories' | 'expires', MessageKey>>;
  values: { name?: string; id_number?: string; expires?: string };
}

/** Relocation by the person: the new platform, and the password again (the account and its credentials leave). */
function movingForm(v: AccountView, platforms: { id: string; name: string }[]) {
  return html`<h2>${v.t('page.move')}</h2>
<p class="hint">${v.t('text.move')}</p>${alert(v, v.moveError, v.moveErrorVars)}
<form method="post" action="/account/move">
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
${platformChoice(v, 'field.move_to', platforms)}
${field(v, { name: 'password', label: 'field.password', type: 'password', autocomplete: 'current-password', maxlength: 128 })}
<button type="submit" class="secondary">${v.t('action.move')}</button>
</form>`;
}

/** After a move: the account now lives at its new home. */
export function accountMovedPage(v: PageContext & { homeName: string; homeAccountUrl: string }): string {
  return layout(
    v,
    'page.move',
    html`<p class="notice" role="status">${v.t('text.moved', { site: v.homeName })}</p>
<nav class="links"><a href="${v.homeAccountUrl}">${v.t('action.go_home_account')}</a></nav>`,
  );
}

/** A recognized account signed in here: its account area is at its home. */
export function accountElsewherePage(
  v: PageContext & { name: string; homeName: string; homeAccountUrl: string; dataConsents?: boolean },
): string {
  return layout(
    v,
    'page.account',
    html`<p>${v.t('text.account_elsewhere', { name: v.name, site: v.homeName })}</p>
<nav class="links"><a href="${v.homeAccountUrl}">${v.t('action.go_home_account')}</a>${consentsLink(v)}</nav>`,
  );
}

export function organizationPage(v: OrganizationView): string {
  const base = `/account/organizations/${v.mandate.legal.subject}`;
  return layout(
    v,
    'page.organization',
    html`<p><strong>${v.mandate.legal.orgName}</strong></p>
${v.notice ? html`<p class="notice" role="status">${v.t(v.notice)}</p>` : ''}${alert(v, v.error)}
<h2>${v.t('text.agents')}</h2>
<table><thead><tr><th scope="col">${v.t('field.agent_name')}</th><th scope="col">${v.t('field.role')}</th><th scope="col">${v.t('field.categories')}</th><th scope="col">${v.t('field.expires')}</th><th scope="col"></th></tr></thead><tbody>
${v.agents.map(
  (a) =>
    html`<tr><td>${a.agentName}</td><td>${v.t(`role.${a.role}`)}</td><td>${a.serviceCategories.map((c) => v.t(`category.${c}`)).join('、')}</td><td>${a.expiresAt ? a.expiresAt.slice(0, 10) : v.t('text.expires_never')}</td><td>${a.role === 'representative' ? '' : html`<form method="post" action="${base}/agents/${a.id}/revoke">${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}<button type="submit" class="secondary">${v.t('action.revoke')}</button></form>`}</td></tr>`,
)}
</tbody></table>
<h2>${v.t('text.add_agent')}</h2>
<form method="post" action="${base}/agents" novalidate>
${hidden('csrf', v.csrf)}${hidden('lang', v.locale)}
${field(v, { name: 'name', label: 'field.agent_name', value: v.values.name, error: v.fieldErrors.name, maxlength: 64 })}
${field(v, { name: 'id_number', label: 'field.agent_id_number', value: v.values.id_number, error: v.fieldErrors.id_number, maxlength: 18 })}
<fieldset><legend>${v.t('field.role')}</legend>
<label class="choice"><input type="radio" name="role" value="agent" checked> ${v.t('role.agent')}</label>
${v.mandate.role === 'representative' ? html`<label class="choice"><input type="radio" name="role" value="admin"> ${v.t('role.admin')}</label>` : ''}
</fieldset>
<fieldset${v.fieldErrors.categories ? html` aria-describedby="categories-error"` : ''}><legend>${v.t('field.categories')}</legend>
${v.categories.map((c) => html`<label class="choice"><input type="checkbox" name="categories" value="${c}"> ${v.t(`category.${c}`)}</label>`)}
${v.fieldErrors.categories ? html`<p class="field-error" id="categories-error">${v.t(v.fieldErrors.categories)}</p>` : ''}
</fieldset>
${field(v, { name: 'expires', label: 'field.expires', value: v.values.expires, error: v.fieldErrors.expires, required: false, maxlength: 10 })}
<button type="submit">${v.t('action.authorize')}</button>
</form>
<nav class="links"><a href="/account">${v.t('page.account')}</a></nav>`,
  );
}
