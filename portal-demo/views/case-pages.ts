/**
 * The case pages of the portal: the application form built from the item's materials, the
 * receipt (收件凭证), 我的办件 and a case's progress, the lookup by number (办件查询), and the staff
 * workbench (queue and a case with the actions its reader can take). Plain forms, no scripts, one
 * column that fits a phone; every step shows its start, end, duration, deadline and who acted.
 */
import { html, type Html } from '../../infra/html.ts';
import type { CaseLine, CaseView, ItemForm, Json, StepView, SupervisionRow } from '../case-client.ts';
import { isCaseMessageKey, type CaseMessageKey, type CaseTranslate } from '../case-i18n.ts';
import { hidden, layout, type PageContext } from './pages.ts';

export interface CasePageContext extends PageContext {
  ct: CaseTranslate;
  csrf: string;
}

/** A label of the case vocabulary (`state.received` …), or the value itself. */
function named(p: CasePageContext, prefix: string, value: string | null | undefined): string {
  if (!value) return '';
  const key = `${prefix}.${value}`;
  return isCaseMessageKey(key) ? p.ct(key) : value;
}

/** An instant as people in China read it (UTC+8). */
const time = (iso: string | null) => (iso ? new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 16) : '');

function duration(p: CasePageContext, step: StepView): string {
  if (step.duration_seconds === null) return '';
  const s = step.duration_seconds;
  const clock =
    s < 3600 ? `${Math.max(1, Math.round(s / 60))} min` : s < 86_400 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86_400).toFixed(1)} d`;
  return `${clock} · ${p.ct('working_days', { days: step.working_days })}`;
}

function flagOf(p: CasePageContext, flag: string | null): Html | string {
  return flag ? html`<span class="flag ${flag}">${named(p, 'flag', flag)}</span>` : '';
}

function loginForm(p: CasePageContext): Html {
  return html`<form method="post" action="/login">${hidden('csrf', p.csrf)}<button type="submit">${p.ct('action.login')}</button></form>`;
}

export function signInPage(p: CasePageContext, message: CaseMessageKey): string {
  return layout(p, p.ct('page.case_error'), html`<p class="lead">${p.ct(message)}</p>${loginForm(p)}`);
}

export function caseErrorPage(p: CasePageContext, message: string): string {
  return layout(p, p.ct('page.case_error'), html`<p class="error" role="alert">${message}</p><p><a href="/">${p.t('action.home')}</a></p>`);
}

// Applying ----------------------------------------------------------------------------------------

export function applyPage(p: CasePageContext, form: ItemForm, key: string, error?: string): string {
  const { item } = form;
  const materials = item.materials.map((m, slot) => {
    if (m.source.channel === 'e_license')
      return html`<li><span class="material">${m.name}</span><span class="hint">${p.ct('text.material_license', { type: m.source.license_type ?? '' })}</span>
        ${hidden(`ref_${slot}`, `e-license:${m.source.license_type ?? m.name}`)}</li>`;
    return html`<li><label for="file_${slot}" class="material">${m.name}</label>
      <input id="file_${slot}" name="file_${slot}" type="file" accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg" required>
      <span class="hint">${p.ct('text.material_upload')}</span></li>`;
  });
  return layout(
    p,
    p.ct('page.apply', { item: item.name }),
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p class="lead">${p.ct('text.apply_lead')}</p>
<form method="post" action="/apply/${form.code}" enctype="multipart/form-data" class="case">
${hidden('csrf', p.csrf)}${hidden('key', key)}${hidden('version', String(form.version))}
<fieldset><legend>${p.ct('field.materials')}</legend><ol class="materials">${materials}</ol></fieldset>
<label for="delivery">${p.ct('field.delivery')}</label>
<select id="delivery" name="delivery">${item.delivery.map((d) => html`<option value="${d}">${named(p, 'delivery', d)}</option>`)}</select>
${item.delivery.includes('mail') ? html`<label for="address">${p.ct('field.address')}</label><input id="address" name="address" maxlength="200" autocomplete="street-address">` : ''}
<button type="submit">${p.ct('action.submit')}</button>
</form>`,
  );
}

