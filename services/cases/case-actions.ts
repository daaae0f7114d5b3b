/**
 * Moving a case: a staff member (by role, at the case's authority), the applicant (supply,
 * withdraw) or the clock (deemed acceptance) fires an event; the lifecycle table decides whether
 * it may happen, and its effects (clock, steps, suspensions, opinions, notices, audit) are
 * written in one transaction. A refused attempt changes nothing (the routes audit it).
 */
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import { crashPoint } from '../../infra/crash-points.ts';
import type { Queryable, Transaction } from '../../infra/database.ts';
import { Forbidden, HttpError, NotFound } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';
import type { ImplementationItem } from '../catalog/catalog-schema.ts';
import { attachMaterials, checkMaterials } from './applications.ts';
import { openPerson, applicantIndex, today, type CaseDeps, type Caller } from './case-context.ts';
import { clockColumns, periodsOf } from './case-deadlines.ts';
import { EXTENSION_DAYS } from './legal-clock.ts';
import { caseItem, recordSentHandoff, sendHandoff } from './cross-region.ts';
import { firers, nextState, TRANSITIONS, type CaseEvent, type CaseFacts, type CaseState, type Firer } from './case-lifecycle.ts';
import { noticeText, sendNotices, type NoticeFacts, type PendingNotice } from './case-notices.ts';
import * as store from './case-store.ts';
import { roleFor, type Staff } from './staff-grants.ts';

/** Who fires an event. */
export type Actor = { kind: 'staff'; staff: Staff } | { kind: 'applicant'; caller: Caller } | { kind: 'system' };

const reason = z.string().trim().min(1).max(1000);
const outcome = z.enum(['approved', 'refused']);
const decision = z
  .object({ outcome, reasons: reason.optional() })
  .strict()
  .refine((d) => d.outcome === 'approved' || d.reasons, { message: 'a refusal states its reasons', path: ['reasons'] });
const material = z
  .object({
    slot: z.number().int().min(0).max(49),
    upload_id: z.string().min(1).max(64).optional(),
    reference: z.string().min(1).max(200).optional(),
  })
  .strict();

export const PAYLOADS = {
  request_correction: z
    .object({
      missing: z
        .array(
          z
            .object({ slot: z.number().int().min(0).max(49).optional(), name: z.string().trim().min(1).max(100).optional(), reason })
            .strict()
            .refine((m) => m.slot !== undefined || m.name, { message: 'names a material slot or what is missing' }),
        )
        .min(1, 'lists everything missing, at once')
        .max(50),
    })
    .strict(),
  supply: z.object({ materials: z.array(material).min(1).max(50) }).strict(),
  accept: z.object({ opinion_days: z.number().int().min(0).max(60).optional() }).strict(),
  deem_accepted: z.object({}).strict(),
  refuse: z.object({ reasons: reason }).strict(),
  decide_on_the_spot: decision,
  record_review: z.object({ method: z.enum(['written', 'on_site']), finding: reason }).strict(),
  give_opinion: z.object({ authority: z.string().min(1).max(18).optional(), opinion: z.enum(['agree', 'disagree']), reason }).strict(),
  suspend: z.object({ kind: z.enum(['hearing', 'testing', 'expert_review']), reason }).strict(),
  resume: z.object({ finding: reason }).strict(),
  extend: z.object({ reason }).strict(),
  complete_review: z.object({ summary: reason.optional() }).strict(),
  decide: decision,
  make_result: z.object({}).strict(),
  deliver: z.object({ tracking: z.string().trim().min(1).max(100).optional() }).strict(),
  publish: z.object({}).strict(),
  close: z.object({}).strict(),
  withdraw: z.object({ reason: reason.optional() }).strict(),
  hand_off: z.object({ finding: reason.optional() }).strict(),
} satisfies Record<CaseEvent, z.ZodType>;

type Payload<E extends CaseEvent> = z.infer<(typeof PAYLOADS)[E]>;

