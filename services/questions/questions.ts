/**
 * 我要问: a person asks about an item, or about a case of theirs. Answers from the item's FAQ and
 * guide are offered first; a question they do not answer (or one the person sends on) goes to
 * the queue of the authority that implements the item (or handles the case) with a reply
 * deadline in working days. Staff with the role answerer answer it: the answer shows in the
 * person's space and is sent to them; an answered question may be published to the item's FAQ.
 * Questions are rate-limited per person.
 */
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import type { Queryable } from '../../infra/database.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../infra/errors.ts';
import type { RateLimiter } from '../../infra/key-value-store.ts';
import { validate } from '../../infra/validation.ts';
import { isImplementation } from '../catalog/catalog-schema.ts';
import { ownCase } from '../cases/case-actions.ts';
import { throttle } from '../cases/case-callers.ts';
import { openPerson, personIndex, sealPerson, today, type Caller } from '../cases/case-context.ts';
import { parseCaseNumber } from '../cases/case-numbers.ts';
import { sendNotices } from '../cases/case-notices.ts';
import { caseByNumber } from '../cases/case-store.ts';
import { roleFor, type Staff } from '../cases/staff-grants.ts';
import { postNotice } from '../my-space/space-notices.ts';
import { authorityNames } from '../cases/case-views.ts';
import { freeText } from '../voice/free-text.ts';
import { auditRefusals } from '../voice/refusals.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { limitsFor } from '../voice/voice-limits.ts';
import { faqOffers, faqTokens, guideOffers, questionLexemes, type Offer } from './answer-finder.ts';
import { questionLifecycle } from './question-lifecycle.ts';
import * as store from './question-store.ts';

const TEXT_AAD = 'questions.text_enc';
const ANSWER_AAD = 'questions.answer_enc';
export const MAX_QUESTION = 500;
const MAX_ANSWER = 2000;
/** A burst is more than this many questions a minute from one person. */
const QUESTIONS_PER_MINUTE = 5;

