/**
 * The lifecycle of a case as one table of allowed transitions: for each event, the states it may
 * leave, the state it leads to, who may fire it, and the conditions (guards) it needs. Nothing
 * else moves a case: a refused transition is a 409 naming the state and what is allowed there.
 *
 *   received ──request_correction──▶ correction_requested ──supply──▶ received
 *   received ──accept / deem_accepted──▶ under_review ⇄ suspended (hearing, testing, expert review)
 *   received ──refuse──▶ closed (not accepted)          received ──decide_on_the_spot──▶ decided
 *   under_review ──complete_review──▶ reviewed ──decide──▶ decided
 *   decided ──make_result──▶ result_made ──deliver──▶ delivered      decided (refused) ──deliver──▶ delivered
 *   delivered ──publish──▶ published ──close──▶ closed               delivered ──close──▶ closed
 *   (before a decision) ──withdraw──▶ closed
 *   received ──hand_off──▶ handed_off   (an item another platform handles: 收受分离, cross-region.ts)
 */
import { Conflict } from '../../infra/errors.ts';

export const CASE_STATES = [
  'received',
  'correction_requested',
  'under_review',
  'suspended',
  'reviewed',
  'decided',
  'result_made',
  'delivered',
  'published',
  'closed',
  'handed_off',
] as const;
export type CaseState = (typeof CASE_STATES)[number];

// answerer, rectifier and supervisor work questions, rectification tasks and appeals (services/ratings, services/questions).
export const STAFF_ROLES = ['receiver', 'acceptor', 'reviewer', 'decider', 'sender', 'answerer', 'rectifier', 'supervisor'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];
/** Who fires an event: a staff role, the applicant, or the clock. */
export type Firer = StaffRole | 'applicant' | 'system';

export type Outcome = 'approved' | 'refused' | 'not_accepted' | 'withdrawn';

/** What the guards look at: facts of the case and its item at the moment of the event. */
export interface CaseFacts {
  outcome: Outcome | null;
  /** The item may be decided on the spot (即办件). */
  onTheSpot: boolean;
  /** The decision is to be published (the item's type requires it). */
  publicationRequired: boolean;
  /** Assisting opinions still needed before the lead may finish the review. */
  opinionsMissing: number;
  /** Review methods the item names that are not done yet. */
  reviewMissing: readonly string[];
  /** The decision limit was extended already (once only). */
  extended: boolean;
  /** The item is handled by another platform: this one receives, checks and hands over. */
  handledElsewhere: boolean;
}

interface Guard {
  code: string;
  holds: (f: CaseFacts) => boolean;
  message: (f: CaseFacts) => string;
}

const guards = {
  onTheSpot: {
    code: 'not_on_the_spot',
    holds: (f) => f.onTheSpot,
    message: () => 'the item is not decided on the spot: accept the case and review it first',
  },
  reviewDone: {
    code: 'review_incomplete',
    holds: (f) => f.reviewMissing.length === 0,
    message: (f) => `the review methods the item names are not all done: ${f.reviewMissing.join(', ')}`,
  },
  opinionsIn: {
    code: 'opinions_pending',
    holds: (f) => f.opinionsMissing === 0,
    message: (f) => `${f.opinionsMissing} assisting department opinion(s) are still needed`,
  },
  approved: {
    code: 'not_approved',
    holds: (f) => f.outcome === 'approved',
    message: () => 'only an approval has a result to make',
  },
  refusedOrMade: {
    code: 'result_not_made',
    holds: (f) => f.outcome === 'refused',
    message: () => 'an approval is delivered once its result is made',
  },
  published: {
    code: 'publication_required',
    holds: (f) => !f.publicationRequired,
    message: () => 'the item requires the decision to be published before the case closes',
  },
  publishable: {
    code: 'publication_not_required',
    holds: (f) => f.publicationRequired,
    message: () => 'the item does not publish its decisions (or this one was a refusal)',
  },
  handledHere: {
    code: 'handled_elsewhere',
    holds: (f) => !f.handledElsewhere,
    message: () => 'another platform handles this item: this platform checks the application and hands it over (hand_off)',
  },
  handledThere: {
    code: 'handled_here',
    holds: (f) => f.handledElsewhere,
    message: () => 'this platform handles the item itself: accept or refuse the application',
  },
  notExtended: {
    code: 'already_extended',
    holds: (f) => !f.extended,
    message: () => 'the decision limit was extended already; it is extended once',
  },
} satisfies Record<string, Guard>;