/** Who acted, as steps and the audit log record it. */
interface Acting {
  role: Firer;
  actor: string;
  authority: string | null;
}

/** What the lifecycle's guards look at, for this case now. */
export async function factsOf(db: Queryable, c: store.CaseRow): Promise<CaseFacts> {
  const given = (await store.opinions(db, c.id)).filter((o) => o.given_at).length;
  return {
    outcome: c.outcome,
    onTheSpot: c.on_the_spot,
    publicationRequired: c.publication_required && c.outcome === 'approved',
    opinionsMissing: Math.max(0, c.opinion_quorum - given),
    reviewMissing: c.review_methods.filter((m) => !c.review_done.includes(m)),
    extended: c.extension_days > 0,
    handledElsewhere: c.item_snapshot !== null,
  };
}

/** Which authority an event is done at, and as which role. */
async function acting(db: Queryable, c: store.CaseRow, event: CaseEvent, actor: Actor, payload: Record<string, unknown>): Promise<Acting> {
  const allowed = firers(event);
  if (actor.kind === 'system') {
    if (!allowed.includes('system')) throw new Error(`the clock does not fire ${event}`);
    return { role: 'system', actor: 'system', authority: null };
  }
  if (actor.kind === 'applicant') {
    if (!allowed.includes('applicant'))
      throw new Forbidden('role_required', `${event} is done by the handling authority's staff, not the applicant`);
    return { role: 'applicant', actor: 'applicant', authority: null };
  }
  if (!allowed.some((r) => r !== 'applicant' && r !== 'system'))
    throw new Forbidden('role_required', `${event} is done by the applicant, not by staff`);
  if (event === 'give_opinion') {
    // An assisting department gives its opinion: an authority asked, where this person reviews (one still owing first).
    const asked = (await store.opinions(db, c.id)).sort((a, b) => Number(Boolean(a.given_at)) - Number(Boolean(b.given_at)));
    const named = payload.authority as string | undefined;
    const mine = asked.filter((o) => actor.staff.grants.some((g) => g.authority === o.authority)).map((o) => o.authority);
    const authority = named ?? mine[0] ?? asked[0]?.authority ?? c.authority;
    return { role: roleFor(actor.staff, authority, allowed, `an opinion on ${c.number}`), actor: actor.staff.index, authority };
  }
  if (c.item_snapshot !== null) {
    // Received for another platform: this platform's receivers check it and hand it over, at whichever of its authorities they serve.
    const grant = actor.staff.grants.find((g) => allowed.includes(g.role));
    if (!grant) throw new Forbidden('role_required', `${event} on ${c.number} needs the role ${allowed.join(' or ')} on this platform`);
    return { role: grant.role, actor: actor.staff.index, authority: grant.authority };
  }
  return { role: roleFor(actor.staff, c.authority, allowed, `${event} on ${c.number}`), actor: actor.staff.index, authority: c.authority };
}

/**
 * The item version the case is pinned to: read before a transaction starts (the catalog reads
 * through its own connection, which the embedded engine would hold up behind the transaction).
 */
async function pinnedItem(deps: CaseDeps, number: string): Promise<ImplementationItem> {
  const c = await store.caseByNumber(deps.db, number);
  if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
  return caseItem(deps, c);
}

interface Effects {
  patch: store.CasePatch;
  notice: NoticeFacts;
  note: Record<string, unknown>;
}

