/**
 * The person's pages of 我要问, 我要评 and 我的: their space (profile, real-name level and how to
 * raise it, cases with what they may rate), the rating form, their ratings with what was done
 * about them, the question form and the answers offered first, their questions, and their
 * notices with why each was sent and the categories they keep.
 */
import { html } from '../../infra/html.ts';
import { layout } from './pages.ts';
import { alertBox, day, known, link, postForm, radios, record, submit, textArea, type VoicePageContext } from './voice-forms.ts';

type Label = { 'zh-CN': string; en: string };

export interface ProfileView {
  name: string;
  phone: string | null;
  level: string | null;
  loa: { name: Label; next: { name: Label; how: Label } | null };
}

export interface CaseSummary {
  number: string;
  item: { code: string; name: string };
  authority_name: string;
  state: string;
  rating: Record<'acceptance' | 'closure', 'rated' | 'open' | 'not_yet'>;
}

export interface StaffLinks {
  answerer: boolean;
  rectifier: boolean;
  supervisor: boolean;
}

const MAX_COMMENT = 500;
const MAX_COMPLAINT = 1000;
const MAX_QUESTION = 500;
const CRITERIA = ['efficiency', 'guide_accuracy', 'convenience', 'platform_usability'] as const;
const STAGES = ['acceptance', 'closure'] as const;

function spaceNav(p: VoicePageContext) {
  return html`<nav class="voice" aria-label="${p.v('page.my')}">
    <ul class="chips">
      <li>${link(p, '/my', p.v('nav.my'))}</li>
      <li>${link(p, '/my/questions', p.v('nav.questions'))}</li>
      <li>${link(p, '/my/ratings', p.v('nav.ratings'))}</li>
      <li>${link(p, '/my/notices', p.v('nav.notices'))}</li>
    </ul>
  </nav>`;
}

export function mySpacePage(p: VoicePageContext, profile: ProfileView, cases: CaseSummary[], staff: StaffLinks | null): string {
  const next = profile.loa.next;
  const staffNav = staff
    ? html`<h2>${p.v('nav.staff')}</h2>
        <ul class="chips">
          ${staff.answerer ? html`<li>${link(p, '/staff/questions', p.v('nav.staff_questions'))}</li>` : ''}
          ${staff.rectifier ? html`<li>${link(p, '/staff/rectifications', p.v('nav.staff_rectifications'))}</li>` : ''}
          ${staff.supervisor ? html`<li>${link(p, '/staff/appeals', p.v('nav.staff_appeals'))}</li>` : ''}
        </ul>`
    : '';
  return layout(
    p,
    p.v('page.my'),
    html`${spaceNav(p)}
      ${record([
        [p.t('field.name'), profile.name],
        [p.v('field.phone'), profile.phone],
        [p.v('field.level'), profile.loa.name[p.locale]],
        [
          next ? p.v('field.how_to_raise', { level: next.name[p.locale] }) : p.v('field.level'),
          next ? next.how[p.locale] : p.v('text.top_level'),
        ],
      ])}
      <h2>${p.v('nav.cases')}</h2>
      ${
        cases.length === 0
          ? html`<p class="hint">${p.v('text.no_cases')}</p>`
          : html`<ol class="results">
            ${cases.map(
              (c) =>
                html`<li>
                  <strong>${link(p, `/my-cases/${encodeURIComponent(c.number)}`, c.item.name)}</strong>
                  <span class="where">${c.number} · ${c.authority_name}</span>
                  <span class="actions">
                    ${STAGES.map((s) =>
                      c.rating[s] === 'open'
                        ? link(p, `/rate/${encodeURIComponent(c.number)}?stage=${s}`, p.v('text.rate_stage', { stage: p.v(`stage.${s}`) }))
                        : c.rating[s] === 'rated'
                          ? html`<span class="hint">${p.v(`stage.${s}`)} ${p.v('text.rated')}</span>`
                          : '',
                    )}
                    ${link(p, `/ask?case=${encodeURIComponent(c.number)}`, p.v('action.ask'))}
                  </span>
                </li>`,
            )}
          </ol>`
      }
      ${staffNav}`,
  );
}

export interface RateForm {
  number: string;
  itemName: string;
  stage: 'acceptance' | 'closure';
  error?: string;
  values?: Record<string, string>;
}

