/**
 * The life of a change to a catalog item, as an explicit transition table (xstate would fit, but
 * is not installed; a table this small reads as well). A version is a change:
 *
 *   draft --submit--> submitted --approve--> approved   (published: in force from its effective date)
 *                               --reject---> rejected
 *   draft --edit--> draft
 *
 * Who may fire an event (谁编制谁维护): the owning authority submits and edits; a reviewer of the
 * owning authority, never the person who submitted it, approves or rejects.
 */
import { Conflict, Forbidden } from '../../infra/errors.ts';

export const CHANGE_STATES = ['draft', 'submitted', 'approved', 'rejected'] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];
export type ChangeEvent = 'edit' | 'submit' | 'approve' | 'reject';

const TRANSITIONS: Record<ChangeState, Partial<Record<ChangeEvent, ChangeState>>> = {
  draft: { edit: 'draft', submit: 'submitted' },
  submitted: { approve: 'approved', reject: 'rejected' },
  approved: {},
  rejected: {},
};

/** The state after `event`, or a 409 that says why the change cannot take it. */
export function transition(state: ChangeState, event: ChangeEvent): ChangeState {
  const next = TRANSITIONS[state][event];
  if (next) return next;
  if (state === 'approved' || state === 'rejected')
    throw new Conflict('version_published', `this version is ${state}: it never changes; submit a new change`);
  throw new Conflict(
    'invalid_transition',
    `a ${state} change cannot be ${event === 'approve' ? 'approved' : event === 'reject' ? 'rejected' : `${event}ed`}${state === 'draft' ? ': submit it first' : ''}`,
  );
}

export interface Actor {
  authority: string;
  person: string;
}

/** Refuses an actor who may not fire `event` on a change of an item owned by `owner`. */
export function authorize(event: ChangeEvent, actor: Actor, owner: string, submitter: string): void {
  if (actor.authority !== owner)
    throw new Forbidden('not_owner', `actor: ${actor.authority} does not own this item (its owner is ${owner})`);
  if ((event === 'approve' || event === 'reject') && actor.person === submitter) {
    throw new Forbidden(
      'own_submission',
      'person: a change is reviewed by another member of the owning authority than the one who submitted it',
    );
  }
}