interface Transition {
  from: readonly CaseState[];
  /** The state it leads to; `from` states stay where they are when absent. */
  to?: CaseState;
  by: readonly Firer[];
  guards?: readonly Guard[];
}

const BEFORE_DECISION = ['received', 'correction_requested', 'under_review', 'suspended', 'reviewed'] as const;

export const TRANSITIONS = {
  request_correction: { from: ['received'], to: 'correction_requested', by: ['receiver', 'acceptor'] },
  supply: { from: ['correction_requested'], to: 'received', by: ['applicant'] },
  accept: { from: ['received'], to: 'under_review', by: ['acceptor'], guards: [guards.handledHere] },
  deem_accepted: { from: ['received'], to: 'under_review', by: ['system'], guards: [guards.handledHere] },
  refuse: { from: ['received'], to: 'closed', by: ['acceptor'], guards: [guards.handledHere] },
  decide_on_the_spot: { from: ['received'], to: 'decided', by: ['decider'], guards: [guards.handledHere, guards.onTheSpot] },
  hand_off: { from: ['received'], to: 'handed_off', by: ['receiver'], guards: [guards.handledThere] },
  record_review: { from: ['under_review'], by: ['reviewer'] },
  give_opinion: { from: ['under_review', 'suspended'], by: ['reviewer'] },
  suspend: { from: ['under_review'], to: 'suspended', by: ['reviewer'] },
  resume: { from: ['suspended'], to: 'under_review', by: ['reviewer'] },
  extend: { from: ['under_review', 'suspended', 'reviewed'], by: ['decider'], guards: [guards.notExtended] },
  complete_review: { from: ['under_review'], to: 'reviewed', by: ['reviewer'], guards: [guards.reviewDone, guards.opinionsIn] },
  decide: { from: ['reviewed'], to: 'decided', by: ['decider'] },
  make_result: { from: ['decided'], to: 'result_made', by: ['sender'], guards: [guards.approved] },
  deliver: { from: ['result_made', 'decided'], to: 'delivered', by: ['sender'] },
  publish: { from: ['delivered'], to: 'published', by: ['sender'], guards: [guards.publishable] },
  close: { from: ['delivered', 'published'], to: 'closed', by: ['sender'] },
  withdraw: { from: BEFORE_DECISION, to: 'closed', by: ['applicant'] },
} as const satisfies Record<string, Transition>;

export type CaseEvent = keyof typeof TRANSITIONS;
export const CASE_EVENTS = Object.keys(TRANSITIONS) as CaseEvent[];

/** Events that need a guard only in some source states. */
function stateGuards(event: CaseEvent, state: CaseState): Guard[] {
  if (event === 'deliver' && state === 'decided') return [guards.refusedOrMade];
  if (event === 'close' && state === 'delivered') return [guards.published];
  return [];
}

/** The events that may be fired in a state (guards aside). */
export function eventsFrom(state: CaseState): CaseEvent[] {
  return CASE_EVENTS.filter((e) => (TRANSITIONS[e].from as readonly CaseState[]).includes(state));
}

/** Whether `firer` may fire `event` at all (which role it takes). */
export function firers(event: CaseEvent): readonly Firer[] {
  return TRANSITIONS[event].by;
}

/**
 * The state after `event`, or a 409: `transition_not_allowed` when the table has no such move
 * from `state`, else the code of the first guard that does not hold.
 */
export function nextState(state: CaseState, event: CaseEvent, facts: CaseFacts): CaseState {
  const t: Transition = TRANSITIONS[event];
  if (!t.from.includes(state)) {
    const allowed = eventsFrom(state);
    throw new Conflict(
      'transition_not_allowed',
      `a case that is ${state} cannot take ${event}; ${allowed.length ? `it can take: ${allowed.join(', ')}` : 'it takes no further step'}`,
      { details: { state, event, allowed } },
    );
  }
  for (const g of [...(t.guards ?? []), ...stateGuards(event, state)]) {
    if (!g.holds(facts)) throw new Conflict(g.code, g.message(facts), { details: { state, event } });
  }
  return t.to ?? state;
}
