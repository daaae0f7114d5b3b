/**
 * Which limit of the legal clock runs for a case in its state, and its last day: acceptance while
 * received (correction stops it), decision from acceptance to the decision (hearing, testing and
 * expert review stop it), delivery from the decision to delivery. The due date is the promised
 * limit's (what the authority is held to), the legal due date the law's.
 */
import type { CaseState } from './case-lifecycle.ts';
import type { CaseRow, ClockPhase, SuspensionRow } from './case-store.ts';
import { ACCEPTANCE_DAYS, DELIVERY_DAYS, type ClockReading, type LegalClock, type Period } from './legal-clock.ts';
import type { CalendarDate } from './working-calendar.ts';

const PHASES: Partial<Record<CaseState, ClockPhase>> = {
  received: 'acceptance',
  correction_requested: 'acceptance',
  under_review: 'decision',
  suspended: 'decision',
  reviewed: 'decision',
  decided: 'delivery',
  result_made: 'delivery',
};

type ClockFacts = Pick<CaseRow, 'state' | 'received_on' | 'accepted_on' | 'decided_on' | 'promised_days' | 'legal_days' | 'extension_days'>;

/** The promised and legal periods of the limit running in the case's state, or null when none runs. */
export function periodsOf(c: ClockFacts, all: readonly SuspensionRow[]): { phase: ClockPhase; promised: Period; legal: Period } | null {
  const phase = PHASES[c.state];
  if (!phase) return null;
  if (phase === 'acceptance') {
    const p: Period = { start: c.received_on, days: ACCEPTANCE_DAYS, suspensions: all.filter((s) => s.kind === 'correction') };
    return { phase, promised: p, legal: p };
  }
  if (phase === 'decision') {
    const suspensions = all.filter((s) => s.kind !== 'correction');
    return {
      phase,
      promised: { start: c.accepted_on!, days: c.promised_days + c.extension_days, suspensions },
      legal: { start: c.accepted_on!, days: c.legal_days + c.extension_days, suspensions },
    };
  }
  const p: Period = { start: c.decided_on!, days: DELIVERY_DAYS, suspensions: [] };
  return { phase, promised: p, legal: p };
}

/** The clock columns of a case (what queues and supervision query). */
export function clockColumns(
  clock: LegalClock,
  c: ClockFacts,
  all: readonly SuspensionRow[],
): { clock_phase: ClockPhase | null; due_on: CalendarDate | null; legal_due_on: CalendarDate | null } {
  const periods = periodsOf(c, all);
  if (!periods) return { clock_phase: null, due_on: null, legal_due_on: null };
  return { clock_phase: periods.phase, due_on: clock.due(periods.promised), legal_due_on: clock.due(periods.legal) };
}

export interface CaseClock {
  phase: ClockPhase;
  promised: ClockReading;
  legal: ClockReading;
}

/** The readings of the running limit on `today`, or null when none runs. */
export function readCaseClock(clock: LegalClock, c: ClockFacts, all: readonly SuspensionRow[], today: CalendarDate): CaseClock | null {
  const periods = periodsOf(c, all);
  if (!periods) return null;
  return { phase: periods.phase, promised: clock.read(periods.promised, today), legal: clock.read(periods.legal, today) };
}
