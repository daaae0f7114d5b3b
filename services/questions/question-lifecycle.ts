/**
 * The lifecycle of a question (我要问). A question is asked offered (answers from the FAQ and
 * the guide were found) or straight into the authority's queue (none were, or the person asked
 * for staff):
 *
 *   offered ──accept_offer (the asker)──▶ self_answered
 *   offered ──escalate (the asker)──▶ queued ──answer (answerer)──▶ answered ──publish (answerer)──▶ published
 */
import { Lifecycle } from '../voice/lifecycle-table.ts';

export const QUESTION_STATES = ['offered', 'self_answered', 'queued', 'answered', 'published'] as const;
export type QuestionState = (typeof QUESTION_STATES)[number];
export type QuestionEvent = 'accept_offer' | 'escalate' | 'answer' | 'publish';

export const questionLifecycle = new Lifecycle<QuestionState, QuestionEvent, 'asker' | 'answerer', object>('question', {
  accept_offer: { from: ['offered'], to: 'self_answered', by: ['asker'] },
  escalate: { from: ['offered'], to: 'queued', by: ['asker'] },
  answer: { from: ['queued'], to: 'answered', by: ['answerer'] },
  publish: { from: ['answered'], to: 'published', by: ['answerer'] },
});
