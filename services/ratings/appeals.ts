/**
 * Appeals against a mistaken rating (误评, 恶意差评): filed by a rectifier of the authority that
 * handled the case, within the platform's appeal limit and before the task is resolved; reviewed
 * by a supervisor of the supervising authority (supervision.ts) within its limit. While an appeal
 * waits the task is held and its clock stops: a rejected appeal gives the task back with its due
 * date moved by the working days the appeal took; an upheld one withdraws the task and annuls
 * the rating, which then no longer counts as a bad rating. The rater is told the decision.
 */
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import { Forbidden, NotFound } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';
import { openPerson, today } from '../cases/case-context.ts';
import { sendNotices } from '../cases/case-notices.ts';
import { rolesAt, roleFor, type Staff } from '../cases/staff-grants.ts';
import { postNotice } from '../my-space/space-notices.ts';
import { freeText } from '../voice/free-text.ts';
import { auditRefusals } from '../voice/refusals.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { limitsFor } from '../voice/voice-limits.ts';
import { ratingLifecycle } from './rating-lifecycle.ts';
import { LEVELS } from './rating-rules.ts';
import * as store from './rating-store.ts';
import { APPEAL_DECISION_AAD, APPEAL_REASON_AAD, ratingFacts } from './ratings.ts';
import { taskLifecycle } from './rectification-lifecycle.ts';
import { authorityNames } from '../cases/case-views.ts';
import { supervisingAuthority } from './supervision.ts';

const MAX_REASON = 1000;
const appealBody = z.object({ reason: z.unknown() }).strict();
const decisionBody = z.object({ decision: z.enum(['upheld', 'rejected']), reason: z.unknown() }).strict();

/** Files an appeal against rating `ratingId`; 403 `not_handling_authority` for staff of any other authority. */
export async function fileAppeal(deps: VoiceDeps, staff: Staff, ratingId: string, raw: unknown) {
  return auditRefusals(deps.db, { event: 'rating.appeal', subject: `rating:${ratingId}`, by: staff.index }, async () => {
    const body = validate(appealBody, raw);
    const reason = freeText('reason', body.reason, MAX_REASON, true)!;
    const id = await deps.db.transaction(async (tx) => {
      const r = await store.rating(tx, ratingId, true);
      if (!r) throw new NotFound(`no rating ${ratingId}`, 'unknown_rating');
      if (rolesAt(staff, r.authority).length === 0)
        throw new Forbidden(
          'not_handling_authority',
          `only the authority that handled case ${r.case_number} (${r.authority}) appeals its rating; you hold no role there`,
        );
      const role = roleFor(staff, r.authority, ratingLifecycle.firers('appeal'), `an appeal against rating ${ratingId}`);
      const status = ratingLifecycle.next(r.status, 'appeal', await ratingFacts(deps, tx, r));
      const t = (await store.taskOfRating(tx, r.id, true))!;
      const held = taskLifecycle.next(t.state, 'hold', { callBackNeeded: t.call_back_needed, calledBack: t.called_back_on !== null });
      const on = today(deps);
      const at = deps.now();
      const supervisor = await supervisingAuthority(tx, r.authority);
      const limits = await limitsFor(tx, r.platform);
      const id = await store.insertAppeal(tx, {
        rating_id: r.id,
        task_id: t.id,
        authority: r.authority,
        supervisor,
        reason_enc: deps.cipher.encrypt(reason, APPEAL_REASON_AAD),
        filed_by: staff.index,
        filed_at: at.toISOString(),
        filed_on: on,
        due_on: deps.clock.calendar.addWorkingDays(on, limits.appeal_review_days),
      });
      await store.setRatingStatus(tx, r.id, status);
      await store.updateTask(tx, t.id, { state: held });
      await store.insertEvent(tx, t.id, {
        event: 'hold',
        from_state: t.state,
        to_state: held,
        actor_role: role,
        actor: staff.index,
        authority: r.authority,
        facts: { appeal: id, supervisor },
        note_enc: null,
        at,
      });
      await appendAudit(tx, {
        event: 'rating.appealed',
        subject: `case:${r.case_number}`,
        detail: { rating: r.id, appeal: id, role, authority: r.authority, actor: staff.index, supervisor },
      });
      return id;
    });
    return appealView(deps, (await store.appeal(deps.db, id))!);
  });
}

async function appealView(deps: VoiceDeps, a: store.AppealRow) {
  const r = (await store.rating(deps.db, a.rating_id))!;
  const names = await authorityNames(deps.db, [a.authority, a.supervisor]);
  return {
    id: a.id,
    rating_id: a.rating_id,
    task_id: a.task_id,
    case_number: r.case_number,
    item: { code: r.item_code, name: r.item_name },
    level: r.level,
    level_name: LEVELS[r.level]!['zh-CN'],
    authority: a.authority,
    authority_name: names[a.authority],
    supervisor: a.supervisor,
    supervisor_name: names[a.supervisor],
    reason: deps.cipher.decrypt(a.reason_enc, APPEAL_REASON_AAD),
    filed_on: a.filed_on,
    due_on: a.due_on,
    overdue: a.decision === null && today(deps) > a.due_on,
    decision: a.decision,
    decision_reason: a.decision_reason_enc ? deps.cipher.decrypt(a.decision_reason_enc, APPEAL_DECISION_AAD) : null,
    decided_on: a.decided_on,
  };
}

