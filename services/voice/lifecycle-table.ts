/**
 * A lifecycle as one table of allowed moves, as the cases' lifecycle is kept: for each event, the
 * states it may leave, the state it leads to, who may fire it and the conditions (guards) it
 * needs. Nothing else moves a record; a refused move is a 409 naming the state and what is
 * allowed there, or the guard that does not hold.
 */
import { Conflict } from '../../infra/errors.ts';

export interface Guard<F> {
  code: string;
  holds: (facts: F) => boolean;
  message: (facts: F) => string;
}

export interface Move<S extends string, R extends string, F> {
  from: readonly S[];
  /** The state it leads to; the state stays as it is when absent. */
  to?: S;
  by: readonly R[];
  guards?: readonly Guard<F>[];
}

export class Lifecycle<S extends string, E extends string, R extends string, F> {
  constructor(
    /** What moves (a rating, a task …), as refusals name it. */
    readonly what: string,
    readonly moves: Readonly<Record<E, Move<S, R, F>>>,
  ) {}

  get events(): E[] {
    return Object.keys(this.moves) as E[];
  }

  /** The events that may be fired in a state (guards aside). */
  eventsFrom(state: S): E[] {
    return this.events.filter((e) => this.moves[e].from.includes(state));
  }

  firers(event: E): readonly R[] {
    return this.moves[event].by;
  }

  /** The state after `event`, or a 409: `transition_not_allowed`, else the code of the first guard that does not hold. */
  next(state: S, event: E, facts: F): S {
    const move = this.moves[event];
    if (!move.from.includes(state)) {
      const allowed = this.eventsFrom(state);
      throw new Conflict(
        'transition_not_allowed',
        `a ${this.what} that is ${state} cannot take ${event}; ${allowed.length ? `it can take: ${allowed.join(', ')}` : 'it takes no further step'}`,
        { details: { state, event, allowed } },
      );
    }
    for (const g of move.guards ?? []) {
      if (!g.holds(facts)) throw new Conflict(g.code, g.message(facts), { details: { state, event } });
    }
    return move.to ?? state;
  }
}
