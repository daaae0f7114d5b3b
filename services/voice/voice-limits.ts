/**
 * The time limits of each platform, in working days on the case calendar: kept as data (table
 * voice_limits, migration 008), a row per platform code and '*' for the rest. The defaults
 * follow the rating rules (国办发〔2019〕51号) as provinces apply them: a named rater is called
 * back within 1 working day, a bad rating is rectified within 15, an authority appeals within 5
 * and its supervisor decides within 10; a question is answered within 5.
 */
import { z } from 'zod';
import type { Queryable } from '../../infra/database.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import type { Database } from '../../infra/database.ts';
import { validate } from '../../infra/validation.ts';

export interface VoiceLimits {
  platform: string;
  call_back_days: number;
  rectify_days: number;
  appeal_days: number;
  appeal_review_days: number;
  answer_days: number;
}

const days = (max: number) => z.number().int().min(1).max(max);
const limitsBody = z
  .object({
    call_back_days: z.number().int().min(0).max(30),
    rectify_days: days(60),
    appeal_days: days(30),
    appeal_review_days: days(30),
    answer_days: days(30),
  })
  .strict();

const COLUMNS = 'platform, call_back_days, rectify_days, appeal_days, appeal_review_days, answer_days';

/** The limits of a platform: its own row, else the default row. */
export async function limitsFor(db: Queryable, platform: string): Promise<VoiceLimits> {
  const { rows } = await db.query<VoiceLimits>(
    `SELECT ${COLUMNS} FROM voice_limits WHERE platform IN ($1, '*') ORDER BY platform = '*' LIMIT 1`,
    [platform],
  );
  return rows[0]!;
}

export async function allLimits(db: Queryable): Promise<VoiceLimits[]> {
  return (await db.query<VoiceLimits>(`SELECT ${COLUMNS} FROM voice_limits ORDER BY platform`)).rows;
}

/** Sets a platform's limits (or the default row, '*'); tasks and questions already open keep their deadlines. */
export async function setLimits(db: Database, platform: string, raw: unknown, by: string): Promise<VoiceLimits> {
  const l = validate(limitsBody, raw);
  return db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO voice_limits (${COLUMNS}, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (platform) DO UPDATE SET call_back_days = $2, rectify_days = $3, appeal_days = $4, appeal_review_days = $5,
         answer_days = $6, updated_by = $7, updated_at = now()`,
      [platform, l.call_back_days, l.rectify_days, l.appeal_days, l.appeal_review_days, l.answer_days, by],
    );
    await appendAudit(tx, { event: 'voice.limits_set', subject: `platform:${platform}`, detail: { ...l, by } });
    return { platform, ...l };
  });
}