const askBody = z
  .object({
    item_code: z.string().min(1).max(40).optional(),
    case_number: z.string().min(1).max(40).optional(),
    text: z.unknown(),
    /** Straight to staff, without the offered answers. */
    to_staff: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.item_code || b.case_number, { message: 'name the item (item_code) or your case (case_number)', path: ['item_code'] });
const answerBody = z.object({ answer: z.unknown() }).strict();
const publishBody = z.object({ question: z.unknown().optional(), answer: z.unknown().optional() }).strict();

export function questionLimiter(deps: VoiceDeps): RateLimiter {
  return deps.kv.rateLimiter({ keyPrefix: 'questions:person', points: QUESTIONS_PER_MINUTE, durationSeconds: 60 });
}

/** What the question is about: the item (in force, or the case's version) and whose queue it goes to. */
async function subjectOf(deps: VoiceDeps, caller: Caller, body: z.infer<typeof askBody>) {
  if (body.case_number) {
    const number = parseCaseNumber(body.case_number);
    const c = ownCase(deps, await caseByNumber(deps.db, number), number, caller);
    if (body.item_code && body.item_code !== c.item_code)
      throw new BadRequest('invalid_request', `item_code: case ${number} is for item ${c.item_code}`);
    return { itemCode: c.item_code, itemName: c.item_name, version: c.item_version, authority: c.authority, caseNumber: number };
  }
  const row = await deps.catalog.version(body.item_code!);
  if (!isImplementation(row.content))
    throw new BadRequest('invalid_request', `item_code: ${body.item_code} is a directory item; ask about an item of a platform`);
  // A held copy's authority has no queue here: its own platform's services entity answers for it.
  if (row.held_from)
    throw new Conflict(
      'handled_elsewhere',
      `item_code: ${row.item_code} is handled by platform ${row.held_from}; ask at that platform's services entity`,
    );
  return {
    itemCode: row.item_code,
    itemName: row.content.name,
    version: row.version,
    authority: row.content.implementing_authority,
    caseNumber: null,
  };
}

async function deadline(deps: VoiceDeps, db: Queryable) {
  const on = today(deps);
  const limits = await limitsFor(db, deps.platform);
  return { queued_on: on, due_on: deps.clock.calendar.addWorkingDays(on, limits.answer_days) };
}

export async function ask(deps: VoiceDeps, limiter: RateLimiter, caller: Caller, raw: unknown) {
  const body = validate(askBody, raw);
  const text = freeText('text', body.text, MAX_QUESTION, true)!;
  const subject = await subjectOf(deps, caller, body);
  const askerIndex = personIndex(deps, caller.person.idNumber);
  await throttle(limiter, askerIndex, `questions at once: at most ${QUESTIONS_PER_MINUTE} a minute`);
  let offered: Offer[] = [];
  if (!body.to_staff) {
    const lexemes = questionLexemes(text);
    offered = [
      ...(await faqOffers(deps.db, subject.itemCode, lexemes)),
      ...guideOffers(await deps.catalog.guide(subject.itemCode, subject.version), lexemes),
    ];
  }
  const id = await deps.db.transaction(async (tx) => {
    const queued = offered.length === 0 ? await deadline(deps, tx) : { queued_on: null, due_on: null };
    const id = await store.insertQuestion(tx, {
      asker_index: askerIndex,
      asker_enc: sealPerson(deps, caller.person),
      issuer: caller.login.issuer,
      client_id: caller.login.clientId,
      item_code: subject.itemCode,
      item_name: subject.itemName,
      case_number: subject.caseNumber,
      authority: subject.authority,
      platform: deps.platform,
      text_enc: deps.cipher.encrypt(text, TEXT_AAD),
      state: offered.length ? 'offered' : 'queued',
      offered,
      asked_at: deps.now().toISOString(),
      ...queued,
    });
    await appendAudit(tx, {
      event: 'question.asked',
      subject: `question:${id}`,
      clientId: caller.login.clientId,
      detail: { item: subject.itemCode, case: subject.caseNumber, authority: subject.authority, offered: offered.length, ...queued },
    });
    return id;
  });
  return askerView(deps, (await store.question(deps.db, id))!);
}

/** What the asker reads: their question, what was offered, the answer, and who read it. */
async function askerView(deps: VoiceDeps, q: store.QuestionRow) {
  const names = await authorityNames(deps.db, [q.authority]);
  const { rows: accesses } = await deps.db.query<{ at: string; event: string; role: string | null; authority: string | null }>(
    `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, event, detail->>'role' AS role, detail->>'authority' AS authority
     FROM audit_log WHERE subject = $1 ORDER BY seq`,
    [`question:${q.id}`],
  );
  return {
    id: q.id,
    item: { code: q.item_code, name: q.item_name },
    case_number: q.case_number,
    authority: q.authority,
    authority_name: names[q.authority],
    text: deps.cipher.decrypt(q.text_enc, TEXT_AAD),
    state: q.state,
    offered: q.offered,
    asked_at: q.asked_at,
    due_on: q.due_on,
    answer: q.answer_enc ? deps.cipher.decrypt(q.answer_enc, ANSWER_AAD) : null,
    answered_at: q.answered_at,
    published: q.faq_id !== null,
    accesses,
  };
}

function ownQuestion(deps: VoiceDeps, q: store.QuestionRow | undefined, id: string, caller: Caller): store.QuestionRow {
  if (!q) throw new NotFound(`no question ${id}`, 'unknown_question');
  if (q.asker_index !== personIndex(deps, caller.person.idNumber))
    throw new Forbidden('not_your_question', `question ${id} is not one of yours`);
  return q;
}

export async function myQuestions(deps: VoiceDeps, caller: Caller, limit = 100) {
  const rows = await store.questionsOf(deps.db, personIndex(deps, caller.person.idNumber), limit);
  return Promise.all(rows.map((q) => askerView(deps, q)));
}

export async function myQuestion(deps: VoiceDeps, caller: Caller, id: string) {
  return askerView(deps, ownQuestion(deps, await store.question(deps.db, id), id, caller));
}

/** The asker settles an offered question: answered by what was offered, or sent on to staff. */
export async function settleOffer(deps: VoiceDeps, caller: Caller, id: string, event: 'accept_offer' | 'escalate') {
  await deps.db.transaction(async (tx) => {
    const q = ownQuestion(deps, await store.question(tx, id, true), id, caller);
    const state = questionLifecycle.next(q.state, event, {});
    await store.updateQuestion(tx, q.id, { state, ...(event === 'escalate' ? await deadline(deps, tx) : {}) });
    await appendAudit(tx, { event: `question.${event}`, subject: `question:${id}`, detail: { by: 'asker' } });
  });
  return myQuestion(deps, caller, id);
}

const clockOf = (deps: VoiceDeps, dueOn: string | null) => {
  const on = today(deps);
  if (!dueOn) return null;
  return on > dueOn ? 'overdue' : dueOn < deps.clock.dueSoonBefore(on) ? 'due_soon' : 'on_time';
};

function answered(staff: Staff): string[] {
  return [...new Set(staff.grants.filter((g) => g.role === 'answerer').map((g) => g.authority))];
}

/** The queue of the authorities where `staff` answers: what is asked about and by when (the text is read one by one). */
export async function questionQueue(deps: VoiceDeps, staff: Staff, limit: number) {
  const authorities = answered(staff);
  if (authorities.length === 0) throw new Forbidden('role_required', 'the question queue needs the role answerer at an authority');
  const names = await authorityNames(deps.db, authorities);
  return {
    questions: (await store.queueOf(deps.db, authorities, limit)).map((q) => ({
      id: q.id,
      item: { code: q.item_code, name: q.item_name },
      case_number: q.case_number,
      authority: q.authority,
      authority_name: names[q.authority],
      asked_at: q.asked_at,
      due_on: q.due_on,
      clock: clockOf(deps, q.due_on),
    })),
  };
}

/** A question as staff read it (the reading is audited where the asker sees it). */
export async function staffQuestion(deps: VoiceDeps, staff: Staff, id: string) {
  const q = await store.question(deps.db, id);
  if (!q) throw new NotFound(`no question ${id}`, 'unknown_question');
  const role = roleFor(staff, q.authority, ['answerer'], `question ${id}`);
  await deps.db.transaction((tx) =>
    appendAudit(tx, { event: 'question.read', subject: `question:${id}`, detail: { role, authority: q.authority, actor: staff.index } }),
  );
  const names = await authorityNames(deps.db, [q.authority]);
  return {
    id: q.id,
    item: { code: q.item_code, name: q.item_name },
    case_number: q.case_number,
    authority: q.authority,
    authority_name: names[q.authority],
    text: deps.cipher.decrypt(q.text_enc, TEXT_AAD),
    state: q.state,
    allowed: questionLifecycle.eventsFrom(q.state).filter((e) => e === 'answer' || e === 'publish'),
    offered: q.offered,
    asked_at: q.asked_at,
    due_on: q.due_on,
    clock: q.state === 'queued' ? clockOf(deps, q.due_on) : null,
    answer: q.answer_enc ? deps.cipher.decrypt(q.answer_enc, ANSWER_AAD) : null,
    answered_on: q.answered_on,
    faq_id: q.faq_id,
  };
}

export async function answerQuestion(deps: VoiceDeps, staff: Staff, id: string, raw: unknown) {
  await auditRefusals(deps.db, { event: 'question.answer', subject: `question:${id}`, by: staff.index }, async () => {
    const answer = freeText('answer', validate(answerBody, raw).answer, MAX_ANSWER, true)!;
    const pending = await deps.db.transaction(async (tx) => {
      const q = await store.question(tx, id, true);
      if (!q) throw new NotFound(`no question ${id}`, 'unknown_question');
      const role = roleFor(staff, q.authority, questionLifecycle.firers('answer'), `an answer to question ${id}`);
      const state = questionLifecycle.next(q.state, 'answer', {});
      const at = deps.now();
      const on = today(deps);
      await store.updateQuestion(tx, q.id, {
        state,
        answer_enc: deps.cipher.encrypt(answer, ANSWER_AAD),
        answered_by: staff.index,
        answered_at: at.toISOString(),
        answered_on: on,
      });
      await appendAudit(tx, {
        event: 'question.answered',
        subject: `question:${id}`,
        detail: { role, authority: q.authority, actor: staff.index, on_time: q.due_on !== null && on <= q.due_on },
      });
      const text = `【政务服务】您就“${q.item_name}”提出的问题已答复：${answer}`;
      await postNotice(tx, {
        personIndex: q.asker_index,
        category: 'replies',
        text,
        reason: `您于 ${q.asked_at.slice(0, 10)} 提出了问题`,
        link: { question: q.id, item: q.item_code },
        dedupeKey: `question:${q.id}:answered`,
        at,
      });
      return [{ phone: openPerson(deps, q.asker_enc).phone, text }];
    });
    await sendNotices(deps, pending);
  });
  return staffQuestion(deps, staff, id);
}

/** Publishes an answered question to its item's FAQ, in the wording given (the question's own by default). */
export async function publishQuestion(deps: VoiceDeps, staff: Staff, id: string, raw: unknown) {
  await auditRefusals(deps.db, { event: 'question.publish', subject: `question:${id}`, by: staff.index }, async () => {
    const body = validate(publishBody, raw);
    const wording = {
      question: freeText('question', body.question, MAX_QUESTION),
      answer: freeText('answer', body.answer, MAX_ANSWER),
    };
    await deps.db.transaction(async (tx) => {
      const q = await store.question(tx, id, true);
      if (!q) throw new NotFound(`no question ${id}`, 'unknown_question');
      const role = roleFor(staff, q.authority, questionLifecycle.firers('publish'), `publishing question ${id}`);
      const state = questionLifecycle.next(q.state, 'publish', {});
      const question = wording.question ?? deps.cipher.decrypt(q.text_enc, TEXT_AAD);
      const answer = wording.answer ?? deps.cipher.decrypt(q.answer_enc!, ANSWER_AAD);
      const faqId = await store.insertFaq(tx, {
        itemCode: q.item_code,
        question,
        answer,
        tokens: faqTokens(question, answer),
        sourceQuestion: q.id,
        authority: q.authority,
        by: staff.index,
      });
      await store.updateQuestion(tx, q.id, { state, faq_id: faqId });
      await appendAudit(tx, {
        event: 'question.published',
        subject: `question:${id}`,
        detail: { role, authority: q.authority, actor: staff.index, faq: faqId, item: q.item_code },
      });
    });
  });
  return staffQuestion(deps, staff, id);
}

export async function faq(deps: VoiceDeps, itemCode: string) {
  return { item_code: itemCode, entries: await store.faqOf(deps.publicReads, itemCode, 100) };
}
