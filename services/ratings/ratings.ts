/**
 * The rater's side of 好差评: rating a case of theirs once per stage, reading their ratings with
 * what the authority did about them, and saying what they think of the outcome. A bad rating or
 * a complaint opens a rectification task for the authority that handled the case, in the same
 * transaction, with its deadlines from the platform's limits on the case calendar.
 */
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import { uniqueViolation, type Queryable } from '../../infra/database.ts';
import { Conflict, Forbidden, NotFound } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';
import { ownCase } from '../cases/case-actions.ts';
import { personIndex, sealPerson, today, type Caller } from '../cases/case-context.ts';
import { parseCaseNumber } from '../cases/case-numbers.ts';
import { caseByNumber } from '../cases/case-store.ts';
import { postNotice } from '../my-space/space-notices.ts';
import { freeText } from '../voice/free-text.ts';
import { auditRefusals } from '../voice/refusals.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { limitsFor } from '../voice/voice-limits.ts';
import { ratingLifecycle, type RatingFacts } from './rating-lifecycle.ts';
import { isBad, MAX_COMMENT, MAX_COMPLAINT, ratingBody, stageOf, STAGE_LABELS } from './rating-rules.ts';
import * as store from './rating-store.ts';
import { taskLifecycle } from './rectification-lifecycle.ts';
import { authorityNames } from '../cases/case-views.ts';

export const COMMENT_AAD = 'ratings.comment_enc';
export const COMPLAINT_AAD = 'ratings.complaint_enc';
export const NOTE_AAD = 'rectification_events.note_enc';

/** The facts the rating lifecycle's guards read. */
export async function ratingFacts(deps: VoiceDeps, db: Queryable, r: store.RatingRow): Promise<RatingFacts> {
  const limits = await limitsFor(db, r.platform);
  return {
    bad: isBad(r.level),
    complaint: r.complaint_enc !== null,
    appealUntil: deps.clock.calendar.addWorkingDays(r.rated_on, limits.appeal_days),
    today: today(deps),
  };
}

