/**
 * The handling authority's side of a bad rating: its rectifiers' queue with due dates, a task's
 * detail (the rater's contact only for a named rater, and every reading of it audited where the
 * rater reads their case's accesses), and the steps: call-back, resolution (fixed at once,
 * explained as without basis, or fixed by a date kept in the ledger) and the fix's completion.
 * Each step is one transaction: the task's state and facts, its event (what was said,
 * encrypted), the audit entry; the rater is told of every answer in their space and by SMS.
 */
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import { BadRequest, Forbidden, NotFound } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';
import { openPerson, today } from '../cases/case-context.ts';
import { sendNotices, type PendingNotice } from '../cases/case-notices.ts';
import { roleFor, type Staff } from '../cases/staff-grants.ts';
import { postNotice } from '../my-space/space-notices.ts';
import { freeText } from '../voice/free-text.ts';
import { auditRefusals } from '../voice/refusals.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { COMMENT_AAD, COMPLAINT_AAD, NOTE_AAD, APPEAL_DECISION_AAD, APPEAL_REASON_AAD } from './ratings.ts';
import { isBad, LEVELS } from './rating-rules.ts';
import * as store from './rating-store.ts';
import { taskLifecycle, type TaskEvent, type TaskState } from './rectification-lifecycle.ts';
import { authorityNames } from '../cases/case-views.ts';

const MAX_NOTE = 1000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The steps staff take, with their bodies (free text is checked apart). */
const STAFF_STEPS = {
  call_back: z.object({ reached: z.boolean(), note: z.unknown() }).strict(),
  resolve: z.object({ resolution: z.enum(['fixed_now', 'without_basis']), explanation: z.unknown() }).strict(),
  schedule_fix: z
    .object({
      fix_by: z
        .string()
        .regex(DATE, 'a date, YYYY-MM-DD')
        .refine((d) => !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d), 'is not a calendar date'),
      ledger: z.unknown(),
    })
    .strict(),
  complete_fix: z.object({ note: z.unknown() }).strict(),
} satisfies Partial<Record<TaskEvent, z.ZodType>>;
export type StaffStep = keyof typeof STAFF_STEPS;
export const STAFF_STEP_NAMES = Object.keys(STAFF_STEPS) as StaffStep[];

const RESOLUTION_TEXT = {
  fixed_now: '已立即整改',
  fixed_by_date: '已列入整改台账',
  without_basis: '经核实，评价所述问题无事实依据，已作说明',
} as const;

export type QueueFilter = 'all' | 'due_soon' | 'overdue';

function clockStatus(deps: VoiceDeps, dueOn: string): 'on_time' | 'due_soon' | 'overdue' {
  const on = today(deps);
  if (on > dueOn) return 'overdue';
  return dueOn < deps.clock.dueSoonBefore(on) ? 'due_soon' : 'on_time';
}

/** The open tasks of the authorities where `staff` rectifies, soonest due first. */
export async function rectificationQueue(deps: VoiceDeps, staff: Staff, filter: QueueFilter, limit: number) {
  const authorities = [...new Set(staff.grants.filter((g) => g.role === 'rectifier').map((g) => g.authority))];
  if (authorities.length === 0) throw new Forbidden('role_required', 'the rectification queue needs the role rectifier at an authority');
  const states: TaskState[] = ['open', 'rectifying'];
  const rows = await store.tasksOf(deps.db, authorities, states, limit);
  const names = await authorityNames(deps.db, authorities);
  const tasks = rows
    .map((t) => ({
      id: t.id,
      rating_id: t.rating_id,
      case_number: t.case_number,
      item: { code: t.item_code, name: t.item_name },
      authority: t.authority,
      authority_name: names[t.authority],
      level: t.level,
      level_name: LEVELS[t.level]!['zh-CN'],
      complaint: t.complaint,
      state: t.state,
      opened_on: t.opened_on,
      call_back_needed: t.call_back_needed,
      call_back_due_on: t.call_back_due_on,
      called_back_on: t.called_back_on,
      due_on: t.due_on,
      fix_by: t.fix_by,
      clock: clockStatus(deps, t.state === 'rectifying' ? t.fix_by! : t.due_on),
    }))
    .filter((t) => filter === 'all' || t.clock === filter || (filter === 'due_soon' && t.clock === 'overdue'));
  return { tasks };
}