export function ratePage(p: VoicePageContext, f: RateForm): string {
  const values = f.values ?? {};
  const levels: [string, string][] = ['5', '4', '3', '2', '1'].map((l) => [l, p.v(`level.${l as '5'}`)]);
  return layout(
    p,
    p.v('page.rate'),
    html`${alertBox(f.error)}
      ${record([
        [p.v('field.case'), f.number],
        [p.v('field.item'), f.itemName],
        [p.v('field.rating'), p.v(`stage.${f.stage}`)],
      ])}
      <p class="hint">${p.v('text.rate_intro')}</p>
      ${postForm(
        p,
        `/rate/${encodeURIComponent(f.number)}`,
        html`<input type="hidden" name="stage" value="${f.stage}" />
          ${radios(p.v('text.level_required'), 'level', levels, values.level)}
          ${CRITERIA.map(
            (c) =>
              html`<label class="field" for="c-${c}">${p.v(`criterion.${c}`)}${p.v('text.optional')}</label>
                <select id="c-${c}" name="${c}">
                  <option value="">${p.v('text.not_rated')}</option>
                  ${levels.map(([l, text]) => html`<option value="${l}" ${values[c] === l ? 'selected' : ''}>${text}</option>`)}
                </select>`,
          )}
          ${textArea(p, { id: 'comment', label: p.v('field.comment'), max: MAX_COMMENT, value: values.comment })}
          ${textArea(p, { id: 'complaint', label: p.v('field.complaint'), max: MAX_COMPLAINT, value: values.complaint })}
          <label class="option"><input type="checkbox" name="anonymous" value="1" ${values.anonymous ? 'checked' : ''} /> ${p.v('text.anonymous')}</label>
          ${submit(p.v('action.submit_rating'))}`,
        'voice',
      )}`,
  );
}

export interface RatingView {
  id: string;
  case_number: string;
  stage: string;
  item: { name: string };
  authority_name: string;
  level: number;
  comment: string | null;
  complaint: string | null;
  status: string;
  rated_at: string;
  task: {
    state: string;
    due_on: string;
    resolution: string | null;
    fix_by: string | null;
    can_give_view: boolean;
    rater_view: string | null;
    steps: { event: string; at: string; note: string | null; facts: Record<string, unknown> }[];
  } | null;
  appeal: { supervisor_name: string; decision: string | null; decision_reason: string | null } | null;
}

function ratingItem(p: VoicePageContext, r: RatingView) {
  const t = r.task;
  const appeal = r.appeal
    ? html`<p class="hint">
        ${
          r.appeal.decision
            ? p.v('text.appeal_decided', { supervisor: r.appeal.supervisor_name, decision: known(p, 'decision', r.appeal.decision) })
            : p.v('text.appeal_pending', { supervisor: r.appeal.supervisor_name })
        }
        ${r.appeal.decision_reason ?? ''}
      </p>`
    : '';
  const view = t?.can_give_view
    ? postForm(
        p,
        `/my/ratings/${r.id}/view`,
        html`${textArea(p, { id: `view-${r.id}`, name: 'comment', label: p.v('label.view_comment'), max: MAX_COMMENT })}
          <button type="submit" name="satisfied" value="1">${p.v('action.satisfied')}</button>
          <button type="submit" name="satisfied" value="0" class="secondary">${p.v('action.unsatisfied')}</button>`,
        'voice',
      )
    : '';
  return html`<li>
    <strong>${r.item.name}</strong>
    <span class="where">${r.case_number} · ${p.v(`stage.${r.stage as 'closure'}`)} · ${r.authority_name}</span>
    ${record([
      [p.v('field.rating'), p.v(`level.${r.level as 5}`)],
      [p.v('field.comment'), r.comment],
      [p.v('field.complaint'), r.complaint],
      [p.v('field.state'), known(p, 'state', r.status)],
      [p.v('field.rectify_due'), t && ['open', 'rectifying'].includes(t.state) ? t.due_on : null],
      [p.v('field.outcome'), t?.resolution ? known(p, 'resolution', t.resolution) : null],
    ])}
    ${
      t
        ? html`<ol class="steps">
          ${t.steps.map((s) => html`<li>${day(s.at)} ${known(p, 'step', s.event)}${s.note ? html`：${s.note}` : ''}</li>`)}
        </ol>`
        : ''
    }
    ${appeal} ${view}
  </li>`;
}

export function myRatingsPage(p: VoicePageContext, ratings: RatingView[]): string {
  return layout(
    p,
    p.v('page.my_ratings'),
    html`${spaceNav(p)}
      ${ratings.length ? html`<ol class="results">${ratings.map((r) => ratingItem(p, r))}</ol>` : html`<p class="hint">${p.v('text.no_ratings')}</p>`}`,
  );
}

export interface AskForm {
  item?: string;
  caseNumber?: string;
  about: string;
  error?: string;
  text?: string;
}