/** Rates a case of the caller's; a second rating of the same case and stage is refused (409 `already_rated`). */
export async function rate(deps: VoiceDeps, caller: Caller, raw: unknown) {
  const body = validate(ratingBody, raw);
  const comment = freeText('comment', body.comment, MAX_COMMENT);
  const complaint = freeText('complaint', body.complaint, MAX_COMPLAINT);
  const number = parseCaseNumber(body.case_number);
  const raterIndex = personIndex(deps, caller.person.idNumber);
  const at = deps.now();
  const on = today(deps);
  const realName = !body.anonymous;
  const already = () =>
    new Conflict('already_rated', `case ${number} was rated already at this stage; a rating is given once and never changed`);
  return auditRefusals(deps.db, { event: 'rating', subject: `case:${number}`, by: raterIndex }, async () => {
    const id = await deps.db
      .transaction(async (tx) => {
        const c = ownCase(deps, await caseByNumber(tx, number, true), number, caller);
        const stage = stageOf(c, body.stage);
        if (await store.ratingOf(tx, c.id, stage)) throw already();
        const bad = isBad(body.level);
        const id = await store.insertRating(tx, {
          case_id: c.id,
          case_number: c.number,
          stage,
          platform: c.platform,
          authority: c.authority,
          item_code: c.item_code,
          item_name: c.item_name,
          level: body.level,
          criteria: body.criteria ?? {},
          comment_enc: comment === null ? null : deps.cipher.encrypt(comment, COMMENT_AAD),
          complaint_enc: complaint === null ? null : deps.cipher.encrypt(complaint, COMPLAINT_AAD),
          real_name: realName,
          rater_index: raterIndex,
          rater_enc: sealPerson(deps, caller.person),
          issuer: caller.login.issuer,
          client_id: caller.login.clientId,
          status: 'recorded',
          rated_at: at.toISOString(),
          rated_on: on,
        });
        await appendAudit(tx, {
          event: 'rating.given',
          subject: `case:${c.number}`,
          clientId: caller.login.clientId,
          detail: { rating: id, stage, level: body.level, bad, complaint: complaint !== null, real_name: realName },
        });
        const names = await authorityNames(tx, [c.authority]);
        let text = `【政务服务】您对办件 ${c.number}（${c.item_name}）${STAGE_LABELS[stage]['zh-CN']}的评价已收到，谢谢。`;
        if (bad || complaint) {
          const row = (await store.rating(tx, id))!;
          await store.setRatingStatus(tx, id, ratingLifecycle.next('recorded', 'flag', await ratingFacts(deps, tx, row)));
          const limits = await limitsFor(tx, c.platform);
          const calendar = deps.clock.calendar;
          const dueOn = calendar.addWorkingDays(on, limits.rectify_days);
          const taskId = await store.insertTask(tx, {
            rating_id: id,
            authority: c.authority,
            platform: c.platform,
            case_number: c.number,
            item_code: c.item_code,
            call_back_needed: realName,
            opened_on: on,
            call_back_due_on: calendar.addWorkingDays(on, limits.call_back_days),
            rectify_days: limits.rectify_days,
            due_on: dueOn,
          });
          await store.insertEvent(tx, taskId, {
            event: 'open',
            from_state: 'none',
            to_state: 'open',
            actor_role: 'system',
            actor: 'system',
            authority: c.authority,
            facts: { reason: bad && complaint ? 'bad_rating_and_complaint' : bad ? 'bad_rating' : 'complaint', due_on: dueOn },
            note_enc: null,
            at,
          });
          await appendAudit(tx, {
            event: 'rectification.opened',
            subject: `case:${c.number}`,
            detail: { task: taskId, rating: id, authority: c.authority, due_on: dueOn, call_back_needed: realName },
          });
          text += `${names[c.authority]}将${realName ? '回访您并' : ''}在 ${dueOn} 前处理并答复。`;
        }
        await postNotice(tx, {
          personIndex: raterIndex,
          category: 'replies',
          text,
          reason: `您对办件 ${c.number} 作出了评价`,
          link: { rating: id, case: c.number },
          dedupeKey: `rating:${id}:given`,
          at,
        });
        return id;
      })
      .catch((err: unknown) => {
        // Two ratings of the same stage at once: the unique index lets one through.
        if (uniqueViolation(err) === 'ratings_case_id_stage_key') throw already();
        throw err;
      });
    return raterView(deps, (await store.rating(deps.db, id))!);
  });
}

/** What the rater reads of a rating: what they said, and what was done about it. */
async function raterView(deps: VoiceDeps, r: store.RatingRow) {
  const t = await store.taskOfRating(deps.db, r.id);
  const a = await store.appealOfRating(deps.db, r.id);
  const names = await authorityNames(deps.db, [r.authority, ...(a ? [a.supervisor] : [])]);
  const shown = new Set(['open', 'call_back', 'resolve', 'schedule_fix', 'complete_fix', 'hold', 'release', 'withdraw', 'give_view']);
  return {
    id: r.id,
    case_number: r.case_number,
    stage: r.stage,
    item: { code: r.item_code, name: r.item_name },
    authority: r.authority,
    authority_name: names[r.authority],
    level: r.level,
    bad: isBad(r.level),
    criteria: r.criteria,
    comment: r.comment_enc ? deps.cipher.decrypt(r.comment_enc, COMMENT_AAD) : null,
    complaint: r.complaint_enc ? deps.cipher.decrypt(r.complaint_enc, COMPLAINT_AAD) : null,
    anonymous: !r.real_name,
    status: r.status,
    rated_at: r.rated_at,
    task: t
      ? {
          id: t.id,
          state: t.state,
          opened_on: t.opened_on,
          due_on: t.due_on,
          called_back_on: t.called_back_on,
          resolution: t.resolution,
          answered_on: t.answered_on,
          fix_by: t.fix_by,
          fixed_on: t.fixed_on,
          rater_view: t.rater_view,
          can_give_view: t.state === 'resolved',
          steps: (await store.events(deps.db, t.id))
            .filter((e) => shown.has(e.event))
            .map((e) => ({
              event: e.event,
              at: e.at,
              state: e.to_state,
              facts: e.facts,
              note: e.note_enc && e.event !== 'call_back' ? deps.cipher.decrypt(e.note_enc, NOTE_AAD) : null,
            })),
        }
      : null,
    appeal: a
      ? {
          id: a.id,
          filed_on: a.filed_on,
          supervisor: a.supervisor,
          supervisor_name: names[a.supervisor],
          decision: a.decision,
          decided_on: a.decided_on,
          decision_reason: a.decision_reason_enc ? deps.cipher.decrypt(a.decision_reason_enc, APPEAL_DECISION_AAD) : null,
        }
      : null,
  };
}