export function receiptPage(p: CasePageContext, receipt: Json): string {
  const item = receipt.item as { name: string; version: number };
  const materials = (receipt.materials as { name: string; source: string; digest: string | null }[]) ?? [];
  return layout(
    p,
    p.ct('page.receipt'),
    html`<p class="lead" role="status">${p.ct('text.receipt_lead')}</p>
<dl class="record">
<dt>${p.ct('field.number')}</dt><dd><strong class="number">${String(receipt.number)}</strong></dd>
${receipt.query_code ? html`<dt>${p.ct('field.query_code')}</dt><dd><code>${String(receipt.query_code)}</code></dd>` : ''}
<dt>${p.ct('field.item')}</dt><dd>${item.name}（v${item.version}）</dd>
<dt>${p.ct('field.received_at')}</dt><dd>${time(String(receipt.received_at))}</dd>
${receipt.acceptance_due ? html`<dt>${p.ct('phase.acceptance')}</dt><dd>${String(receipt.acceptance_due)}</dd>` : ''}
</dl>
<h2>${p.ct('field.materials')}</h2>
<ul class="plain">${materials.map((m) => html`<li>${m.name}${m.digest ? html` <code class="digest">${m.digest.slice(0, 20)}…</code>` : ''}</li>`)}</ul>
<p><a href="/my-cases/${String(receipt.number)}">${p.ct('action.open')}</a> · <a href="/my-cases">${p.ct('action.my_cases')}</a></p>`,
  );
}

// Cases -------------------------------------------------------------------------------------------

function caseList(p: CasePageContext, lines: CaseLine[], href: (n: string) => string): Html {
  return html`<ul class="cases">${lines.map(
    (c) => html`<li><a href="${href(c.number)}">${c.number}</a> ${flagOf(p, c.flag)}
      <span class="where">${c.item.name} · ${named(p, 'state', c.state)}${c.outcome ? html` · ${named(p, 'outcome', c.outcome)}` : ''}${c.due_on ? html` · ${p.ct('field.due')} ${c.due_on}` : ''}</span></li>`,
  )}</ul>`;
}

export function myCasesPage(p: CasePageContext, lines: CaseLine[]): string {
  return layout(
    p,
    p.ct('page.my_cases'),
    lines.length ? caseList(p, lines, (n) => `/my-cases/${n}`) : html`<p>${p.ct('text.no_cases')}</p>`,
  );
}

function clockOf(p: CasePageContext, v: CaseView): Html | string {
  if (!v.clock) return '';
  const r = v.clock.promised;
  const state =
    r.status === 'paused'
      ? p.ct('text.paused', { days: r.remaining })
      : r.status === 'overdue'
        ? p.ct('text.overdue_by')
        : p.ct('text.remaining', { days: r.remaining });
  return html`<dt>${p.ct('field.clock')}</dt><dd>${named(p, 'phase', v.clock.phase)}：${r.due ?? '—'}（${state}）${flagOf(p, r.status === 'on_time' ? null : r.status)}</dd>
${v.clock.legal.due ? html`<dt>${p.ct('field.legal_due')}</dt><dd>${v.clock.legal.due}</dd>` : ''}`;
}

function timeline(p: CasePageContext, steps: StepView[], withNotes: boolean): Html {
  return html`<ol class="timeline">${steps.map(
    (s) => html`<li><strong>${named(p, 'state', s.state)}</strong>${s.event ? html` → ${named(p, 'event', s.event)}` : ''}
      <dl class="record">
        <dt>${p.ct('field.start')}</dt><dd>${time(s.started_at)}</dd>
        ${s.ended_at ? html`<dt>${p.ct('field.end')}</dt><dd>${time(s.ended_at)}</dd><dt>${p.ct('field.duration')}</dt><dd>${duration(p, s)}</dd>` : ''}
        ${s.deadline ? html`<dt>${p.ct('field.deadline')}</dt><dd>${s.deadline}</dd>` : ''}
        ${s.actor_role ? html`<dt>${p.ct('field.role')}</dt><dd>${named(p, 'role', s.actor_role)}${s.authority_name ? html`（${s.authority_name}）` : ''}</dd>` : ''}
        ${withNotes && s.note && Object.keys(s.note).length ? html`<dt>${p.ct('field.reason')}</dt><dd>${noteText(p, s.note)}</dd>` : ''}
      </dl></li>`,
  )}</ol>`;
}

