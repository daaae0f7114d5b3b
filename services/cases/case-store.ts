/**
 * The cases' queries (migrations/services/006_cases.sql). Dates are read as 'YYYY-MM-DD' text, so
 * no time zone of the driver ever shifts them; instants as ISO strings.
 */
import type { Queryable } from '../../infra/database.ts';
import type { CaseState, Outcome } from './case-lifecycle.ts';
import type { SuspensionKind } from './legal-clock.ts';
import type { CalendarDate } from './working-calendar.ts';

export type Delivery = 'electronic' | 'mail' | 'pickup';
export type ClockPhase = 'acceptance' | 'decision' | 'delivery';

export interface CaseRow {
  id: string;
  number: string;
  platform: string;
  item_code: string;
  item_version: number;
  item_name: string;
  authority: string;
  state: CaseState;
  outcome: Outcome | null;
  outcome_reasons: string | null;
  applicant_index: string;
  applicant_enc: string;
  applicant_issuer: string;
  applicant_subject: string;
  client_id: string;
  acr: string | null;
  delivery: Delivery;
  delivery_address_enc: string | null;
  idempotency_key: string;
  request_digest: string;
  query_code_hash: string;
  on_the_spot: boolean;
  publication_required: boolean;
  review_methods: string[];
  review_done: string[];
  opinion_quorum: number;
  legal_days: number;
  promised_days: number;
  extension_days: number;
  extension_reason: string | null;
  received_at: string;
  received_on: CalendarDate;
  accepted_on: CalendarDate | null;
  deemed_accepted: boolean;
  decided_on: CalendarDate | null;
  decision_days: number | null;
  decided_late: boolean | null;
  delivered_on: CalendarDate | null;
  closed_at: string | null;
  clock_phase: ClockPhase | null;
  due_on: CalendarDate | null;
  legal_due_on: CalendarDate | null;
  result: Record<string, unknown> | null;
  /** An item another platform handles: its version as read there (cross-region.ts). */
  item_snapshot: Record<string, unknown> | null;
  /** Receiving side: the services entity the case was handed to. */
  handled_by: string | null;
  /** Handling side: the services entity that received the application. */
  received_by: string | null;
}

const day = (c: string) => `to_char(${c}, 'YYYY-MM-DD') AS ${c.replace(/^c\./, '')}`;
const instant = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${c.replace(/^c\./, '')}`;

const CASE_COLUMNS = [
  'c.id::text AS id',
  'c.number',
  'c.platform',
  'c.item_code',
  'c.item_version',
  'c.item_name',
  'c.authority',
  'c.state',
  'c.outcome',
  'c.outcome_reasons',
  'c.applicant_index',
  'c.applicant_enc',
  'c.applicant_issuer',
  'c.applicant_subject',
  'c.client_id',
  'c.acr',
  'c.delivery',
  'c.delivery_address_enc',
  'c.idempotency_key',
  'c.request_digest',
  'c.query_code_hash',
  'c.on_the_spot',
  'c.publication_required',
  'c.review_methods',
  'c.review_done',
  'c.opinion_quorum',
  'c.legal_days',
  'c.promised_days',
  'c.extension_days',
  'c.extension_reason',
  instant('c.received_at'),
  day('c.received_on'),
  day('c.accepted_on'),
  'c.deemed_accepted',
  day('c.decided_on'),
  'c.decision_days',
  'c.decided_late',
  day('c.delivered_on'),
  instant('c.closed_at'),
  'c.clock_phase',
  day('c.due_on'),
  day('c.legal_due_on'),
  'c.result',
  'c.item_snapshot',
  'c.handled_by',
  'c.received_by',
].join(', ');

export type NewCase = Omit<
  CaseRow,
  | 'id'
  | 'outcome'
  | 'outcome_reasons'
  | 'review_done'
  | 'extension_days'
  | 'extension_reason'
  | 'accepted_on'
  | 'deemed_accepted'
  | 'decided_on'
  | 'decision_days'
  | 'decided_late'
  | 'delivered_on'
  | 'closed_at'
  | 'result'
  | 'handled_by'
  | 'received_by'
>;

const NEW_CASE_COLUMNS = [
  'number',
  'platform',
  'item_code',
  'item_version',
  'item_name',
  'authority',
  'state',
  'applicant_index',
  'applicant_enc',
  'applicant_issuer',
  'applicant_subject',
  'client_id',
  'acr',
  'delivery',
  'delivery_address_enc',
  'idempotency_key',
  'request_digest',
  'query_code_hash',
  'on_the_spot',
  'publication_required',
  'review_methods',
  'opinion_quorum',
  'legal_days',
  'promised_days',
  'received_at',
  'received_on',
  'clock_phase',
  'due_on',
  'legal_due_on',
  'item_snapshot',
] as const satisfies readonly (keyof NewCase)[];

const json = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v);

export async function insertCase(db: Queryable, c: NewCase): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO cases (${NEW_CASE_COLUMNS.join(', ')}) VALUES (${NEW_CASE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id::text AS id`,
    NEW_CASE_COLUMNS.map((k) => json(c[k])),
  );
  return rows[0]!.id;
}

