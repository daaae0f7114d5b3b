/**
 * Steps that need another entity — the SMS gateway, the registry of homes, a base registry — and
 * what becomes of them when it is down. The one place that tells an UpstreamUnavailable apart
 * from other errors, so that a route reads as its story.
 */
import { UpstreamUnavailable } from '../infra/errors.ts';
import type { MessageKey } from './i18n.ts';

/** The step's result, or what `whenDown` makes of the outage (a domain result, or a refusal it throws). */
export async function whenUnavailable<T, U>(step: Promise<T>, whenDown: (err: UpstreamUnavailable) => U | Promise<U>): Promise<T | U> {
  try {
    return await step;
  } catch (err) {
    if (!(err instanceof UpstreamUnavailable)) throw err;
    return whenDown(err);
  }
}

/**
 * A step of a page's story whose upstream is down; `answeringOutages` shows the page again with
 * `messageKey`. Still an UpstreamUnavailable (503) should a route not answer it itself.
 */
export class StepUnavailable extends UpstreamUnavailable {
  constructor(
    readonly messageKey: MessageKey,
    cause: UpstreamUnavailable,
  ) {
    super(cause.message);
    this.cause = cause;
  }
}

/** The step's result; when its upstream is down the story stops, and its page will say `messageKey`. */
export function orUnavailable<T>(step: Promise<T>, messageKey: MessageKey): Promise<T> {
  return whenUnavailable(step, (err) => {
    throw new StepUnavailable(messageKey, err);
  });
}

/** Runs a page's story; when a step's upstream is down, `showAgain` answers (503) with that step's message. */
export async function answeringOutages(story: () => Promise<void>, showAgain: (messageKey: MessageKey) => unknown): Promise<void> {
  try {
    await story();
  } catch (err) {
    if (!(err instanceof StepUnavailable)) throw err;
    await showAgain(err.messageKey);
  }
}