/** A step's note: its values, those of the case vocabulary by name. */
function noteText(p: CasePageContext, note: Record<string, unknown>): string {
  const vocabulary = new Set(['opinion', 'kind', 'method', 'outcome']);
  return Object.entries(note)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([k, v]) => (vocabulary.has(k) ? named(p, k, String(v)) : String(v)))
    .join('；');
}

function summary(p: CasePageContext, v: CaseView): Html {
  return html`<dl class="record">
<dt>${p.ct('field.item')}</dt><dd>${v.item.name}</dd>
<dt>${p.ct('field.authority')}</dt><dd>${v.authority_name}</dd>
<dt>${p.ct('field.state')}</dt><dd>${named(p, 'state', v.state)}${v.deemed_accepted ? html` <span class="hint">${p.ct('text.deemed')}</span>` : ''}</dd>
${v.outcome ? html`<dt>${p.ct('field.outcome')}</dt><dd>${named(p, 'outcome', v.outcome)}${v.outcome_reasons ? html`：${v.outcome_reasons}` : ''}</dd>` : ''}
<dt>${p.ct('field.received_at')}</dt><dd>${time(v.received_at)}</dd>
${clockOf(p, v)}
${v.result ? html`<dt>${p.ct('field.result')}</dt><dd>${String(v.result.name ?? '')} <code>${String(v.result.id ?? '')}</code></dd>` : ''}
</dl>`;
}

function opinions(p: CasePageContext, v: CaseView): Html | string {
  if (!v.opinions?.length) return '';
  return html`<h2>${p.ct('field.opinions')}</h2><ul class="plain">${v.opinions.map(
    (
      o,
    ) => html`<li>${o.authority_name}：${o.given_at ? (o.opinion ? named(p, 'opinion', o.opinion) : '✓') : `${p.ct('field.deadline')} ${o.due_on}`}
      ${o.overdue ? flagOf(p, 'overdue') : ''}${o.reason ? html` <span class="hint">${o.reason}</span>` : ''}</li>`,
  )}</ul>`;
}

/** The missing materials of an open correction, with a file input for each. */
function correctionForm(p: CasePageContext, v: CaseView): Html | string {
  const open = v.suspensions.find((s) => s.kind === 'correction' && s.to === null);
  if (v.state !== 'correction_requested' || !open) return '';
  const missing = open.missing ?? [];
  return html`<h2>${p.ct('action.supply')}</h2><p>${p.ct('text.correction_lead')}</p>
<form method="post" action="/my-cases/${v.number}/supply" enctype="multipart/form-data" class="case">
${hidden('csrf', p.csrf)}
<ol class="materials">${missing.map((m) =>
    m.slot === undefined
      ? html`<li>${m.name}：${m.reason}</li>`
      : html`<li><label for="file_${m.slot}" class="material">${m.name}</label><span class="hint">${m.reason}</span>
        <input id="file_${m.slot}" name="file_${m.slot}" type="file" accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg" required></li>`,
  )}</ol>
<button type="submit">${p.ct('action.supply')}</button>
</form>`;
}

const WITHDRAWABLE = ['received', 'correction_requested', 'under_review', 'suspended', 'reviewed'];

export function applicantCasePage(p: CasePageContext, v: CaseView): string {
  return layout(
    p,
    p.ct('page.case', { number: v.number }),
    html`${summary(p, v)}${correctionForm(p, v)}
<h2>${p.ct('field.timeline')}</h2>${timeline(p, v.timeline, false)}
${opinions(p, v)}
<h2>${p.ct('field.notices')}</h2><ul class="plain">${(v.notices ?? []).map((n) => html`<li><span class="hint">${time(n.created_at)}</span> ${n.text}</li>`)}</ul>
<h2>${p.ct('field.accesses')}</h2><ul class="plain">${(v.accesses ?? []).map(
      (a) =>
        html`<li><span class="hint">${time(a.at)}</span> ${named(p, 'event', a.event.replace(/^case\./, ''))} ${a.role ? named(p, 'role', a.role) : ''}</li>`,
    )}</ul>
