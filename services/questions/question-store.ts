/** The questions' queries (migrations/services/008_voice.sql): questions and each item's FAQ. */
import type { Queryable } from '../../infra/database.ts';
import type { CalendarDate } from '../cases/working-calendar.ts';
import type { Offer } from './answer-finder.ts';
import type { QuestionState } from './question-lifecycle.ts';

export interface QuestionRow {
  id: string;
  asker_index: string;
  asker_enc: string;
  issuer: string;
  client_id: string;
  item_code: string;
  item_name: string;
  case_number: string | null;
  authority: string;
  platform: string;
  text_enc: string;
  state: QuestionState;
  offered: Offer[];
  asked_at: string;
  queued_on: CalendarDate | null;
  due_on: CalendarDate | null;
  answer_enc: string | null;
  answered_by: string | null;
  answered_at: string | null;
  answered_on: CalendarDate | null;
  faq_id: string | null;
}

const COLUMNS = `q.id::text AS id, q.asker_index, q.asker_enc, q.issuer, q.client_id, q.item_code, q.item_name, q.case_number,
  q.authority, q.platform, q.text_enc, q.state, q.offered,
  to_char(q.asked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS asked_at,
  to_char(q.queued_on, 'YYYY-MM-DD') AS queued_on, to_char(q.due_on, 'YYYY-MM-DD') AS due_on, q.answer_enc, q.answered_by,
  to_char(q.answered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS answered_at,
  to_char(q.answered_on, 'YYYY-MM-DD') AS answered_on, q.faq_id::text AS faq_id`;

export type NewQuestion = Pick<
  QuestionRow,
  | 'asker_index'
  | 'asker_enc'
  | 'issuer'
  | 'client_id'
  | 'item_code'
  | 'item_name'
  | 'case_number'
  | 'authority'
  | 'platform'
  | 'text_enc'
  | 'state'
  | 'offered'
  | 'asked_at'
  | 'queued_on'
  | 'due_on'
>;

export async function insertQuestion(db: Queryable, q: NewQuestion): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO questions (asker_index, asker_enc, issuer, client_id, item_code, item_name, case_number, authority, platform,
       text_enc, state, offered, asked_at, queued_on, due_on)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id::text AS id`,
    [
      q.asker_index,
      q.asker_enc,
      q.issuer,
      q.client_id,
      q.item_code,
      q.item_name,
      q.case_number,
      q.authority,
      q.platform,
      q.text_enc,
      q.state,
      JSON.stringify(q.offered),
      q.asked_at,
      q.queued_on,
      q.due_on,
    ],
  );
  return rows[0]!.id;
}

export async function question(db: Queryable, id: string, forUpdate = false): Promise<QuestionRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const { rows } = await db.query<QuestionRow>(`SELECT ${COLUMNS} FROM questions q WHERE q.id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0];
}

export async function questionsOf(db: Queryable, askerIndex: string, limit: number): Promise<QuestionRow[]> {
  const { rows } = await db.query<QuestionRow>(`SELECT ${COLUMNS} FROM questions q WHERE q.asker_index = $1 ORDER BY q.id DESC LIMIT $2`, [
    askerIndex,
    limit,
  ]);
  return rows;
}

/** Queued questions of the authorities, soonest due first. */
export async function queueOf(db: Queryable, authorities: string[], limit: number): Promise<QuestionRow[]> {
  const { rows } = await db.query<QuestionRow>(
    `SELECT ${COLUMNS} FROM questions q WHERE q.authority = ANY($1::text[]) AND q.state = 'queued' ORDER BY q.due_on, q.id LIMIT $2`,
    [authorities, limit],
  );
  return rows;
}

export type QuestionPatch = Partial<
  Pick<QuestionRow, 'state' | 'queued_on' | 'due_on' | 'answer_enc' | 'answered_by' | 'answered_at' | 'answered_on' | 'faq_id'>
>;

export async function updateQuestion(db: Queryable, id: string, patch: QuestionPatch): Promise<void> {
  const keys = Object.keys(patch) as (keyof QuestionPatch)[];
  await db.query(`UPDATE questions SET ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1`, [
    id,
    ...keys.map((k) => patch[k]),
  ]);
}

export interface FaqRow {
  id: string;
  item_code: string;
  question: string;
  answer: string;
  published_at: string;
}

export async function insertFaq(
  db: Queryable,
  f: {
    itemCode: string;
    question: string;
    answer: string;
    tokens: { question: string; answer: string };
    sourceQuestion: string | null;
    authority: string;
    by: string;
  },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO item_faq (item_code, question, answer, search_tokens, source_question, authority, published_by)
     VALUES ($1, $2, $3, setweight(to_tsvector('simple', $4), 'A') || setweight(to_tsvector('simple', $5), 'B'), $6, $7, $8)
     RETURNING id::text AS id`,
    [f.itemCode, f.question, f.answer, f.tokens.question, f.tokens.answer, f.sourceQuestion, f.authority, f.by],
  );
  return rows[0]!.id;
}

export async function faqOf(db: Queryable, itemCode: string, limit: number): Promise<FaqRow[]> {
  const { rows } = await db.query<FaqRow>(
    `SELECT id::text AS id, item_code, question, answer, to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS published_at
     FROM item_faq WHERE item_code = $1 ORDER BY id DESC LIMIT $2`,
    [itemCode, limit],
  );
  return rows;
}
