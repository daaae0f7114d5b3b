/**
 * How a case of an item is handled, read from the catalog's elements (a pure function of the item
 * version and its directory item):
 * - review methods: the process steps that name one (现场核查, 专家评审, 听证, 检验/检测); a written
 *   review (书面审查) always;
 * - on the spot (即办件): a promised limit of 0 days;
 * - publication of the decision: approvals of administrative licensing items (行政许可法 第四十条);
 * - parallel approval: the assisting authorities; the lead decides once all of them have given
 *   their opinion (the catalog has no N-of-M element yet, so the quorum is every one);
 * - the decision limits of the legal clock;
 * - the service categories an organization's agent needs in their mandate to apply for it.
 */
import type { DirectoryItem, ImplementationItem } from '../catalog/catalog-schema.ts';
import { decisionLimits, type DecisionLimits, type SuspensionKind } from './legal-clock.ts';

export const REVIEW_METHODS = ['written', 'on_site', 'expert_review', 'hearing', 'testing'] as const;
export type ReviewMethod = (typeof REVIEW_METHODS)[number];

/** Methods done by suspending the clock: their time does not count toward the limit. */
export const SUSPENDING_METHODS: readonly ReviewMethod[] = ['expert_review', 'hearing', 'testing'] satisfies SuspensionKind[];

const METHOD_WORDS: [RegExp, ReviewMethod][] = [
  [/现场(核查|勘验|检查|踏勘)|实地核查/, 'on_site'],
  [/专家(评审|论证|审查)|技术评审/, 'expert_review'],
  [/听证/, 'hearing'],
  [/检验|检测|检疫/, 'testing'],
];

/** What an agent's mandate names (the OP's `service_categories`), by the department an item belongs to. */
const DEPARTMENT_CATEGORIES: Record<string, string> = {
  '0104': 'business',
  '0109': 'tax',
  '0103': 'social_security',
  '0111': 'social_security',
  '0114': 'housing_fund',
};

/** The service categories an item falls under: its department's, and `permits` for an administrative licence. */
export function serviceCategories(directory: Pick<DirectoryItem, 'item_type'>, department: string): string[] {
  const categories = new Set<string>();
  if (DEPARTMENT_CATEGORIES[department]) categories.add(DEPARTMENT_CATEGORIES[department]);
  if (directory.item_type === '行政许可') categories.add('permits');
  return [...categories];
}

export interface HandlingRules {
  reviewMethods: ReviewMethod[];
  onTheSpot: boolean;
  publishesApprovals: boolean;
  assisting: string[];
  opinionQuorum: number;
  limits: DecisionLimits;
}

export function handlingRules(item: ImplementationItem, directory: Pick<DirectoryItem, 'item_type'>): HandlingRules {
  const named = new Set<ReviewMethod>(['written']);
  for (const step of item.process) {
    for (const [words, method] of METHOD_WORDS) if (words.test(step.step)) named.add(method);
  }
  return {
    reviewMethods: REVIEW_METHODS.filter((m) => named.has(m)),
    onTheSpot: item.promised_time_limit_days === 0,
    publishesApprovals: directory.item_type === '行政许可',
    assisting: [...item.assisting_authorities],
    opinionQuorum: item.assisting_authorities.length,
    limits: decisionLimits(item),
  };
}
