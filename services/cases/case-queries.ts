/**
 * Lists over many cases: a member of staff's queue (the open cases their roles can move next, at
 * their authorities, most urgent first; opinions their departments owe), an applicant's cases,
 * published decisions, and supervision figures per authority and item.
 */
import type { Queryable } from '../../infra/database.ts';
import { today, type CaseDeps } from './case-context.ts';
import { TRANSITIONS, type CaseEvent, type CaseState, type StaffRole } from './case-lifecycle.ts';
import type { CaseRow } from './case-store.ts';
import { caseLine } from './case-views.ts';
import type { Staff } from './staff-grants.ts';

/** The states in which a role has something to do. */
export function statesFor(role: StaffRole): CaseState[] {
  const states = new Set<CaseState>();
  for (const e of Object.keys(TRANSITIONS) as CaseEvent[]) {
    const t = TRANSITIONS[e];
    if ((t.by as readonly string[]).includes(role) && e !== 'give_opinion') for (const s of t.from) states.add(s);
  }
  return [...states];
}

export type QueueFilter = 'all' | 'due_soon' | 'overdue';

const QUEUE_COLUMNS = `c.id::text AS id, c.number, c.item_code, c.item_name, c.authority, c.state, c.outcome,
  to_char(c.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS received_at, c.clock_phase,
  to_char(c.due_on, 'YYYY-MM-DD') AS due_on, to_char(c.legal_due_on, 'YYYY-MM-DD') AS legal_due_on`;

/** The open cases a member of staff can move next, most urgent first, and the opinions their departments owe. */
export async function queue(deps: CaseDeps, staff: Staff, filter: QueueFilter, limit: number) {
  const on = today(deps);
  const soon = deps.clock.dueSoonBefore(on);
  // Each (authority, state) once, however many of the person's roles act in it.
  const pairs = new Set(staff.grants.flatMap((g) => statesFor(g.role).map((s) => `${g.authority} ${s}`)));
  const authorities = [...pairs].map((p) => p.split(' ')[0]!);
  const states = [...pairs].map((p) => p.split(' ')[1]!);
  const before = filter === 'overdue' ? on : filter === 'due_soon' ? soon : null;
  // One index range per (authority, state), each read only as far as the limit from the index alone
  // (cases_open_queue), merged; then only the winners' rows are read.
  const due = before ? 'AND c.due_on < $4::date' : '';
  const { rows } = await deps.db.query<CaseRow>(
    `WITH top AS (
       SELECT q.id, q.due_on FROM unnest($1::text[], $2::text[]) AS p(authority, state)
       CROSS JOIN LATERAL (SELECT c.id, c.due_on FROM cases c
         WHERE c.authority = p.authority AND c.state = p.state AND c.state <> 'closed' ${due}
         ORDER BY c.due_on, c.id LIMIT $3) q
       ORDER BY q.due_on, q.id LIMIT $3)
     SELECT ${QUEUE_COLUMNS} FROM top JOIN cases c ON c.id = top.id ORDER BY top.due_on, top.id`,
    before ? [authorities, states, limit, before] : [authorities, states, limit],
  );
  const reviewing = [...new Set(staff.grants.filter((g) => g.role === 'reviewer').map((g) => g.authority))];
  const owed = reviewing.length ? await opinionsOwed(deps.db, reviewing, before, limit) : [];
  return {
    today: on,
    cases: rows.map((c) => caseLine(c, on, soon)),
    opinions: owed.map((o) => ({ ...o, flag: o.due_on < on ? 'overdue' : o.due_on < soon ? 'due_soon' : null })),
  };
}

async function opinionsOwed(db: Queryable, authorities: string[], before: string | null, limit: number) {
  const { rows } = await db.query<{ number: string; item_name: string; authority: string; due_on: string }>(
    `SELECT c.number, c.item_name, o.authority, to_char(o.due_on, 'YYYY-MM-DD') AS due_on
     FROM case_opinions o JOIN cases c ON c.id = o.case_id
     WHERE o.given_at IS NULL AND o.authority = ANY($1::text[]) AND c.state IN ('under_review', 'suspended')
       AND ($2::date IS NULL OR o.due_on < $2::date)
     ORDER BY o.due_on, c.id LIMIT $3`,
    [authorities, before, limit],
  );
  return rows;
}

