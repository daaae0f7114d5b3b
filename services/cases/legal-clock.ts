/**
 * The legal clock of a case (行政许可法 第三十二、四十二、四十三、四十四、四十五、八十二条): time limits
 * in working days, counted from the day after the event that starts them.
 * - acceptance: a correction notice (补正告知) within 5 working days of receipt, or the
 *   application counts as accepted from the day it was received;
 * - decision: within the item's legal limit (20 working days when the item names none, 45 for
 *   joint handling), extended once by 10 (joint: 15) with a recorded reason; the item's promised
 *   limit (承诺时限) is what the authority is held to, and what due-soon and overdue are measured by;
 * - delivery: the result within 10 working days of the decision.
 * Correction, hearing, testing and expert review stop the clock (第四十五条): the days from the
 * day after a suspension starts to the day it ends do not count.
 */
import { type CalendarDate, type WorkingCalendar } from './working-calendar.ts';

export const ACCEPTANCE_DAYS = 5;
export const DEFAULT_DECISION_DAYS = { single: 20, joint: 45 } as const;
export const EXTENSION_DAYS = { single: 10, joint: 15 } as const;
export const DELIVERY_DAYS = 10;
/** A running limit with this many working days left or fewer is due soon. */
export const DUE_SOON_DAYS = 2;

/** What stops the clock (the time is not counted toward the limit). */
export const SUSPENSION_KINDS = ['correction', 'hearing', 'testing', 'expert_review'] as const;
export type SuspensionKind = (typeof SUSPENSION_KINDS)[number];

export interface Suspension {
  kind: SuspensionKind;
  reason: string;
  from: CalendarDate;
  /** The day it ended; null while it lasts. */
  to: CalendarDate | null;
}

/** A limit that runs from `start`: `days` working days, less any suspended days. */
export interface Period {
  start: CalendarDate;
  days: number;
  suspensions: readonly Suspension[];
}

export type ClockStatus = 'on_time' | 'due_soon' | 'overdue' | 'paused';

export interface ClockReading {
  /** The last day of the limit; null while the clock is stopped. */
  due: CalendarDate | null;
  /** Working days left after today (0: due today); negative: working days past due. */
  remaining: number;
  status: ClockStatus;
  /** The count reaches into a year whose holiday arrangement is not published yet. */
  provisional: boolean;
}

/** The decision limits of an item. */
export interface DecisionLimits {
  joint: boolean;
  legalDays: number;
  promisedDays: number;
  extensionDays: number;
}

export function decisionLimits(item: {
  legal_time_limit_days: number;
  promised_time_limit_days: number;
  assisting_authorities: readonly string[];
}): DecisionLimits {
  const joint = item.assisting_authorities.length > 0;
  const kind = joint ? 'joint' : 'single';
  const legalDays = item.legal_time_limit_days > 0 ? item.legal_time_limit_days : DEFAULT_DECISION_DAYS[kind];
  return { joint, legalDays, promisedDays: Math.min(item.promised_time_limit_days, legalDays), extensionDays: EXTENSION_DAYS[kind] };
}

export class LegalClock {
  constructor(readonly calendar: WorkingCalendar) {}

  private skipper(p: Period) {
    return (d: CalendarDate) => p.suspensions.some((s) => s.from < d && (s.to === null || d <= s.to));
  }

  /** The last day of the period, or null while a suspension lasts. */
  due(p: Period): CalendarDate | null {
    if (p.suspensions.some((s) => s.to === null)) return null;
    return this.calendar.addWorkingDays(p.start, p.days, this.skipper(p));
  }

  /** Working days of the period used up to (and including) `until`. */
  elapsed(p: Period, until: CalendarDate): number {
    return this.calendar.workingDaysBetween(p.start, until, this.skipper(p));
  }

  read(p: Period, today: CalendarDate): ClockReading {
    const open = p.suspensions.find((s) => s.to === null);
    if (open) {
      const remaining = p.days - this.elapsed(p, open.from < today ? open.from : today);
      return { due: null, remaining, status: 'paused', provisional: !this.calendar.isSettled(today) };
    }
    const due = this.due(p)!;
    const skip = this.skipper(p);
    const remaining =
      today <= due ? this.calendar.workingDaysBetween(today, due, skip) : -this.calendar.workingDaysBetween(due, today, skip);
    const status: ClockStatus = today > due ? 'overdue' : remaining <= DUE_SOON_DAYS ? 'due_soon' : 'on_time';
    return { due, remaining, status, provisional: !this.calendar.isSettled(p.start) || !this.calendar.isSettled(due) };
  }

  /** Limits running on `today` that are due before this day are due soon (or overdue): what queries compare stored due dates with. */
  dueSoonBefore(today: CalendarDate): CalendarDate {
    return this.calendar.addWorkingDays(today, DUE_SOON_DAYS + 1);
  }
}
