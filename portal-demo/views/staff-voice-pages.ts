/**
 * The staff views behind 我要问 and 我要评: the question queue and a question with its answer and
 * FAQ forms (answerer); the rectification queue with due dates and a task with its steps
 * (rectifier), from which the authority may appeal a mistaken rating; the appeals a supervisor
 * reviews and the decision form.
 */
import { html } from '../../infra/html.ts';
import { layout } from './pages.ts';
import {
  alertBox,
  clockBadge,
  day,
  known,
  link,
  postForm,
  radios,
  record,
  submit,
  textArea,
  type VoicePageContext,
} from './voice-forms.ts';

const MAX_TEXT = 1000;
const MAX_ANSWER = 2000;
const MAX_QUESTION = 500;

export interface QueuedQuestion {
  id: string;
  item: { name: string };
  case_number: string | null;
  authority_name: string;
  asked_at: string;
  due_on: string;
  clock: string | null;
}

export function questionQueuePage(p: VoicePageContext, questions: QueuedQuestion[]): string {
  return layout(
    p,
    p.v('page.staff_questions'),
    questions.length
      ? html`<ol class="results">
          ${questions.map(
            (q) =>
              html`<li>
                ${link(p, `/staff/questions/${q.id}`, `${p.v('page.staff_question')} ${q.id} · ${q.item.name}`)}
                <span class="where">${q.authority_name}${q.case_number ? ` · ${q.case_number}` : ''}</span>
                <span class="where">${p.v('field.due')} ${q.due_on} ${clockBadge(p, q.clock)}</span>
              </li>`,
          )}
        </ol>`
      : html`<p class="hint">${p.v('text.queue_empty')}</p>`,
  );
}

export interface StaffQuestion {
  id: string;
  item: { code: string; name: string };
  case_number: string | null;
  authority_name: string;
  text: string;
  state: string;
  allowed: string[];
  asked_at: string;
  due_on: string | null;
  clock: string | null;
  answer: string | null;
}

export function staffQuestionPage(p: VoicePageContext, q: StaffQuestion, error?: string): string {
  const answer = q.allowed.includes('answer')
    ? postForm(
        p,
        `/staff/questions/${q.id}/answer`,
        html`${textArea(p, { id: 'answer', label: p.v('label.answer'), max: MAX_ANSWER, required: true })} ${submit(p.v('action.answer'))}`,
        'voice',
      )
    : '';
  const publish = q.allowed.includes('publish')
    ? postForm(
        p,
        `/staff/questions/${q.id}/publish`,
        html`${textArea(p, { id: 'faq-question', name: 'question', label: p.v('label.faq_question'), max: MAX_QUESTION, value: q.text })}
          ${textArea(p, { id: 'faq-answer', name: 'answer', label: p.v('label.faq_answer'), max: MAX_ANSWER, value: q.answer ?? '' })}
          ${submit(p.v('action.publish'), 'secondary')}`,
        'voice',
      )
    : '';
  return layout(
    p,
    `${p.v('page.staff_question')} ${q.id}`,
    html`${alertBox(error)}
      ${record([
        [p.v('field.item'), q.item.name],
        [p.v('field.case'), q.case_number],
        [p.v('field.authority'), q.authority_name],
        [p.v('field.asked_at'), day(q.asked_at)],
        [p.v('field.due'), q.due_on ? html`${q.due_on} ${clockBadge(p, q.clock)}` : null],
        [p.v('field.state'), known(p, 'state', q.state)],
        [p.v('field.question'), q.text],
        [p.v('field.answer'), q.answer],
      ])}
      ${answer} ${publish}
      <p>${link(p, '/staff/questions', p.v('action.back'))}</p>`,
  );
}

export interface QueuedTask {
  id: string;
  case_number: string;
  item: { name: string };
  authority_name: string;
  level_name: string;
  complaint: boolean;
  state: string;
  call_back_needed: boolean;
  call_back_due_on: string;
  called_back_on: string | null;
  due_on: string;
  fix_by: string | null;
  clock: string;
}