${WITHDRAWABLE.includes(v.state) ? html`<form method="post" action="/my-cases/${v.number}/withdraw">${hidden('csrf', p.csrf)}<button type="submit" class="secondary">${p.ct('action.withdraw')}</button></form>` : ''}`,
  );
}

export function trackPage(p: CasePageContext, found?: CaseView, error?: string, number = ''): string {
  return layout(
    p,
    p.ct('page.track'),
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p class="lead">${p.ct('text.track_lead')}</p>
<form method="post" action="/track" class="case">
${hidden('csrf', p.csrf)}
<label for="number">${p.ct('field.number')}</label><input id="number" name="number" value="${number}" required maxlength="40" autocomplete="off">
<label for="phone_tail">${p.ct('field.phone_tail')}</label><input id="phone_tail" name="phone_tail" inputmode="numeric" maxlength="4" autocomplete="off">
<label for="query_code">${p.ct('field.query_code')}</label><input id="query_code" name="query_code" maxlength="16" autocomplete="off">
<button type="submit">${p.ct('action.track')}</button>
</form>
${found ? html`<h2>${found.number}</h2>${summary(p, found)}<h2>${p.ct('field.timeline')}</h2>${timeline(p, found.timeline, false)}` : ''}`,
  );
}

// The workbench -------------------------------------------------------------------------------------

export function workbenchPage(
  p: CasePageContext,
  queue: Awaited<ReturnType<import('../case-client.ts').CaseClient['queue']>>,
  filter: string,
): string {
  const filters = ['all', 'due_soon', 'overdue'];
  return layout(
    p,
    p.ct('page.workbench'),
    html`<nav class="filters" aria-label="${p.ct('field.filter')}">${filters.map((f) =>
      f === filter ? html`<strong>${named(p, 'filter', f)}</strong>` : html`<a href="/workbench?status=${f}">${named(p, 'filter', f)}</a>`,
    )} <a href="/workbench/supervision">${p.ct('page.supervision')}</a></nav>
${queue.cases.length ? caseList(p, queue.cases, (n) => `/workbench/cases/${n}`) : html`<p>${p.ct('text.queue_empty')}</p>`}
${queue.opinions.length ? html`<h2>${p.ct('text.opinions_owed')}</h2><ul class="cases">${queue.opinions.map((o) => html`<li><a href="/workbench/cases/${o.number}">${o.number}</a> ${flagOf(p, o.flag)}<span class="where">${o.item_name} · ${p.ct('field.deadline')} ${o.due_on}</span></li>`)}</ul>` : ''}`,
  );
}

/** Supervision: per authority and item, what came in and closed, what is late, time against the promise. */
export function supervisionPage(p: CasePageContext, s: { today: string; items: SupervisionRow[] }): string {
  return layout(
    p,
    p.ct('page.supervision'),
    html`<p class="hint">${p.ct('text.supervision_lead', { today: s.today })}</p>
<ul class="cases">${s.items.map(
      (i) => html`<li><strong>${i.item_name}</strong> <span class="hint">${i.authority}</span>
  <dl class="record">
    <dt>${p.ct('field.received_count')}</dt><dd>${i.received}</dd>
    <dt>${p.ct('field.closed_count')}</dt><dd>${i.closed}</dd>
    <dt>${p.ct('field.open_count')}</dt><dd>${i.open}${i.overdue_open ? html` ${flagOf(p, 'overdue')} ${i.overdue_open}` : ''}</dd>
    <dt>${p.ct('field.decided_late')}</dt><dd>${i.decided_late} / ${i.decided}</dd>
    <dt>${p.ct('field.average_days')}</dt><dd>${i.average_decision_days ?? '—'} / ${p.ct('working_days', { days: i.promised_days })}</dd>
  </dl></li>`,
    )}</ul>`,
  );
}

