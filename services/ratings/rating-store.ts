/**
 * The ratings' queries (migrations/services/008_voice.sql): ratings, their rectification tasks
 * with each task's events, and appeals. Dates are read as 'YYYY-MM-DD' text and instants as ISO
 * strings, as the cases' store reads them.
 */
import type { Queryable } from '../../infra/database.ts';
import type { CalendarDate } from '../cases/working-calendar.ts';
import type { RatingStatus } from './rating-lifecycle.ts';
import type { Resolution, TaskState } from './rectification-lifecycle.ts';
import type { Criterion, Stage } from './rating-rules.ts';

const day = (c: string) => `to_char(${c}, 'YYYY-MM-DD') AS ${c.replace(/^\w+\./, '')}`;
const instant = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${c.replace(/^\w+\./, '')}`;

export interface RatingRow {
  id: string;
  case_id: string;
  case_number: string;
  stage: Stage;
  platform: string;
  authority: string;
  item_code: string;
  item_name: string;
  level: number;
  criteria: Partial<Record<Criterion, number>>;
  comment_enc: string | null;
  complaint_enc: string | null;
  real_name: boolean;
  rater_index: string;
  rater_enc: string;
  issuer: string;
  client_id: string;
  status: RatingStatus;
  rated_at: string;
  rated_on: CalendarDate;
}

const RATING_COLUMNS = [
  'r.id::text AS id',
  'r.case_id::text AS case_id',
  'r.case_number',
  'r.stage',
  'r.platform',
  'r.authority',
  'r.item_code',
  'r.item_name',
  'r.level',
  'r.criteria',
  'r.comment_enc',
  'r.complaint_enc',
  'r.real_name',
  'r.rater_index',
  'r.rater_enc',
  'r.issuer',
  'r.client_id',
  'r.status',
  instant('r.rated_at'),
  day('r.rated_on'),
].join(', ');

export type NewRating = Omit<RatingRow, 'id'>;

export async function insertRating(db: Queryable, r: NewRating): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO ratings (case_id, case_number, stage, platform, authority, item_code, item_name, level, criteria, comment_enc,
       complaint_enc, real_name, rater_index, rater_enc, issuer, client_id, status, rated_at, rated_on)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id::text AS id`,
    [
      r.case_id,
      r.case_number,
      r.stage,
      r.platform,
      r.authority,
      r.item_code,
      r.item_name,
      r.level,
      JSON.stringify(r.criteria),
      r.comment_enc,
      r.complaint_enc,
      r.real_name,
      r.rater_index,
      r.rater_enc,
      r.issuer,
      r.client_id,
      r.status,
      r.rated_at,
      r.rated_on,
    ],
  );
  return rows[0]!.id;
}