/** Columns a transition may change. */
export type CasePatch = Partial<
  Pick<
    CaseRow,
    | 'state'
    | 'outcome'
    | 'outcome_reasons'
    | 'review_done'
    | 'extension_days'
    | 'extension_reason'
    | 'accepted_on'
    | 'deemed_accepted'
    | 'decided_on'
    | 'decision_days'
    | 'decided_late'
    | 'delivered_on'
    | 'closed_at'
    | 'clock_phase'
    | 'due_on'
    | 'legal_due_on'
    | 'result'
    | 'received_on'
    | 'received_at'
    | 'handled_by'
  >
>;

export async function updateCase(db: Queryable, id: string, patch: CasePatch): Promise<void> {
  const keys = Object.keys(patch) as (keyof CasePatch)[];
  if (keys.length === 0) return;
  await db.query(`UPDATE cases SET ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1`, [
    id,
    ...keys.map((k) => json(patch[k])),
  ]);
}

/** A case by its number, locked for the rest of the transaction when `forUpdate`. */
export async function caseByNumber(db: Queryable, number: string, forUpdate = false): Promise<CaseRow | undefined> {
  const { rows } = await db.query<CaseRow>(`SELECT ${CASE_COLUMNS} FROM cases c WHERE c.number = $1${forUpdate ? ' FOR UPDATE' : ''}`, [
    number,
  ]);
  return rows[0];
}

export async function caseByIdempotencyKey(db: Queryable, applicantIndex: string, key: string): Promise<CaseRow | undefined> {
  const { rows } = await db.query<CaseRow>(`SELECT ${CASE_COLUMNS} FROM cases c WHERE c.applicant_index = $1 AND c.idempotency_key = $2`, [
    applicantIndex,
    key,
  ]);
  return rows[0];
}

export async function casesOfApplicant(db: Queryable, applicantIndex: string, limit: number): Promise<CaseRow[]> {
  const { rows } = await db.query<CaseRow>(
    `SELECT ${CASE_COLUMNS} FROM cases c WHERE c.applicant_index = $1 ORDER BY c.received_at DESC LIMIT $2`,
    [applicantIndex, limit],
  );
  return rows;
}

// Steps -------------------------------------------------------------------------------------------

export interface StepRow {
  state: CaseState;
  started_at: string;
  ended_at: string | null;
  deadline: CalendarDate | null;
  event: string | null;
  actor_role: string | null;
  actor: string | null;
  authority: string | null;
  note: Record<string, unknown>;
}

export interface StepEnd {
  at: Date;
  event: string;
  actorRole: string;
  actor: string;
  authority: string | null;
  note?: Record<string, unknown>;
}

export async function openStep(db: Queryable, caseId: string, state: CaseState, at: Date, deadline: CalendarDate | null): Promise<void> {
  await db.query('INSERT INTO case_steps (case_id, state, started_at, deadline) VALUES ($1, $2, $3, $4)', [caseId, state, at, deadline]);
}

/** Ends the step open now. */
export async function endStep(db: Queryable, caseId: string, end: StepEnd): Promise<void> {
  await db.query(
    `UPDATE case_steps SET ended_at = $2, event = $3, actor_role = $4, actor = $5, authority = $6, note = $7
     WHERE case_id = $1 AND ended_at IS NULL`,
    [caseId, end.at, end.event, end.actorRole, end.actor, end.authority, JSON.stringify(end.note ?? {})],
  );
}