export function rectificationQueuePage(p: VoicePageContext, tasks: QueuedTask[]): string {
  return layout(
    p,
    p.v('page.staff_rectifications'),
    tasks.length
      ? html`<ol class="results">
          ${tasks.map(
            (t) =>
              html`<li>
                ${link(p, `/staff/rectifications/${t.id}`, `${p.v('page.staff_rectification')} ${t.id} · ${t.item.name}`)}
                <span class="where">${t.case_number} · ${t.level_name}${t.complaint ? ` · ${p.v('field.complaint')}` : ''} · ${known(p, 'state', t.state)}</span>
                <span class="where"
                  >${t.state === 'rectifying' ? `${p.v('label.fix_by')} ${t.fix_by}` : `${p.v('field.rectify_due')} ${t.due_on}`}
                  ${clockBadge(p, t.clock)}</span
                >
                ${
                  t.call_back_needed && !t.called_back_on
                    ? html`<span class="where">${p.v('field.call_back_due')} ${t.call_back_due_on}</span>`
                    : ''
                }
              </li>`,
          )}
        </ol>`
      : html`<p class="hint">${p.v('text.queue_empty')}</p>`,
  );
}

export interface TaskView {
  id: string;
  state: string;
  allowed: string[];
  authority_name: string;
  case_number: string;
  due_on: string;
  clock: string | null;
  call_back_needed: boolean;
  call_back_due_on: string;
  called_back_on: string | null;
  resolution: string | null;
  fix_by: string | null;
  rating: {
    id: string;
    item: { name: string };
    level_name: string;
    stage: string;
    comment: string | null;
    complaint: string | null;
    status: string;
  };
  rater: { name: string; phone: string | null } | null;
  steps: { event: string; at: string; note: string | null; facts: Record<string, unknown> }[];
  appeal: { id: string; supervisor_name: string; reason: string; decision: string | null; decision_reason: string | null } | null;
}

export function rectificationPage(p: VoicePageContext, t: TaskView, error?: string): string {
  const forms = {
    call_back: () =>
      html`${radios(p.v('label.reached'), 'reached', [
        ['1', p.v('text.reached')],
        ['0', p.v('text.not_reached')],
      ])}
      ${textArea(p, { id: 'call-back-note', name: 'note', label: p.v('label.note'), max: MAX_TEXT, required: true })}
      ${submit(p.v('action.call_back'))}`,
    resolve: () =>
      html`${radios(p.v('label.resolution'), 'resolution', [
        ['fixed_now', p.v('resolution.fixed_now')],
        ['without_basis', p.v('resolution.without_basis')],
      ])}
      ${textArea(p, { id: 'explanation', label: p.v('label.explanation'), max: MAX_TEXT, required: true })}
      ${submit(p.v('action.resolve'))}`,
    schedule_fix: () =>
      html`<label class="field" for="fix-by">${p.v('label.fix_by')}</label>
        <input id="fix-by" name="fix_by" type="date" required />
        ${textArea(p, { id: 'ledger', label: p.v('label.ledger'), max: MAX_TEXT, required: true })}
        ${submit(p.v('action.schedule_fix'), 'secondary')}`,
    complete_fix: () =>
      html`${textArea(p, { id: 'complete-note', name: 'note', label: p.v('label.note'), max: MAX_TEXT, required: true })}
      ${submit(p.v('action.complete_fix'))}`,
  };
  const steps = (Object.keys(forms) as (keyof typeof forms)[])
    .filter((s) => t.allowed.includes(s))
    .map((s) => html`<h2>${p.v(`action.${s}`)}</h2>${postForm(p, `/staff/rectifications/${t.id}/${s}`, forms[s](), 'voice')}`);
  const appealable = t.state === 'open' && !t.appeal;
  return layout(
    p,
    `${p.v('page.staff_rectification')} ${t.id}`,
    html`${alertBox(error)}
      ${record([
        [p.v('field.case'), t.case_number],
        [p.v('field.item'), t.rating.item.name],
        [p.v('field.authority'), t.authority_name],
        [p.v('field.rating'), `${t.rating.level_name} · ${known(p, 'stage', t.rating.stage)}`],
        [p.v('field.comment'), t.rating.comment],
        [p.v('field.complaint'), t.rating.complaint],
        [
          p.v('field.rater'),
          t.rater ? p.v('text.contact', { name: t.rater.name, phone: t.rater.phone ?? '—' }) : p.v('text.anonymous_rater'),
        ],
        [p.v('field.state'), known(p, 'state', t.state)],
        [p.v('field.rectify_due'), html`${t.due_on} ${clockBadge(p, t.clock)}`],
        [p.v('field.call_back_due'), t.call_back_needed && !t.called_back_on ? t.call_back_due_on : null],
        [p.v('step.call_back'), t.called_back_on],
        [p.v('field.outcome'), t.resolution ? `${known(p, 'resolution', t.resolution)}${t.fix_by ? ` · ${t.fix_by}` : ''}` : null],
      ])}
      <h2>${p.v('field.steps')}</h2>
      <ol class="steps">
        ${t.steps.map(
          (s) =>
            html`<li>
              ${day(s.at)} ${known(p, 'step', s.event)}${s.event === 'call_back' ? ` · ${p.v(s.facts.reached ? 'text.reached' : 'text.not_reached')}` : ''}${
                s.note ? html`：${s.note}` : ''
              }
            </li>`,
        )}
      </ol>
      ${
        t.appeal
          ? record([
              [p.v('label.appeal_reason'), t.appeal.reason],
              [p.v('field.supervisor'), t.appeal.supervisor_name],
              [
                p.v('field.outcome'),
                t.appeal.decision ? `${known(p, 'decision', t.appeal.decision)} ${t.appeal.decision_reason ?? ''}` : null,
              ],
            ])
          : ''
      }
      ${steps}
      ${
        appealable
          ? html`<h2>${p.v('action.appeal')}</h2>
            ${postForm(
              p,
              `/staff/rectifications/${t.id}/appeal`,
              html`${textArea(p, { id: 'appeal-reason', name: 'reason', label: p.v('label.appeal_reason'), max: MAX_TEXT, required: true })}
                ${submit(p.v('action.appeal'), 'secondary')}`,
              'voice',
            )}`
          : ''
      }
      <p>${link(p, '/staff/rectifications', p.v('action.back'))}</p>`,
  );
}