/** The task for staff who rectify at its authority, or supervise it; 403 otherwise. */
function checkReader(staff: Staff, t: store.TaskRow, supervisor: string | null): string {
  const grant = staff.grants.find(
    (g) =>
      (g.authority === t.authority && g.role === 'rectifier') ||
      (supervisor !== null && g.authority === supervisor && g.role === 'supervisor'),
  );
  if (!grant)
    throw new Forbidden('outside_authority', `task ${t.id} belongs to ${t.authority}; you hold no rectifier or supervisor role for it`);
  return `${grant.role}@${grant.authority}`;
}

/** A task as staff read it: the rating, the rater's contact when named, every step with what was said. */
export async function taskDetail(deps: VoiceDeps, staff: Staff, id: string) {
  const t = await store.task(deps.db, id);
  if (!t) throw new NotFound(`no rectification task ${id}`, 'unknown_task');
  const a = await store.appealOfRating(deps.db, t.rating_id);
  const as = checkReader(staff, t, a?.supervisor ?? null);
  const r = (await store.rating(deps.db, t.rating_id))!;
  const [role, authority] = as.split('@');
  await deps.db.transaction((tx) =>
    appendAudit(tx, {
      event: 'rating.read',
      subject: `case:${t.case_number}`,
      detail: { rating: r.id, role, authority, actor: staff.index, contact: r.real_name },
    }),
  );
  const rater = r.real_name ? openPerson(deps, r.rater_enc) : null;
  const names = await authorityNames(deps.db, [t.authority, ...(a ? [a.supervisor] : [])]);
  return {
    id: t.id,
    state: t.state,
    allowed: taskLifecycle.eventsFrom(t.state).filter((e) => (STAFF_STEP_NAMES as string[]).includes(e)),
    authority: t.authority,
    authority_name: names[t.authority],
    case_number: t.case_number,
    opened_on: t.opened_on,
    due_on: t.due_on,
    clock: ['open', 'rectifying'].includes(t.state) ? clockStatus(deps, t.state === 'rectifying' ? t.fix_by! : t.due_on) : null,
    call_back_needed: t.call_back_needed,
    call_back_due_on: t.call_back_due_on,
    called_back_on: t.called_back_on,
    resolution: t.resolution,
    answered_on: t.answered_on,
    fix_by: t.fix_by,
    fixed_on: t.fixed_on,
    rater_view: t.rater_view,
    rating: {
      id: r.id,
      stage: r.stage,
      item: { code: r.item_code, name: r.item_name },
      level: r.level,
      level_name: LEVELS[r.level]!['zh-CN'],
      bad: isBad(r.level),
      criteria: r.criteria,
      comment: r.comment_enc ? deps.cipher.decrypt(r.comment_enc, COMMENT_AAD) : null,
      complaint: r.complaint_enc ? deps.cipher.decrypt(r.complaint_enc, COMPLAINT_AAD) : null,
      status: r.status,
      rated_at: r.rated_at,
    },
    rater: rater ? { name: rater.name, phone: rater.phone } : null,
    steps: (await store.events(deps.db, t.id)).map((e) => ({
      event: e.event,
      at: e.at,
      from: e.from_state,
      to: e.to_state,
      role: e.actor_role,
      authority: e.authority,
      facts: e.facts,
      note: e.note_enc ? deps.cipher.decrypt(e.note_enc, NOTE_AAD) : null,
    })),
    appeal: a
      ? {
          id: a.id,
          supervisor: a.supervisor,
          supervisor_name: names[a.supervisor],
          reason: deps.cipher.decrypt(a.reason_enc, APPEAL_REASON_AAD),
          filed_on: a.filed_on,
          due_on: a.due_on,
          decision: a.decision,
          decision_reason: a.decision_reason_enc ? deps.cipher.decrypt(a.decision_reason_enc, APPEAL_DECISION_AAD) : null,
          decided_on: a.decided_on,
        }
      : null,
  };
}