export async function rating(db: Queryable, id: string, forUpdate = false): Promise<RatingRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const { rows } = await db.query<RatingRow>(`SELECT ${RATING_COLUMNS} FROM ratings r WHERE r.id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [
    id,
  ]);
  return rows[0];
}

export async function ratingOf(db: Queryable, caseId: string, stage: Stage): Promise<RatingRow | undefined> {
  const { rows } = await db.query<RatingRow>(`SELECT ${RATING_COLUMNS} FROM ratings r WHERE r.case_id = $1 AND r.stage = $2`, [
    caseId,
    stage,
  ]);
  return rows[0];
}

export async function ratingsOfRater(db: Queryable, raterIndex: string, limit: number): Promise<RatingRow[]> {
  const { rows } = await db.query<RatingRow>(
    `SELECT ${RATING_COLUMNS} FROM ratings r WHERE r.rater_index = $1 ORDER BY r.id DESC LIMIT $2`,
    [raterIndex, limit],
  );
  return rows;
}

/** The stages of a case that are rated already. */
export async function ratedStages(db: Queryable, caseIds: string[]): Promise<Map<string, Stage[]>> {
  const { rows } = await db.query<{ case_id: string; stage: Stage }>(
    'SELECT case_id::text AS case_id, stage FROM ratings WHERE case_id = ANY($1::bigint[])',
    [caseIds],
  );
  const out = new Map<string, Stage[]>();
  for (const r of rows) out.set(r.case_id, [...(out.get(r.case_id) ?? []), r.stage]);
  return out;
}

export async function setRatingStatus(db: Queryable, id: string, status: RatingStatus): Promise<void> {
  await db.query('UPDATE ratings SET status = $2 WHERE id = $1', [id, status]);
}

// Rectification tasks ------------------------------------------------------------------------------

export interface TaskRow {
  id: string;
  rating_id: string;
  authority: string;
  platform: string;
  case_number: string;
  item_code: string;
  call_back_needed: boolean;
  opened_on: CalendarDate;
  call_back_due_on: CalendarDate;
  rectify_days: number;
  state: TaskState;
  due_on: CalendarDate;
  called_back_on: CalendarDate | null;
  resolution: Resolution | null;
  answered_on: CalendarDate | null;
  fix_by: CalendarDate | null;
  fixed_on: CalendarDate | null;
  rater_view: 'satisfied' | 'unsatisfied' | null;
}

const TASK_COLUMNS = [
  't.id::text AS id',
  't.rating_id::text AS rating_id',
  't.authority',
  't.platform',
  't.case_number',
  't.item_code',
  't.call_back_needed',
  day('t.opened_on'),
  day('t.call_back_due_on'),
  't.rectify_days',
  't.state',
  day('t.due_on'),
  day('t.called_back_on'),
  't.resolution',
  day('t.answered_on'),
  day('t.fix_by'),
  day('t.fixed_on'),
  't.rater_view',
].join(', ');

export type NewTask = Pick<
  TaskRow,
  | 'rating_id'
  | 'authority'
  | 'platform'
  | 'case_number'
  | 'item_code'
  | 'call_back_needed'
  | 'opened_on'
  | 'call_back_due_on'
  | 'rectify_days'
  | 'due_on'
>;

export async function insertTask(db: Queryable, t: NewTask): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO rectification_tasks (rating_id, authority, platform, case_number, item_code, call_back_needed, opened_on,
       call_back_due_on, rectify_days, state, due_on)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10) RETURNING id::text AS id`,
    [
      t.rating_id,
      t.authority,
      t.platform,
      t.case_number,
      t.item_code,
      t.call_back_needed,
      t.opened_on,
      t.call_back_due_on,
      t.rectify_days,
      t.due_on,
    ],
  );
  return rows[0]!.id;
}

export async function task(db: Queryable, id: string, forUpdate = false): Promise<TaskRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const { rows } = await db.query<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM rectification_tasks t WHERE t.id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

export async function taskOfRating(db: Queryable, ratingId: string, forUpdate = false): Promise<TaskRow | undefined> {
  const { rows } = await db.query<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM rectification_tasks t WHERE t.rating_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [ratingId],
  );
  return rows[0];
}

/** Columns a task's lifecycle changes. */
export type TaskPatch = Partial<
  Pick<TaskRow, 'state' | 'due_on' | 'called_back_on' | 'resolution' | 'answered_on' | 'fix_by' | 'fixed_on' | 'rater_view'>
>;

export async function updateTask(db: Queryable, id: string, patch: TaskPatch): Promise<void> {
  const keys = Object.keys(patch) as (keyof TaskPatch)[];
  if (keys.length === 0) return;
  await db.query(`UPDATE rectification_tasks SET ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1`, [
    id,
    ...keys.map((k) => patch[k]),
  ]);
}

export interface QueueRow extends TaskRow {
  level: number;
  stage: Stage;
  item_name: string;
  complaint: boolean;
}

/** Tasks of the authorities, in the given states, soonest due first. */
export async function tasksOf(db: Queryable, authorities: string[], states: readonly TaskState[], limit: number): Promise<QueueRow[]> {
  const { rows } = await db.query<QueueRow>(
    `SELECT ${TASK_COLUMNS}, r.level, r.stage, r.item_name, r.complaint_enc IS NOT NULL AS complaint
     FROM rectification_tasks t JOIN ratings r ON r.id = t.rating_id
     WHERE t.authority = ANY($1::text[]) AND t.state = ANY($2::text[]) ORDER BY t.due_on, t.id LIMIT $3`,
    [authorities, states, limit],
  );
  return rows;
}

export interface EventRow {
  event: string;
  from_state: string;
  to_state: string;
  actor_role: string;
  actor: string;
  authority: string | null;
  facts: Record<string, unknown>;
  note_enc: string | null;
  at: string;
}

