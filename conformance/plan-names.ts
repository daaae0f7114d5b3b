/**
 * The names of the test plans, in the order they run. Apart from the plans themselves so that
 * `gov-id help` can name them without loading the suite; conformance/plans.ts defines a plan for
 * each name.
 */
export const PLAN_NAMES = ['op-config', 'op-basic', 'op-negative', 'par-fapi2', 'federation', 'recognition'] as const;

export type PlanName = (typeof PLAN_NAMES)[number];