function supervised(staff: Staff): string[] {
  return [...new Set(staff.grants.filter((g) => g.role === 'supervisor').map((g) => g.authority))];
}

/** The appeals a supervisor's authorities review (pending first by due date, or all of them). */
export async function appealQueue(deps: VoiceDeps, staff: Staff, pendingOnly: boolean, limit: number) {
  const authorities = supervised(staff);
  if (authorities.length === 0) throw new Forbidden('role_required', 'appeals are reviewed by staff with the role supervisor');
  const rows = await store.appealsFor(deps.db, authorities, pendingOnly, limit);
  return { appeals: await Promise.all(rows.map((a) => appealView(deps, a))) };
}

export async function appealDetail(deps: VoiceDeps, staff: Staff, id: string) {
  const a = await store.appeal(deps.db, id);
  if (!a) throw new NotFound(`no appeal ${id}`, 'unknown_appeal');
  if (!supervised(staff).includes(a.supervisor) && rolesAt(staff, a.authority).length === 0)
    throw new Forbidden('outside_authority', `appeal ${id} is reviewed by ${a.supervisor}; you hold no role for it`);
  return appealView(deps, a);
}

/** A supervisor's decision on an appeal: once, by a supervisor of the supervising authority. */
export async function decideAppeal(deps: VoiceDeps, staff: Staff, id: string, raw: unknown) {
  await auditRefusals(deps.db, { event: 'rating.appeal_decision', subject: `appeal:${id}`, by: staff.index }, async () => {
    const body = validate(decisionBody, raw);
    const reason = freeText('reason', body.reason, MAX_REASON, true)!;
    const pending = await deps.db.transaction(async (tx) => {
      const a = await store.appeal(tx, id, true);
      if (!a) throw new NotFound(`no appeal ${id}`, 'unknown_appeal');
      const event = body.decision === 'upheld' ? 'uphold_appeal' : 'reject_appeal';
      const role = roleFor(staff, a.supervisor, ratingLifecycle.firers(event), `a decision on appeal ${id}`);
      const r = (await store.rating(tx, a.rating_id, true))!;
      const status = ratingLifecycle.next(r.status, event, await ratingFacts(deps, tx, r));
      const t = (await store.task(tx, a.task_id, true))!;
      const taskEvent = body.decision === 'upheld' ? 'withdraw' : 'release';
      const to = taskLifecycle.next(t.state, taskEvent, { callBackNeeded: t.call_back_needed, calledBack: t.called_back_on !== null });
      const on = today(deps);
      const at = deps.now();
      await store.decideAppeal(tx, a.id, {
        decision: body.decision,
        reasonEnc: deps.cipher.encrypt(reason, APPEAL_DECISION_AAD),
        by: staff.index,
        at,
        on,
      });
      await store.setRatingStatus(tx, r.id, status);
      // The appeal's working days do not count against the authority's limit.
      const calendar = deps.clock.calendar;
      const dueOn = calendar.addWorkingDays(t.due_on, calendar.workingDaysBetween(a.filed_on, on));
      await store.updateTask(tx, t.id, { state: to, ...(taskEvent === 'release' ? { due_on: dueOn } : {}) });
      await store.insertEvent(tx, t.id, {
        event: taskEvent,
        from_state: t.state,
        to_state: to,
        actor_role: role,
        actor: staff.index,
        authority: a.supervisor,
        facts: { appeal: a.id, decision: body.decision, ...(taskEvent === 'release' ? { due_on: dueOn } : {}) },
        note_enc: null,
        at,
      });
      await appendAudit(tx, {
        event: `rating.appeal_${body.decision}`,
        subject: `case:${r.case_number}`,
        detail: { rating: r.id, appeal: a.id, role, authority: a.supervisor, actor: staff.index },
      });
      const names = await authorityNames(tx, [a.supervisor]);
      const text =
        body.decision === 'upheld'
          ? `【政务服务】您对办件 ${r.case_number}（${r.item_name}）的评价，经${names[a.supervisor]}复核认定为误评，不计入差评统计。理由：${reason}`
          : `【政务服务】您对办件 ${r.case_number}（${r.item_name}）的评价，办理部门提出的申诉未获${names[a.supervisor]}支持，整改继续进行。`;
      await postNotice(tx, {
        personIndex: r.rater_index,
        category: 'replies',
        text,
        reason: `您对办件 ${r.case_number} 的评价被办理部门申诉`,
        link: { rating: r.id, case: r.case_number },
        dedupeKey: `appeal:${a.id}:decided`,
        at,
      });
      return [{ phone: openPerson(deps, r.rater_enc).phone, text }];
    });
    await sendNotices(deps, pending);
  });
  return appealDetail(deps, staff, id);
}