const reasonField = (p: CasePageContext, name: string, key: CaseMessageKey, required: boolean) =>
  html`<label for="${name}">${p.ct(key)}</label><textarea id="${name}" name="${name}" rows="2" maxlength="1000" ${required ? 'required' : ''}></textarea>`;
const choice = (p: CasePageContext, name: string, key: CaseMessageKey, prefix: string, values: string[]) =>
  html`<label for="${name}">${p.ct(key)}</label><select id="${name}" name="${name}">${values.map((v) => html`<option value="${v}">${named(p, prefix, v)}</option>`)}</select>`;

/** The fields each action's form asks for. */
function actionFields(p: CasePageContext, action: string, v: CaseView): Html | string {
  switch (action) {
    case 'request_correction':
      return html`<fieldset><legend>${p.ct('field.missing')}</legend>${(v.item_materials ?? []).map(
        (name, slot) => html`<label class="option"><input type="checkbox" name="missing_${slot}" value="1"> ${name}</label>
          <label for="reason_${slot}" class="hint">${p.ct('field.reasons')}（${name}）</label><input id="reason_${slot}" name="reason_${slot}" maxlength="200">`,
      )}</fieldset>${reasonField(p, 'other', 'field.other_missing', false)}`;
    case 'accept':
      return v.joint
        ? html`<label for="opinion_days">${p.ct('field.opinion_days')}</label><input id="opinion_days" name="opinion_days" type="number" min="0" max="60" inputmode="numeric">`
        : '';
    case 'refuse':
    case 'extend':
      return reasonField(p, 'reasons', 'field.reasons', true);
    case 'record_review':
      return html`${choice(p, 'method', 'field.method', 'method', ['written', 'on_site'])}${reasonField(p, 'finding', 'field.finding', true)}`;
    case 'suspend':
      return html`${choice(p, 'kind', 'field.kind', 'kind', ['hearing', 'testing', 'expert_review'])}${reasonField(p, 'reasons', 'field.reasons', true)}`;
    case 'resume':
      return reasonField(p, 'finding', 'field.finding', true);
    case 'give_opinion':
      return html`${choice(p, 'opinion', 'field.opinion', 'opinion', ['agree', 'disagree'])}${reasonField(p, 'reasons', 'field.reasons', true)}`;
    case 'complete_review':
      return reasonField(p, 'summary', 'field.summary', false);
    case 'decide':
    case 'decide_on_the_spot':
      return html`${choice(p, 'outcome', 'field.outcome', 'outcome', ['approved', 'refused'])}${reasonField(p, 'reasons', 'field.reasons', false)}`;
    default:
      return '';
  }
}

export function staffCasePage(p: CasePageContext, v: CaseView, done?: string): string {
  const applicant = v.applicant;
  return layout(
    p,
    p.ct('page.case', { number: v.number }),
    html`${done ? html`<p class="lead" role="status">${p.ct('text.done', { action: named(p, 'event', done) })}</p>` : ''}
${summary(p, v)}
${applicant ? html`<dl class="record"><dt>${p.ct('field.applicant')}</dt><dd>${applicant.name}${applicant.phone ? ` · ${applicant.phone}` : ''}</dd><dt>${p.ct('field.delivery')}</dt><dd>${named(p, 'delivery', v.delivery)}</dd></dl>` : ''}
<h2>${p.ct('field.materials')}</h2>
<ul class="plain">${(v.materials ?? []).map(
      (m) =>
        html`<li>${m.name ?? ''}${m.round ? ` (${m.round})` : ''}：${m.source === 'upload' ? html`<a href="/workbench/cases/${v.number}/materials/${m.id}">${p.ct('action.download')}</a>` : named(p, 'kind', m.source)}</li>`,
    )}</ul>
${opinions(p, v)}
${(v.actions ?? []).map(
  (action) => html`<form method="post" action="/workbench/cases/${v.number}/${action}" class="case action">
  <h2>${named(p, 'event', action)}</h2>${hidden('csrf', p.csrf)}${actionFields(p, action, v)}
  <button type="submit">${named(p, 'event', action)}</button></form>`,
)}
<h2>${p.ct('field.timeline')}</h2>${timeline(p, v.timeline, true)}`,
  );
}