/** Something done within a state (a review, an opinion, an extension): a step that starts and ends at once. */
export async function recordStep(db: Queryable, caseId: string, state: CaseState, end: StepEnd): Promise<void> {
  await db.query(
    `INSERT INTO case_steps (case_id, state, started_at, ended_at, event, actor_role, actor, authority, note)
     VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)`,
    [caseId, state, end.at, end.event, end.actorRole, end.actor, end.authority, JSON.stringify(end.note ?? {})],
  );
}

export async function steps(db: Queryable, caseId: string): Promise<StepRow[]> {
  const { rows } = await db.query<StepRow>(
    `SELECT state, ${instant('started_at')}, ${instant('ended_at')}, ${day('deadline')}, event, actor_role, actor, authority, note
     FROM case_steps WHERE case_id = $1 ORDER BY id`,
    [caseId],
  );
  return rows;
}

// Suspensions -------------------------------------------------------------------------------------

export interface SuspensionRow {
  kind: SuspensionKind;
  reason: string;
  from: CalendarDate;
  to: CalendarDate | null;
  notice: { missing: { slot?: number; name: string; reason: string }[] } | null;
}

export async function suspensions(db: Queryable, caseId: string): Promise<SuspensionRow[]> {
  const { rows } = await db.query<SuspensionRow>(
    `SELECT kind, reason, to_char(from_on, 'YYYY-MM-DD') AS "from", to_char(to_on, 'YYYY-MM-DD') AS "to", notice
     FROM case_suspensions WHERE case_id = $1 ORDER BY id`,
    [caseId],
  );
  return rows;
}

export async function startSuspension(
  db: Queryable,
  caseId: string,
  s: { kind: SuspensionKind; reason: string; from: CalendarDate; notice?: SuspensionRow['notice'] },
): Promise<void> {
  await db.query('INSERT INTO case_suspensions (case_id, kind, reason, from_on, notice) VALUES ($1, $2, $3, $4, $5)', [
    caseId,
    s.kind,
    s.reason,
    s.from,
    s.notice ? JSON.stringify(s.notice) : null,
  ]);
}

export async function endSuspension(db: Queryable, caseId: string, to: CalendarDate): Promise<void> {
  await db.query('UPDATE case_suspensions SET to_on = $2 WHERE case_id = $1 AND to_on IS NULL', [caseId, to]);
}

// Opinions (parallel approval) --------------------------------------------------------------------

export interface OpinionRow {
  authority: string;
  due_on: CalendarDate;
  opinion: 'agree' | 'disagree' | null;
  reason: string | null;
  given_at: string | null;
}

export async function insertOpinions(db: Queryable, caseId: string, authorities: string[], dueOn: CalendarDate): Promise<void> {
  for (const authority of authorities) {
    await db.query('INSERT INTO case_opinions (case_id, authority, due_on) VALUES ($1, $2, $3)', [caseId, authority, dueOn]);
  }
}

export async function opinions(db: Queryable, caseId: string): Promise<OpinionRow[]> {
  const { rows } = await db.query<OpinionRow>(
    `SELECT authority, ${day('due_on')}, opinion, reason, ${instant('given_at')} FROM case_opinions WHERE case_id = $1 ORDER BY authority`,
    [caseId],
  );
  return rows;
}