export function askPage(p: VoicePageContext, f: AskForm): string {
  return layout(
    p,
    p.v('page.ask'),
    html`${alertBox(f.error)}
      <p>${f.about}</p>
      <p class="hint">${p.v('text.ask_intro')}</p>
      ${postForm(
        p,
        '/ask',
        html`${f.item ? html`<input type="hidden" name="item" value="${f.item}" />` : ''}
          ${f.caseNumber ? html`<input type="hidden" name="case" value="${f.caseNumber}" />` : ''}
          ${textArea(p, { id: 'text', label: p.v('field.question'), max: MAX_QUESTION, required: true, value: f.text })}
          <label class="option"><input type="checkbox" name="to_staff" value="1" /> ${p.v('text.to_staff')}</label>
          ${submit(p.v('action.submit_question'))}`,
        'voice',
      )}`,
  );
}

export interface QuestionView {
  id: string;
  item: { code: string; name: string };
  case_number: string | null;
  authority_name: string;
  text: string;
  state: string;
  offered: ({ kind: 'faq'; question: string; answer: string } | { kind: 'guide'; label: Label; text: string })[];
  asked_at: string;
  due_on: string | null;
  answer: string | null;
}

export function offeredPage(p: VoicePageContext, q: QuestionView): string {
  return layout(
    p,
    p.v('page.offered'),
    html`${record([[p.v('field.question'), q.text]])}
      <p>${p.v('text.offered_intro')}</p>
      <ol class="results">
        ${q.offered.map((o) =>
          o.kind === 'faq'
            ? html`<li><span class="where">${p.v('text.faq')}</span><strong>${o.question}</strong><p>${o.answer}</p></li>`
            : html`<li><span class="where">${p.v('text.guide')}</span><strong>${o.label[p.locale]}</strong><p>${o.text}</p></li>`,
        )}
      </ol>
      ${postForm(p, `/my/questions/${q.id}/accept`, submit(p.v('action.accept_offer')), 'inline')}
      ${postForm(p, `/my/questions/${q.id}/escalate`, submit(p.v('action.escalate'), 'secondary'), 'inline')}`,
  );
}

export function myQuestionsPage(p: VoicePageContext, questions: QuestionView[]): string {
  return layout(
    p,
    p.v('page.my_questions'),
    html`${spaceNav(p)}
      ${
        questions.length
          ? html`<ol class="results">
            ${questions.map(
              (q) =>
                html`<li>
                  <strong>${p.v('text.asked_about', { item: q.item.name })}${q.case_number ? p.v('text.about_case', { number: q.case_number }) : ''}</strong>
                  ${record([
                    [p.v('field.question'), q.text],
                    [p.v('field.asked_at'), day(q.asked_at)],
                    [p.v('field.state'), known(p, 'state', q.state)],
                    [
                      p.v('field.due'),
                      q.state === 'queued' ? p.v('text.awaiting_answer', { authority: q.authority_name, due: q.due_on ?? '' }) : null,
                    ],
                    [p.v('field.answer'), q.answer],
                  ])}
                  ${q.state === 'offered' ? link(p, `/my/questions/${q.id}/offered`, p.v('page.offered')) : ''}
                </li>`,
            )}
          </ol>`
          : html`<p class="hint">${p.v('text.no_questions')}</p>`
      }`,
  );
}

export interface NoticeView {
  category: string;
  text: string;
  reason: string;
  created_at: string;
}

export function myNoticesPage(p: VoicePageContext, notices: NoticeView[], settings: Record<string, boolean>): string {
  const optional = Object.keys(settings).filter((c) => c !== 'replies');
  return layout(
    p,
    p.v('page.my_notices'),
    html`${spaceNav(p)}
      ${
        notices.length
          ? html`<ol class="results">
            ${notices.map(
              (n) =>
                html`<li>
                  <span class="where">${day(n.created_at)} · ${known(p, 'category', n.category)}</span>
                  <p>${n.text}</p>
                  <span class="hint">${p.v('field.why')}：${n.reason}</span>
                </li>`,
            )}
          </ol>`
          : html`<p class="hint">${p.v('text.no_notices')}</p>`
      }
      <h2>${p.v('text.settings')}</h2>
      ${postForm(
        p,
        '/my/notices/settings',
        html`<fieldset>
            <legend>${p.v('text.settings')}</legend>
            <label class="option"><input type="checkbox" checked disabled /> ${p.v('category.replies')}</label>
            ${optional.map(
              (c) =>
                html`<label class="option"><input type="checkbox" name="${c}" value="1" ${settings[c] ? 'checked' : ''} /> ${known(p, 'category', c)}</label>`,
            )}
          </fieldset>
          <p class="hint">${p.v('text.settings_hint')}</p>
          ${submit(p.v('action.save_settings'))}`,
        'voice',
      )}`,
  );
}