export interface AppealView {
  id: string;
  case_number: string;
  item: { name: string };
  level_name: string;
  authority_name: string;
  supervisor_name: string;
  reason: string;
  filed_on: string;
  due_on: string;
  overdue: boolean;
  decision: string | null;
  decision_reason: string | null;
}

export function appealQueuePage(p: VoicePageContext, appeals: AppealView[]): string {
  return layout(
    p,
    p.v('page.staff_appeals'),
    appeals.length
      ? html`<ol class="results">
          ${appeals.map(
            (a) =>
              html`<li>
                ${link(p, `/staff/appeals/${a.id}`, `${p.v('page.staff_appeal')} ${a.id} · ${a.item.name}`)}
                <span class="where">${a.case_number} · ${a.authority_name} · ${a.level_name}</span>
                <span class="where">${p.v('field.due')} ${a.due_on} ${clockBadge(p, a.overdue ? 'overdue' : 'on_time')}</span>
              </li>`,
          )}
        </ol>`
      : html`<p class="hint">${p.v('text.queue_empty')}</p>`,
  );
}

export function appealPage(p: VoicePageContext, a: AppealView, error?: string): string {
  return layout(
    p,
    `${p.v('page.staff_appeal')} ${a.id}`,
    html`${alertBox(error)}
      ${record([
        [p.v('field.case'), a.case_number],
        [p.v('field.item'), a.item.name],
        [p.v('field.authority'), a.authority_name],
        [p.v('field.rating'), a.level_name],
        [p.v('label.appeal_reason'), a.reason],
        [p.v('field.due'), a.due_on],
        [p.v('field.outcome'), a.decision ? `${known(p, 'decision', a.decision)} ${a.decision_reason ?? ''}` : null],
      ])}
      ${
        a.decision
          ? ''
          : postForm(
              p,
              `/staff/appeals/${a.id}/decide`,
              html`${radios(p.v('field.outcome'), 'decision', [
                ['upheld', p.v('action.uphold')],
                ['rejected', p.v('action.reject')],
              ])}
              ${textArea(p, { id: 'decision-reason', name: 'reason', label: p.v('label.decision_reason'), max: MAX_TEXT, required: true })}
              ${submit(p.v('action.decide'))}`,
              'voice',
            )
      }
      <p>${link(p, '/staff/appeals', p.v('action.back'))}</p>`,
  );
}