/** Records an opinion not given yet; false when the authority was not asked or already answered. */
export async function giveOpinion(
  db: Queryable,
  caseId: string,
  o: { authority: string; opinion: 'agree' | 'disagree'; reason: string; by: string; at: Date },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE case_opinions SET opinion = $3, reason = $4, given_by = $5, given_at = $6
     WHERE case_id = $1 AND authority = $2 AND given_at IS NULL`,
    [caseId, o.authority, o.opinion, o.reason, o.by, o.at],
  );
  return rowCount === 1;
}

// Notices -----------------------------------------------------------------------------------------

export interface NoticeRow {
  kind: string;
  text: string;
  created_at: string;
}

export async function insertNotice(db: Queryable, caseId: string, kind: string, text: string, at: Date): Promise<void> {
  await db.query('INSERT INTO case_notices (case_id, kind, text, created_at) VALUES ($1, $2, $3, $4)', [caseId, kind, text, at]);
}

export async function notices(db: Queryable, caseId: string): Promise<NoticeRow[]> {
  const { rows } = await db.query<NoticeRow>(
    `SELECT kind, text, ${instant('created_at')} FROM case_notices WHERE case_id = $1 ORDER BY id`,
    [caseId],
  );
  return rows;
}

// Materials ---------------------------------------------------------------------------------------

export interface MaterialRow {
  id: string;
  upload_id: string;
  owner_index: string;
  case_id: string | null;
  slot: number | null;
  round: number;
  source: 'upload' | 'exchange';
  media_type: string | null;
  size: number | null;
  digest: string | null;
  reference: string | null;
  created_at: string;
}

const MATERIAL_COLUMNS = `id::text AS id, upload_id, owner_index, case_id::text AS case_id, slot, round, source, media_type, size, digest, reference, ${instant('created_at')}`;

export async function insertUpload(
  db: Queryable,
  m: { uploadId: string; ownerIndex: string; mediaType: string; size: number; digest: string; contentEnc: string },
): Promise<void> {
  await db.query(
    `INSERT INTO case_materials (upload_id, owner_index, source, media_type, size, digest, content_enc) VALUES ($1, $2, 'upload', $3, $4, $5, $6)`,
    [m.uploadId, m.ownerIndex, m.mediaType, m.size, m.digest, m.contentEnc],
  );
}

/** Uploads of an owner not attached to a case yet, by upload id. */
export async function stagedUploads(db: Queryable, ownerIndex: string, uploadIds: string[]): Promise<MaterialRow[]> {
  const { rows } = await db.query<MaterialRow>(
    `SELECT ${MATERIAL_COLUMNS} FROM case_materials WHERE owner_index = $1 AND upload_id = ANY($2::text[]) AND case_id IS NULL FOR UPDATE`,
    [ownerIndex, uploadIds],
  );
  return rows;
}

/** The content digests of an owner's uploads, attached or not, by upload id. */
export async function uploadDigests(db: Queryable, ownerIndex: string, uploadIds: string[]): Promise<Map<string, string>> {
  if (uploadIds.length === 0) return new Map();
  const { rows } = await db.query<{ upload_id: string; digest: string }>(
    "SELECT upload_id, digest FROM case_materials WHERE owner_index = $1 AND upload_id = ANY($2::text[]) AND source = 'upload'",
    [ownerIndex, uploadIds],
  );
  return new Map(rows.map((r) => [r.upload_id, r.digest]));
}

/** An owner's uploads not attached to any case, among `uploadIds`, deleted. */
export async function discardStagedUploads(db: Queryable, ownerIndex: string, uploadIds: string[]): Promise<void> {
  if (uploadIds.length === 0) return;
  await db.query('DELETE FROM case_materials WHERE owner_index = $1 AND upload_id = ANY($2::text[]) AND case_id IS NULL', [
    ownerIndex,
    uploadIds,
  ]);
}

export async function attachUpload(db: Queryable, uploadId: string, caseId: string, slot: number, round: number): Promise<void> {
  await db.query('UPDATE case_materials SET case_id = $2, slot = $3, round = $4 WHERE upload_id = $1', [uploadId, caseId, slot, round]);
}

/** A material from an e-license or registry: its reference and, when the exchange served it, the record (encrypted) with its digest. */
export async function insertExchangedMaterial(
  db: Queryable,
  m: {
    uploadId: string;
    ownerIndex: string;
    caseId: string;
    slot: number;
    round: number;
    reference: string;
    contentEnc?: string;
    digest?: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO case_materials (upload_id, owner_index, case_id, slot, round, source, reference, media_type, digest, content_enc)
     VALUES ($1, $2, $3, $4, $5, 'exchange', $6, $7, $8, $9)`,
    [
      m.uploadId,
      m.ownerIndex,
      m.caseId,
      m.slot,
      m.round,
      m.reference,
      m.contentEnc ? 'application/json' : null,
      m.digest ?? null,
      m.contentEnc ?? null,
    ],
  );
}