/** What an event writes besides the state: its patch, suspensions, opinions, materials. */
async function effectsOf(
  deps: CaseDeps,
  tx: Queryable,
  c: store.CaseRow,
  item: ImplementationItem,
  event: CaseEvent,
  payload: Record<string, unknown>,
  who: Acting,
  result: Record<string, unknown> | null,
): Promise<Effects> {
  const on = today(deps);
  const at = deps.now();
  const none: Effects = { patch: {}, notice: {}, note: {} };
  switch (event) {
    case 'request_correction': {
      const p = payload as Payload<'request_correction'>;
      const missing = p.missing.map((m) => {
        if (m.slot !== undefined && !item.materials[m.slot])
          throw new HttpError(
            400,
            'invalid_material',
            `missing: slot ${m.slot} is not one of the item's ${item.materials.length} materials`,
          );
        return {
          ...(m.slot !== undefined ? { slot: m.slot } : {}),
          name: m.slot !== undefined ? item.materials[m.slot]!.name : m.name!,
          reason: m.reason,
        };
      });
      await store.startSuspension(tx, c.id, { kind: 'correction', reason: '补正材料', from: on, notice: { missing } });
      return { patch: {}, notice: { missing }, note: { missing } };
    }
    case 'supply': {
      const p = payload as Payload<'supply'>;
      const open = (await store.suspensions(tx, c.id)).find((s) => s.kind === 'correction' && s.to === null)!;
      const wanted = new Set(open.notice?.missing.flatMap((m) => (m.slot !== undefined ? [m.slot] : [])) ?? []);
      checkMaterials(item, p.materials, wanted);
      const round = (await store.suspensions(tx, c.id)).filter((s) => s.kind === 'correction').length;
      await attachMaterials(tx, c.applicant_index, c.id, p.materials, round);
      await store.endSuspension(tx, c.id, on);
      return { patch: {}, notice: {}, note: { slots: p.materials.map((m) => m.slot), round } };
    }
    case 'accept':
    case 'deem_accepted': {
      // Deemed acceptance counts from the day of receipt (行政许可法 第三十二条).
      const acceptedOn = event === 'deem_accepted' ? c.received_on : on;
      const assisting = item.assisting_authorities;
      if (assisting.length) {
        const decisionDue = deps.clock.due({ start: acceptedOn, days: c.promised_days, suspensions: [] })!;
        const days = (payload as Payload<'accept'>).opinion_days ?? Math.max(1, c.promised_days - 2);
        const due = deps.clock.calendar.addWorkingDays(acceptedOn, days);
        await store.insertOpinions(tx, c.id, assisting, due < decisionDue ? due : decisionDue);
      }
      return {
        patch: { accepted_on: acceptedOn, deemed_accepted: event === 'deem_accepted' },
        notice: {},
        note: { accepted_on: acceptedOn },
      };
    }
    case 'refuse': {
      const p = payload as Payload<'refuse'>;
      return {
        patch: { outcome: 'not_accepted', outcome_reasons: p.reasons, closed_at: at.toISOString() },
        notice: { reasons: p.reasons },
        note: {},
      };
    }
    case 'decide_on_the_spot':
    case 'decide': {
      const p = payload as Payload<'decide'>;
      const acceptedOn = c.accepted_on ?? on;
      const periods = periodsOf({ ...c, state: 'under_review', accepted_on: acceptedOn }, await store.suspensions(tx, c.id))!;
      const due = deps.clock.due(periods.promised);
      return {
        patch: {
          accepted_on: acceptedOn,
          outcome: p.outcome,
          outcome_reasons: p.reasons ?? null,
          decided_on: on,
          decision_days: deps.clock.elapsed(periods.promised, on),
          decided_late: due !== null && on > due,
        },
        notice: { outcome: p.outcome, reasons: p.reasons },
        note: { outcome: p.outcome, ...(p.reasons ? { reasons: p.reasons } : {}) },
      };
    }
    case 'record_review': {
      const p = payload as Payload<'record_review'>;
      return { patch: { review_done: [...new Set([...c.review_done, p.method])] }, notice: {}, note: p };
    }
    case 'give_opinion': {
      const p = payload as Payload<'give_opinion'>;
      const given = await store.giveOpinion(tx, c.id, {
        authority: who.authority!,
        opinion: p.opinion,
        reason: p.reason,
        by: who.actor,
        at,
      });
      if (!given)
        throw new HttpError(409, 'opinion_given', `${who.authority} was not asked for an opinion on ${c.number}, or has given it already`);
      return { ...none, note: { opinion: p.opinion, reason: p.reason } };
    }
    case 'suspend': {
      const p = payload as Payload<'suspend'>;
      await store.startSuspension(tx, c.id, { kind: p.kind, reason: p.reason, from: on });
      return { patch: {}, notice: { kind: p.kind }, note: p };
    }
    case 'resume': {
      const p = payload as Payload<'resume'>;
      const open = (await store.suspensions(tx, c.id)).find((s) => s.to === null)!;
      await store.endSuspension(tx, c.id, on);
      return {
        patch: { review_done: [...new Set([...c.review_done, open.kind])] },
        notice: { kind: open.kind },
        note: { kind: open.kind, finding: p.finding },
      };
    }
    case 'extend': {
      const p = payload as Payload<'extend'>;
      const days = EXTENSION_DAYS[c.opinion_quorum > 0 ? 'joint' : 'single'];
      return {
        patch: { extension_days: days, extension_reason: p.reason },
        notice: { extensionDays: days, reasons: p.reason },
        note: { days, reason: p.reason },
      };
    }
    case 'make_result':
      return { patch: { result }, notice: { resultName: String(result?.name ?? '') }, note: { result } };
    case 'deliver':
      return { patch: { delivered_on: on }, notice: {}, note: { delivery: c.delivery, ...payload } };
    case 'close':
      return { patch: { closed_at: at.toISOString() }, notice: {}, note: {} };
    case 'withdraw': {
      const p = payload as Payload<'withdraw'>;
      await store.endSuspension(tx, c.id, on);
      return { patch: { outcome: 'withdrawn', outcome_reasons: p.reason ?? null, closed_at: at.toISOString() }, notice: {}, note: {} };
    }
    case 'hand_off':
      await recordSentHandoff(tx, c, result!);
      return {
        patch: { handled_by: String(result!.handled_by) },
        notice: { handler: String(result!.handler_platform) },
        note: { ...payload, handled_by: result!.handled_by, digest: result!.digest },
      };
    case 'complete_review':
    case 'publish':
      return { ...none, note: payload };
  }
}

