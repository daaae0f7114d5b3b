/** The case lifecycle table: every move it lacks is refused, every guard holds its line. */
import test from 'ava';
import { HttpError } from '../../infra/errors.ts';
import {
  CASE_EVENTS,
  CASE_STATES,
  TRANSITIONS,
  eventsFrom,
  nextState,
  type CaseEvent,
  type CaseFacts,
  type CaseState,
} from '../../services/cases/case-lifecycle.ts';

const open: CaseFacts = {
  outcome: null,
  onTheSpot: true,
  publicationRequired: false,
  opinionsMissing: 0,
  reviewMissing: [],
  extended: false,
  handledElsewhere: false,
};

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof HttpError ? `${err.status} ${err.code}` : String(err);
  }
}

test('every event the table does not allow in a state is refused with 409 transition_not_allowed', (t) => {
  let refused = 0;
  for (const state of CASE_STATES) {
    for (const event of CASE_EVENTS) {
      const allowed = (TRANSITIONS[event].from as readonly CaseState[]).includes(state);
      const facts: CaseFacts = { ...open, outcome: event === 'make_result' ? 'approved' : 'refused' };
      const result = codeOf(() => nextState(state, event, facts));
      if (allowed) t.not(result, '409 transition_not_allowed', `${event} from ${state}`);
      else {
        t.is(result, '409 transition_not_allowed', `${event} from ${state}`);
        refused++;
      }
    }
  }
  t.true(refused > 100);
});

test('a closed case takes no further step; the error says what a state allows', (t) => {
  t.deepEqual(eventsFrom('closed'), []);
  const err = t.throws(() => nextState('closed', 'accept', open)) as HttpError;
  t.regex(err.message, /a case that is closed cannot take accept; it takes no further step/);
  const again = t.throws(() => nextState('decided', 'accept', open)) as HttpError;
  t.deepEqual(again.details.allowed, ['make_result', 'deliver']);
});

test('the happy path: receive, correction, accept, review, decide, make, deliver, publish, close', (t) => {
  const path: [CaseEvent, CaseState][] = [
    ['request_correction', 'correction_requested'],
    ['supply', 'received'],
    ['accept', 'under_review'],
    ['suspend', 'suspended'],
    ['resume', 'under_review'],
    ['record_review', 'under_review'],
    ['complete_review', 'reviewed'],
    ['decide', 'decided'],
    ['make_result', 'result_made'],
    ['deliver', 'delivered'],
    ['publish', 'published'],
    ['close', 'closed'],
  ];
  let state: CaseState = 'received';
  for (const [event, to] of path) {
    state = nextState(state, event, { ...open, outcome: 'approved', publicationRequired: event === 'publish' });
    t.is(state, to, event);
  }
});

test('guards: on the spot, review methods, opinions, results of approvals only, publication, one extension', (t) => {
  t.is(
    codeOf(() => nextState('received', 'decide_on_the_spot', { ...open, onTheSpot: false })),
    '409 not_on_the_spot',
  );
  t.is(
    codeOf(() => nextState('under_review', 'complete_review', { ...open, reviewMissing: ['on_site'] })),
    '409 review_incomplete',
  );
  t.is(
    codeOf(() => nextState('under_review', 'complete_review', { ...open, opinionsMissing: 1 })),
    '409 opinions_pending',
  );
  t.is(
    codeOf(() => nextState('decided', 'make_result', { ...open, outcome: 'refused' })),
    '409 not_approved',
  );
  t.is(
    codeOf(() => nextState('decided', 'deliver', { ...open, outcome: 'approved' })),
    '409 result_not_made',
  );
  t.is(nextState('decided', 'deliver', { ...open, outcome: 'refused' }), 'delivered');
  t.is(
    codeOf(() => nextState('delivered', 'close', { ...open, publicationRequired: true })),
    '409 publication_required',
  );
  t.is(
    codeOf(() => nextState('delivered', 'publish', open)),
    '409 publication_not_required',
  );
  t.is(
    codeOf(() => nextState('reviewed', 'extend', { ...open, extended: true })),
    '409 already_extended',
  );
  t.is(nextState('reviewed', 'extend', open), 'reviewed');
  t.is(
    codeOf(() => nextState('received', 'accept', { ...open, handledElsewhere: true })),
    '409 handled_elsewhere',
  );
  t.is(
    codeOf(() => nextState('received', 'hand_off', open)),
    '409 handled_here',
  );
  t.is(nextState('received', 'hand_off', { ...open, handledElsewhere: true }), 'handed_off');
  t.deepEqual(eventsFrom('handed_off'), [], 'the receiving side takes no further step');
});