export async function insertEvent(db: Queryable, taskId: string, e: Omit<EventRow, 'at'> & { at: Date }): Promise<void> {
  await db.query(
    `INSERT INTO rectification_events (task_id, event, from_state, to_state, actor_role, actor, authority, facts, note_enc, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [taskId, e.event, e.from_state, e.to_state, e.actor_role, e.actor, e.authority, JSON.stringify(e.facts), e.note_enc, e.at],
  );
}

export async function events(db: Queryable, taskId: string): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT event, from_state, to_state, actor_role, actor, authority, facts, note_enc, ${instant('at')}
     FROM rectification_events WHERE task_id = $1 ORDER BY id`,
    [taskId],
  );
  return rows;
}

// Appeals --------------------------------------------------------------------------------------------

export interface AppealRow {
  id: string;
  rating_id: string;
  task_id: string;
  authority: string;
  supervisor: string;
  reason_enc: string;
  filed_by: string;
  filed_at: string;
  filed_on: CalendarDate;
  due_on: CalendarDate;
  decision: 'upheld' | 'rejected' | null;
  decision_reason_enc: string | null;
  decided_by: string | null;
  decided_at: string | null;
  decided_on: CalendarDate | null;
}

const APPEAL_COLUMNS = [
  'a.id::text AS id',
  'a.rating_id::text AS rating_id',
  'a.task_id::text AS task_id',
  'a.authority',
  'a.supervisor',
  'a.reason_enc',
  'a.filed_by',
  instant('a.filed_at'),
  day('a.filed_on'),
  day('a.due_on'),
  'a.decision',
  'a.decision_reason_enc',
  'a.decided_by',
  instant('a.decided_at'),
  day('a.decided_on'),
].join(', ');

export async function insertAppeal(
  db: Queryable,
  a: Pick<AppealRow, 'rating_id' | 'task_id' | 'authority' | 'supervisor' | 'reason_enc' | 'filed_by' | 'filed_at' | 'filed_on' | 'due_on'>,
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO rating_appeals (rating_id, task_id, authority, supervisor, reason_enc, filed_by, filed_at, filed_on, due_on)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id::text AS id`,
    [a.rating_id, a.task_id, a.authority, a.supervisor, a.reason_enc, a.filed_by, a.filed_at, a.filed_on, a.due_on],
  );
  return rows[0]!.id;
}

export async function appeal(db: Queryable, id: string, forUpdate = false): Promise<AppealRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const { rows } = await db.query<AppealRow>(
    `SELECT ${APPEAL_COLUMNS} FROM rating_appeals a WHERE a.id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

export async function appealOfRating(db: Queryable, ratingId: string): Promise<AppealRow | undefined> {
  const { rows } = await db.query<AppealRow>(`SELECT ${APPEAL_COLUMNS} FROM rating_appeals a WHERE a.rating_id = $1`, [ratingId]);
  return rows[0];
}

export async function decideAppeal(
  db: Queryable,
  id: string,
  d: { decision: 'upheld' | 'rejected'; reasonEnc: string; by: string; at: Date; on: CalendarDate },
): Promise<void> {
  await db.query(
    'UPDATE rating_appeals SET decision = $2, decision_reason_enc = $3, decided_by = $4, decided_at = $5, decided_on = $6 WHERE id = $1',
    [id, d.decision, d.reasonEnc, d.by, d.at, d.on],
  );
}

export interface PendingAppealRow extends AppealRow {
  case_number: string;
  item_name: string;
  level: number;
}

/** Appeals the supervising authorities have still to decide, soonest due first (or all of theirs). */
export async function appealsFor(db: Queryable, supervisors: string[], pendingOnly: boolean, limit: number): Promise<PendingAppealRow[]> {
  const { rows } = await db.query<PendingAppealRow>(
    `SELECT ${APPEAL_COLUMNS}, r.case_number, r.item_name, r.level FROM rating_appeals a JOIN ratings r ON r.id = a.rating_id
     WHERE a.supervisor = ANY($1::text[])${pendingOnly ? ' AND a.decision IS NULL' : ''} ORDER BY a.due_on, a.id LIMIT $2`,
    [supervisors, limit],
  );
  return rows;
}
