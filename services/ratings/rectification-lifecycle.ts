/**
 * The lifecycle of a rectification task: the work a bad rating or a complaint gives the authority
 * that handled the case.
 *
 *   open ──resolve (fixed at once, or explained as without basis)──▶ resolved ──give_view (rater)──▶ closed
 *   open ──schedule_fix (a date in the ledger)──▶ rectifying ──complete_fix──▶ resolved
 *   open ──hold (an appeal is filed)──▶ on_appeal ──release (appeal rejected)──▶ open
 *                                       on_appeal ──withdraw (appeal upheld)──▶ withdrawn
 *   call_back: recorded in open or rectifying, as often as it takes
 *
 * A rater who is named to the authority (real-name) is called back before any resolution.
 */
import { Lifecycle } from '../voice/lifecycle-table.ts';

export const TASK_STATES = ['open', 'rectifying', 'on_appeal', 'resolved', 'closed', 'withdrawn'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const RESOLUTIONS = ['fixed_now', 'fixed_by_date', 'without_basis'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface TaskFacts {
  callBackNeeded: boolean;
  calledBack: boolean;
}

const calledBack = {
  code: 'call_back_required',
  holds: (f: TaskFacts) => !f.callBackNeeded || f.calledBack,
  message: () => 'the rater gave their name: call them back and record the call before resolving the task',
};

export type TaskEvent = 'call_back' | 'resolve' | 'schedule_fix' | 'complete_fix' | 'hold' | 'release' | 'withdraw' | 'give_view';

export const taskLifecycle = new Lifecycle<TaskState, TaskEvent, 'rectifier' | 'rater' | 'system', TaskFacts>('rectification task', {
  call_back: { from: ['open', 'rectifying'], by: ['rectifier'] },
  resolve: { from: ['open'], to: 'resolved', by: ['rectifier'], guards: [calledBack] },
  schedule_fix: { from: ['open'], to: 'rectifying', by: ['rectifier'], guards: [calledBack] },
  complete_fix: { from: ['rectifying'], to: 'resolved', by: ['rectifier'] },
  hold: { from: ['open'], to: 'on_appeal', by: ['system'] },
  release: { from: ['on_appeal'], to: 'open', by: ['system'] },
  withdraw: { from: ['on_appeal'], to: 'withdrawn', by: ['system'] },
  give_view: { from: ['resolved'], to: 'closed', by: ['rater'] },
});