export const APPEAL_REASON_AAD = 'rating_appeals.reason_enc';
export const APPEAL_DECISION_AAD = 'rating_appeals.decision_reason_enc';

export async function myRatings(deps: VoiceDeps, caller: Caller, limit = 100) {
  const rows = await store.ratingsOfRater(deps.db, personIndex(deps, caller.person.idNumber), limit);
  return Promise.all(rows.map((r) => raterView(deps, r)));
}

/** A rating of the caller's, or 404 / 403 `not_your_rating`. */
function ownRating(deps: VoiceDeps, r: store.RatingRow | undefined, id: string, caller: Caller): store.RatingRow {
  if (!r) throw new NotFound(`no rating ${id}`, 'unknown_rating');
  if (r.rater_index !== personIndex(deps, caller.person.idNumber))
    throw new Forbidden('not_your_rating', `rating ${id} is not one of yours`);
  return r;
}

export async function myRating(deps: VoiceDeps, caller: Caller, id: string) {
  return raterView(deps, ownRating(deps, await store.rating(deps.db, id), id, caller));
}

const viewBody = z.object({ satisfied: z.boolean(), comment: z.unknown().optional() }).strict();

/** The rater says what they think of the authority's answer; the task closes and the rating is settled. */
export async function giveView(deps: VoiceDeps, caller: Caller, id: string, raw: unknown) {
  const body = validate(viewBody, raw);
  const comment = freeText('comment', body.comment, MAX_COMMENT);
  const by = personIndex(deps, caller.person.idNumber);
  await auditRefusals(deps.db, { event: 'rating.view', subject: `rating:${id}`, by }, () =>
    deps.db.transaction(async (tx) => {
      const r = ownRating(deps, await store.rating(tx, id, true), id, caller);
      const t = await store.taskOfRating(tx, r.id, true);
      if (!t) throw new Conflict('no_rectification', `rating ${id} led to no rectification task: there is no outcome to judge`);
      const to = taskLifecycle.next(t.state, 'give_view', { callBackNeeded: t.call_back_needed, calledBack: t.called_back_on !== null });
      const view = body.satisfied ? 'satisfied' : 'unsatisfied';
      const at = deps.now();
      await store.updateTask(tx, t.id, { state: to, rater_view: view });
      await store.insertEvent(tx, t.id, {
        event: 'give_view',
        from_state: t.state,
        to_state: to,
        actor_role: 'rater',
        actor: 'rater',
        authority: null,
        facts: { view },
        note_enc: comment === null ? null : deps.cipher.encrypt(comment, NOTE_AAD),
        at,
      });
      await store.setRatingStatus(tx, r.id, ratingLifecycle.next(r.status, 'settle', await ratingFacts(deps, tx, r)));
      await appendAudit(tx, { event: 'rectification.give_view', subject: `case:${r.case_number}`, detail: { task: t.id, view } });
    }),
  );
  return myRating(deps, caller, id);
}
