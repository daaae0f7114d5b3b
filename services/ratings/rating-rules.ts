/**
 * What a rating is, as the rating rules name it (国办发〔2019〕51号; GB/T 39734-2020): five
 * levels, 非常满意 (5) to 非常不满意 (1), the two lowest a bad rating; the overall satisfaction and,
 * optionally, the criteria the rules list; an optional comment and an optional complaint. A case
 * is rated once per stage that ends contact: after acceptance (or refusal to accept) and after
 * closure.
 */
import { z } from 'zod';
import { Conflict } from '../../infra/errors.ts';
import type { CaseRow } from '../cases/case-store.ts';

type Label = { 'zh-CN': string; en: string };

export const LEVELS: Record<number, Label> = {
  5: { 'zh-CN': '非常满意', en: 'Very satisfied' },
  4: { 'zh-CN': '满意', en: 'Satisfied' },
  3: { 'zh-CN': '基本满意', en: 'Fairly satisfied' },
  2: { 'zh-CN': '不满意', en: 'Dissatisfied' },
  1: { 'zh-CN': '非常不满意', en: 'Very dissatisfied' },
};

/** Levels 1 and 2. */
export const isBad = (level: number) => level <= 2;

export const CRITERIA = ['efficiency', 'guide_accuracy', 'convenience', 'platform_usability'] as const;
export type Criterion = (typeof CRITERIA)[number];
export const CRITERIA_LABELS: Record<Criterion | 'overall', Label> = {
  overall: { 'zh-CN': '总体满意度', en: 'Overall satisfaction' },
  efficiency: { 'zh-CN': '办事效率', en: 'Efficiency' },
  guide_accuracy: { 'zh-CN': '办事指南准确性', en: 'Accuracy of the guide' },
  convenience: { 'zh-CN': '办事便利度', en: 'Convenience' },
  platform_usability: { 'zh-CN': '平台好用程度', en: 'Platform usability' },
};

export const STAGES = ['acceptance', 'closure'] as const;
export type Stage = (typeof STAGES)[number];
export const STAGE_LABELS: Record<Stage, Label> = {
  acceptance: { 'zh-CN': '受理环节', en: 'Acceptance' },
  closure: { 'zh-CN': '办结', en: 'Closure' },
};

export const MAX_COMMENT = 500;
export const MAX_COMPLAINT = 1000;

const level = z
  .number({ message: 'a whole number from 1 (非常不满意) to 5 (非常满意)' })
  .int('a whole number from 1 (非常不满意) to 5 (非常满意)')
  .min(1, 'from 1 (非常不满意) to 5 (非常满意)')
  .max(5, 'from 1 (非常不满意) to 5 (非常满意)');

/** The body of a rating; comment and complaint are checked as free text (free-text.ts) after it. */
export const ratingBody = z
  .object({
    case_number: z.string().min(1).max(40),
    stage: z.enum(STAGES).optional(),
    level,
    criteria: z
      .object(Object.fromEntries(CRITERIA.map((c) => [c, level.optional()])) as Record<Criterion, z.ZodOptional<typeof level>>)
      .strict()
      .optional(),
    comment: z.unknown().optional(),
    complaint: z.unknown().optional(),
    /** Not named to the authority: no call-back. */
    anonymous: z.boolean().optional(),
  })
  .strict();

/** Whether the case has passed the stage. */
export function reached(c: Pick<CaseRow, 'state' | 'accepted_on' | 'outcome'>, stage: Stage): boolean {
  if (stage === 'closure') return c.state === 'closed';
  return c.accepted_on !== null || c.outcome === 'not_accepted';
}

/** The stage a rating is for: the one asked, or the latest the case has passed; 409 `not_ratable_yet` before any. */
export function stageOf(c: Pick<CaseRow, 'number' | 'state' | 'accepted_on' | 'outcome'>, asked: Stage | undefined): Stage {
  const stage = asked ?? (reached(c, 'closure') ? 'closure' : 'acceptance');
  if (!reached(c, stage))
    throw new Conflict(
      'not_ratable_yet',
      stage === 'closure'
        ? `case ${c.number} is not closed yet: it is rated at closure once it is closed`
        : `case ${c.number} has not been accepted yet: it is rated once acceptance is decided`,
      { details: { state: c.state, stage } },
    );
  return stage;
}