/** Fires one event on a locked case inside `tx`; returns the notices to send after commit. */
async function fire(
  deps: CaseDeps,
  tx: Transaction,
  c: store.CaseRow,
  item: ImplementationItem,
  event: CaseEvent,
  actor: Actor,
  payload: Record<string, unknown>,
  result: Record<string, unknown> | null,
): Promise<PendingNotice[]> {
  const who = await acting(tx, c, event, actor, payload);
  const to: CaseState = nextState(c.state, event, await factsOf(tx, c));
  const effects = await effectsOf(deps, tx, c, item, event, payload, who, result);
  const merged = { ...c, ...effects.patch, state: to };
  const clock = clockColumns(deps.clock, merged, await store.suspensions(tx, c.id));
  await store.updateCase(tx, c.id, { ...effects.patch, state: to, ...clock });
  const at = deps.now();
  const end = { at, event, actorRole: who.role, actor: who.actor, authority: who.authority, note: effects.note };
  if (to === c.state) await store.recordStep(tx, c.id, to, end);
  else {
    await store.endStep(tx, c.id, end);
    if (to === 'closed') await store.recordStep(tx, c.id, 'closed', { ...end, event: 'closed', note: {} });
    else await store.openStep(tx, c.id, to, at, clock.due_on);
  }
  await appendAudit(tx, {
    event: `case.${event}`,
    subject: `case:${c.number}`,
    detail: { from: c.state, to, role: who.role, authority: who.authority, actor: who.actor },
  });
  const text = noticeText(event, { ...merged, due_on: clock.due_on }, effects.notice);
  if (!text) return [];
  await store.insertNotice(tx, c.id, event, text, at);
  return [{ phone: openPerson(deps, c.applicant_enc).phone, text }];
}