export async function materialsOf(db: Queryable, caseId: string): Promise<MaterialRow[]> {
  const { rows } = await db.query<MaterialRow>(
    `SELECT ${MATERIAL_COLUMNS} FROM case_materials WHERE case_id = $1 ORDER BY slot, round, id`,
    [caseId],
  );
  return rows;
}

/** An uploaded material's content (base64) or a record the exchange served (JSON), encrypted. */
export async function materialContent(
  db: Queryable,
  caseId: string,
  uploadId: string,
): Promise<{ media_type: string; content_enc: string; source: 'upload' | 'exchange' } | undefined> {
  const { rows } = await db.query<{ media_type: string; content_enc: string; source: 'upload' | 'exchange' }>(
    'SELECT media_type, content_enc, source FROM case_materials WHERE case_id = $1 AND upload_id = $2 AND content_enc IS NOT NULL',
    [caseId, uploadId],
  );
  return rows[0];
}

// Cross-region hand-offs (cross-region.ts) -----------------------------------------------------------

export interface HandoffRow {
  number: string;
  direction: 'sent' | 'received';
  peer: string;
  handoff: string;
  digest: string;
  receipt: string;
}

export async function insertHandoff(db: Queryable, h: HandoffRow): Promise<void> {
  await db.query('INSERT INTO case_handoffs (number, direction, peer, handoff, digest, receipt) VALUES ($1, $2, $3, $4, $5, $6)', [
    h.number,
    h.direction,
    h.peer,
    h.handoff,
    h.digest,
    h.receipt,
  ]);
}

export async function handoffOf(db: Queryable, number: string): Promise<HandoffRow | undefined> {
  const { rows } = await db.query<HandoffRow>(
    'SELECT number, direction, peer, handoff, digest, receipt FROM case_handoffs WHERE number = $1',
    [number],
  );
  return rows[0];
}

export async function setReceivedBy(db: Queryable, caseId: string, entity: string): Promise<void> {
  await db.query('UPDATE cases SET received_by = $2 WHERE id = $1', [caseId, entity]);
}

/** A step of the receiving platform, carried over with the hand-off. */
export async function importStep(db: Queryable, caseId: string, s: Omit<StepRow, 'actor'>): Promise<void> {
  await db.query(
    `INSERT INTO case_steps (case_id, state, started_at, ended_at, deadline, event, actor_role, actor, authority, note)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'receiving platform', $8, $9)`,
    [caseId, s.state, s.started_at, s.ended_at, s.deadline, s.event, s.actor_role, s.authority, JSON.stringify(s.note)],
  );
}

export async function importSuspension(
  db: Queryable,
  caseId: string,
  s: { kind: SuspensionKind; reason: string; from: CalendarDate; to: CalendarDate },
) {
  await db.query('INSERT INTO case_suspensions (case_id, kind, reason, from_on, to_on) VALUES ($1, $2, $3, $4, $5)', [
    caseId,
    s.kind,
    s.reason,
    s.from,
    s.to,
  ]);
}

/** An uploaded material carried over with a hand-off or a forwarded correction. */
export async function insertHandedUpload(
  db: Queryable,
  m: {
    uploadId: string;
    ownerIndex: string;
    caseId: string | null;
    slot: number | null;
    round: number;
    mediaType: string;
    size: number;
    digest: string;
    contentEnc: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO case_materials (upload_id, owner_index, case_id, slot, round, source, media_type, size, digest, content_enc)
     VALUES ($1, $2, $3, $4, $5, 'upload', $6, $7, $8, $9)`,
    [m.uploadId, m.ownerIndex, m.caseId, m.slot, m.round, m.mediaType, m.size, m.digest, m.contentEnc],
  );
}

/** An owner's staged uploads with their contents (to forward them). */
export async function stagedContents(db: Queryable, ownerIndex: string, uploadIds: string[]) {
  if (uploadIds.length === 0) return [];
  const { rows } = await db.query<{ upload_id: string; media_type: string; content_enc: string }>(
    "SELECT upload_id, media_type, content_enc FROM case_materials WHERE owner_index = $1 AND upload_id = ANY($2::text[]) AND case_id IS NULL AND source = 'upload'",
    [ownerIndex, uploadIds],
  );
  return rows;
}