/** A step of a rectifier on a task; returns the task as staff read it. */
export async function takeStep(deps: VoiceDeps, staff: Staff, id: string, step: StaffStep, raw: unknown) {
  const subject = `task:${id}`;
  await auditRefusals(deps.db, { event: `rectification.${step}`, subject, by: staff.index }, async () => {
    const body = validate(STAFF_STEPS[step] as z.ZodType, raw) as Record<string, unknown>;
    const on = today(deps);
    const note =
      step === 'call_back'
        ? freeText('note', body.note, MAX_NOTE, true)!
        : step === 'resolve'
          ? freeText('explanation', body.explanation, MAX_NOTE, true)!
          : step === 'schedule_fix'
            ? freeText('ledger', body.ledger, MAX_NOTE, true)!
            : freeText('note', body.note, MAX_NOTE, true)!;
    if (step === 'schedule_fix' && !((body.fix_by as string) > on && deps.clock.calendar.isWorkingDay(body.fix_by as string)))
      throw new BadRequest('invalid_request', `fix_by: a working day after today (${on})`);
    const pending = await deps.db.transaction(async (tx) => {
      const t = await store.task(tx, id, true);
      if (!t) throw new NotFound(`no rectification task ${id}`, 'unknown_task');
      const role = roleFor(staff, t.authority, taskLifecycle.firers(step), `${step} on rectification task ${id}`);
      const to = taskLifecycle.next(t.state, step, { callBackNeeded: t.call_back_needed, calledBack: t.called_back_on !== null });
      const at = deps.now();
      const patch: store.TaskPatch = { state: to };
      const facts: Record<string, unknown> = {};
      if (step === 'call_back') {
        if (t.called_back_on === null) patch.called_back_on = on;
        facts.reached = body.reached;
      } else if (step === 'resolve') {
        Object.assign(patch, { resolution: body.resolution, answered_on: on });
        facts.resolution = body.resolution;
        facts.on_time = on <= t.due_on;
      } else if (step === 'schedule_fix') {
        Object.assign(patch, { resolution: 'fixed_by_date', answered_on: on, fix_by: body.fix_by });
        Object.assign(facts, { resolution: 'fixed_by_date', fix_by: body.fix_by, on_time: on <= t.due_on });
      } else {
        patch.fixed_on = on;
        facts.late = on > t.fix_by!;
      }
      await store.updateTask(tx, t.id, patch);
      await store.insertEvent(tx, t.id, {
        event: step,
        from_state: t.state,
        to_state: to,
        actor_role: role,
        actor: staff.index,
        authority: t.authority,
        facts,
        note_enc: deps.cipher.encrypt(note, NOTE_AAD),
        at,
      });
      await appendAudit(tx, {
        event: `rectification.${step}`,
        subject: `case:${t.case_number}`,
        detail: { task: t.id, from: t.state, to, role, authority: t.authority, actor: staff.index, ...facts },
      });
      if (step === 'call_back') return [];
      const r = (await store.rating(tx, t.rating_id))!;
      const names = await authorityNames(tx, [t.authority]);
      const head = `【政务服务】您对办件 ${t.case_number}（${r.item_name}）的评价，${names[t.authority]}`;
      const text =
        step === 'complete_fix'
          ? `${head}已整改完成：${note}`
          : step === 'schedule_fix'
            ? `${head}${RESOLUTION_TEXT.fixed_by_date}，将于 ${body.fix_by as string} 前整改完成：${note}`
            : `${head}${RESOLUTION_TEXT[body.resolution as 'fixed_now' | 'without_basis']}：${note}`;
      const rater = openPerson(deps, r.rater_enc);
      await postNotice(tx, {
        personIndex: r.rater_index,
        category: 'replies',
        text: `${text}${step === 'schedule_fix' ? '' : ' 请在“我的评价”中告诉我们您对处理结果的看法。'}`,
        reason: `您对办件 ${t.case_number} 作出了${r.complaint_enc ? '投诉' : '差评'}`,
        link: { rating: r.id, case: t.case_number },
        dedupeKey: `task:${t.id}:${step}`,
        at,
      });
      return [{ phone: rater.phone, text }] satisfies PendingNotice[];
    });
    await sendNotices(deps, pending);
  });
  return taskDetail(deps, staff, id);
}