/** A case received and not answered within the acceptance limit counts as accepted (fired by the clock). */
async function deemAcceptanceIfDue(deps: CaseDeps, tx: Transaction, c: store.CaseRow, item: ImplementationItem): Promise<PendingNotice[]> {
  // A case received for another platform is accepted (or not) there, after the hand-off.
  if (c.state !== 'received' || c.due_on === null || today(deps) <= c.due_on || c.item_snapshot) return [];
  return fire(deps, tx, c, item, 'deem_accepted', { kind: 'system' }, {}, null);
}

/** The case, refused to an applicant who is not its applicant. */
export function ownCase(deps: CaseDeps, c: store.CaseRow | undefined, number: string, caller: Caller): store.CaseRow {
  if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
  if (c.applicant_index !== applicantIndex(deps, caller.person))
    throw new Forbidden('not_your_case', `case ${number} is not one of your applications`);
  return c;
}

/** Brings a case's clock up to date (deemed acceptance): what reading or acting on a case does first. */
export async function settle(deps: CaseDeps, number: string): Promise<void> {
  const c = await store.caseByNumber(deps.db, number);
  if (!c || c.state !== 'received' || c.due_on === null || today(deps) <= c.due_on || c.item_snapshot) return;
  const item = await pinnedItem(deps, number);
  await deps.db.transaction(async (tx) =>
    sendNotices(deps, await deemAcceptanceIfDue(deps, tx, (await store.caseByNumber(tx, number, true))!, item), tx),
  );
}

const ACCEPTANCE_EVENTS: readonly CaseEvent[] = ['accept', 'refuse', 'request_correction'];

/**
 * Fires `event` on case `number` for `actor` with the request's `raw` payload. Results are made
 * (an e-license issued) before the transaction, which then checks the case again.
 */
export async function act(deps: CaseDeps, number: string, event: CaseEvent, actor: Actor, raw: unknown): Promise<store.CaseRow> {
  if (!(event in TRANSITIONS)) throw new NotFound(`no action ${event}`, 'unknown_action');
  const payload = validate(PAYLOADS[event] as z.ZodType, raw) as Record<string, unknown>;
  const item = await pinnedItem(deps, number);
  let result: Record<string, unknown> | null = null;
  if (event === 'hand_off') {
    const c = await store.caseByNumber(deps.db, number);
    if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
    const who = await acting(deps.db, c, event, actor, payload);
    nextState(c.state, event, await factsOf(deps.db, c));
    result = await sendHandoff(deps, c, who);
    crashPoint('handoff.acknowledged', deps.self);
  }
  if (event === 'make_result') {
    const c = await store.caseByNumber(deps.db, number);
    if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
    await acting(deps.db, c, event, actor, payload);
    nextState(c.state, event, await factsOf(deps.db, c));
    result = await deps.makeResult({
      number,
      itemCode: c.item_code,
      itemName: c.item_name,
      decidedOn: c.decided_on ?? today(deps),
      resultName: item.result.name,
      holder: openPerson(deps, c.applicant_enc),
      authority: c.authority,
    });
  }
  await settle(deps, number);
  await deps.db.transaction(async (tx) => {
    let c = await store.caseByNumber(tx, number, true);
    if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
    if (actor.kind === 'applicant') c = ownCase(deps, c, number, actor.caller);
    if (c.deemed_accepted && ACCEPTANCE_EVENTS.includes(event))
      throw new HttpError(
        409,
        'acceptance_deemed',
        `the acceptance limit of ${number} passed: the application counts as accepted since it was received`,
      );
    await sendNotices(deps, await fire(deps, tx, c, item, event, actor, payload, result), tx);
  });
  return (await store.caseByNumber(deps.db, number))!;
}
