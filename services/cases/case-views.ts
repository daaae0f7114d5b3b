/**
 * What each reader sees of a case: anyone with the number and a second factor sees its progress
 * (no personal data, no notes); the applicant sees their case whole, with the notices they were
 * sent and every access to it; staff see the applicant, the materials and the departments' notes.
 * Each step shows when it started and ended, how long it took, who acted (as a role, at which
 * authority) and its deadline.
 */
import type { Queryable } from '../../infra/database.ts';
import { authority as authorityOf } from '../catalog/catalog-store.ts';
import { ADDRESS_AAD, openPerson, today, type CaseDeps } from './case-context.ts';
import { readCaseClock } from './case-deadlines.ts';
import { factsOf } from './case-actions.ts';
import { caseItem } from './cross-region.ts';
import { eventsFrom, firers, nextState, type CaseEvent } from './case-lifecycle.ts';
import * as store from './case-store.ts';
import { rolesAt, type Staff } from './staff-grants.ts';
import { chinaDate } from './working-calendar.ts';

export async function authorityNames(db: Queryable, codes: Iterable<string | null>): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const code of new Set(codes)) if (code) names[code] = (await authorityOf(db, code))?.name ?? code;
  return names;
}

function timeline(deps: CaseDeps, steps: store.StepRow[], names: Record<string, string>, withNotes: boolean) {
  return steps.map((s) => ({
    state: s.state,
    event: s.event,
    started_at: s.started_at,
    ended_at: s.ended_at,
    duration_seconds: s.ended_at ? Math.round((Date.parse(s.ended_at) - Date.parse(s.started_at)) / 1000) : null,
    working_days: deps.clock.calendar.workingDaysBetween(
      chinaDate(new Date(s.started_at)),
      chinaDate(s.ended_at ? new Date(s.ended_at) : deps.now()),
    ),
    deadline: s.deadline,
    actor_role: s.actor_role,
    authority: s.authority,
    authority_name: s.authority ? names[s.authority] : null,
    ...(withNotes ? { note: s.note } : {}),
  }));
}

async function core(deps: CaseDeps, c: store.CaseRow, withNotes: boolean) {
  const [steps, suspensions, opinions] = await Promise.all([
    store.steps(deps.db, c.id),
    store.suspensions(deps.db, c.id),
    store.opinions(deps.db, c.id),
  ]);
  const names = await authorityNames(deps.db, [c.authority, ...steps.map((s) => s.authority), ...opinions.map((o) => o.authority)]);
  return {
    number: c.number,
    platform: c.platform,
    item: { code: c.item_code, version: c.item_version, name: c.item_name },
    authority: c.authority,
    authority_name: names[c.authority],
    state: c.state,
    outcome: c.outcome,
    received_at: c.received_at,
    accepted_on: c.accepted_on,
    deemed_accepted: c.deemed_accepted,
    decided_on: c.decided_on,
    delivered_on: c.delivered_on,
    closed_at: c.closed_at,
    limits: { legal_days: c.legal_days, promised_days: c.promised_days, extension_days: c.extension_days },
    clock: readCaseClock(deps.clock, c, suspensions, today(deps)),
    suspensions: suspensions.map((s) => ({ kind: s.kind, from: s.from, to: s.to, ...(s.notice ? { missing: s.notice.missing } : {}) })),
    opinions: opinions.map((o) => ({
      authority: o.authority,
      authority_name: names[o.authority],
      due_on: o.due_on,
      given_at: o.given_at,
      overdue: !o.given_at && o.due_on < today(deps),
      ...(withNotes ? { opinion: o.opinion, reason: o.reason } : {}),
    })),
    timeline: timeline(deps, steps, names, withNotes),
  };
}

/** Progress by number (我要查): no personal data, no notes. */
export async function publicView(deps: CaseDeps, c: store.CaseRow) {
  const { opinions: _opinions, suspensions, ...rest } = await core(deps, c, false);
  return { ...rest, suspensions: suspensions.map(({ kind, from, to }) => ({ kind, from, to })) };
}