/** An applicant's cases, newest first (我的办件). */
export async function casesOf(deps: CaseDeps, applicantIndex: string, limit: number) {
  const on = today(deps);
  const soon = deps.clock.dueSoonBefore(on);
  const { rows } = await deps.db.query<CaseRow>(
    `SELECT ${QUEUE_COLUMNS} FROM cases c WHERE c.applicant_index = $1 ORDER BY c.received_at DESC LIMIT $2`,
    [applicantIndex, limit],
  );
  return rows.map((c) => caseLine(c, on, soon));
}

/** Approvals published as the item requires (行政许可法 第四十条); no personal data. */
export async function published(db: Queryable, authority: string | null, limit: number) {
  const { rows } = await db.query(
    `SELECT c.number, c.item_code, c.item_name, c.authority, to_char(c.decided_on, 'YYYY-MM-DD') AS decided_on, c.outcome
     FROM cases c JOIN case_steps s ON s.case_id = c.id AND s.event = 'publish'
     WHERE ($1::text IS NULL OR c.authority = $1) ORDER BY s.ended_at DESC LIMIT $2`,
    [authority, limit],
  );
  return rows;
}

export interface ItemStats {
  authority: string;
  item_code: string;
  item_name: string;
  received: number;
  closed: number;
  open: number;
  overdue_open: number;
  decided: number;
  decided_late: number;
  average_decision_days: number | null;
  promised_days: number;
}

/**
 * The authorities a supervisor at `authority` oversees: itself and those of the same department
 * in its region (a province's department oversees its cities' ones; national's, every region's).
 */
export async function supervisedAuthorities(db: Queryable, authority: string): Promise<string[]> {
  const { rows } = await db.query<{ code: string }>(
    `SELECT b.code FROM catalog_authorities a JOIN catalog_authorities b ON b.department = a.department
     WHERE a.code = $1 AND (a.region = '100000' OR (a.region LIKE '__0000' AND b.region LIKE substr(a.region, 1, 2) || '%') OR b.region = a.region)
     ORDER BY b.code`,
    [authority],
  );
  return rows.map((r) => r.code);
}

/** Supervision (监督): per authority and item, what came in, what closed, what is late, and time against the promise. */
export async function stats(
  deps: CaseDeps,
  filter: { authority?: string; authorities?: string[]; item?: string },
): Promise<{ today: string; items: ItemStats[] }> {
  const on = today(deps);
  const { rows } = await deps.db.query<ItemStats>(
    `SELECT authority, item_code, min(item_name) AS item_name,
       count(*)::int AS received,
       (count(*) FILTER (WHERE state = 'closed'))::int AS closed,
       (count(*) FILTER (WHERE state NOT IN ('closed', 'handed_off')))::int AS open,
       (count(*) FILTER (WHERE state <> 'closed' AND due_on < $3::date))::int AS overdue_open,
       (count(*) FILTER (WHERE decided_on IS NOT NULL))::int AS decided,
       (count(*) FILTER (WHERE decided_late))::int AS decided_late,
       round(avg(decision_days) FILTER (WHERE decision_days IS NOT NULL), 1)::float8 AS average_decision_days,
       max(promised_days)::int AS promised_days
     FROM cases WHERE ($1::text IS NULL OR authority = $1) AND ($2::text IS NULL OR item_code = $2)
       AND ($4::text[] IS NULL OR authority = ANY($4::text[]))
     GROUP BY authority, item_code ORDER BY authority, item_code LIMIT 1000`,
    [filter.authority ?? null, filter.item ?? null, on, filter.authorities ?? null],
  );
  return { today: on, items: rows };
}