async function materials(deps: CaseDeps, c: store.CaseRow, names: string[]) {
  return (await store.materialsOf(deps.db, c.id)).map((m) => ({
    id: m.upload_id,
    slot: m.slot,
    name: m.slot !== null ? (names[m.slot] ?? null) : null,
    round: m.round,
    source: m.source,
    media_type: m.media_type,
    size: m.size,
    digest: m.digest ? `sha-256:${m.digest}` : null,
    reference: m.reference,
  }));
}

async function itemMaterialNames(deps: CaseDeps, c: store.CaseRow): Promise<string[]> {
  return (await caseItem(deps, c)).materials.map((m) => m.name);
}

/** Who did what with the case, from the audit log: the applicant reads every access. */
async function accesses(db: Queryable, number: string) {
  const { rows } = await db.query<{ at: string; event: string; detail: Record<string, unknown> }>(
    `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, event, detail FROM audit_log WHERE subject = $1 ORDER BY seq`,
    [`case:${number}`],
  );
  return rows.map((r) => ({ at: r.at, event: r.event, role: r.detail.role ?? null, authority: r.detail.authority ?? null }));
}

/** The applicant's view of their case. */
export async function applicantView(deps: CaseDeps, c: store.CaseRow) {
  return {
    ...(await core(deps, c, false)),
    delivery: c.delivery,
    outcome_reasons: c.outcome_reasons,
    result: c.result,
    materials: await materials(deps, c, await itemMaterialNames(deps, c)),
    notices: await store.notices(deps.db, c.id),
    accesses: await accesses(deps.db, c.number),
  };
}

/** The events this member of staff may fire on the case now: their roles, the state and its guards. */
async function actionsOf(deps: CaseDeps, c: store.CaseRow, staff: Staff): Promise<CaseEvent[]> {
  const owing = (await store.opinions(deps.db, c.id)).filter((o) => !o.given_at).map((o) => o.authority);
  const facts = await factsOf(deps.db, c);
  const possible = (e: CaseEvent) => {
    try {
      nextState(c.state, e, facts);
      return true;
    } catch {
      return false;
    }
  };
  return eventsFrom(c.state).filter((e) => {
    if (e === 'give_opinion') return owing.some((a) => rolesAt(staff, a).includes('reviewer'));
    const by: readonly string[] = firers(e);
    return rolesAt(staff, c.authority).some((r) => by.includes(r)) && possible(e);
  });
}

/** The staff view: the applicant, materials, notes and opinions, and what this member of staff can do next. */
export async function staffView(deps: CaseDeps, c: store.CaseRow, staff: Staff) {
  const applicant = openPerson(deps, c.applicant_enc);
  return {
    ...(await core(deps, c, true)),
    actions: await actionsOf(deps, c, staff),
    joint: c.opinion_quorum > 0,
    item_materials: await itemMaterialNames(deps, c),
    applicant: { name: applicant.name, id_number: applicant.idNumber, phone: applicant.phone },
    applicant_issuer: c.applicant_issuer,
    delivery: c.delivery,
    delivery_address: c.delivery_address_enc ? deps.cipher.decrypt(c.delivery_address_enc, ADDRESS_AAD) : null,
    review_methods: c.review_methods,
    review_done: c.review_done,
    outcome_reasons: c.outcome_reasons,
    result: c.result,
    materials: await materials(deps, c, await itemMaterialNames(deps, c)),
  };
}

/** One line per case in a list (my cases, a queue). */
export function caseLine(c: store.CaseRow, on: string, dueSoonBefore: string) {
  return {
    number: c.number,
    item: { code: c.item_code, name: c.item_name },
    authority: c.authority,
    state: c.state,
    outcome: c.outcome,
    received_at: c.received_at,
    clock_phase: c.clock_phase,
    due_on: c.due_on,
    legal_due_on: c.legal_due_on,
    flag: c.due_on === null ? (c.clock_phase ? 'paused' : null) : c.due_on < on ? 'overdue' : c.due_on < dueSoonBefore ? 'due_soon' : null,
  };
}
