/**
 * Working days in China: Monday to Friday, except the public holidays the State Council announces
 * each year, plus the weekend days it makes workdays (调休). Each year is a data file,
 * calendars/YYYY.json; a year without a file counts Monday to Friday only, and a file whose
 * status is `provisional` holds the statutory holidays before the year's notice is out, so the
 * deadlines reaching into either are marked provisional.
 * Dates are calendar dates in China Standard Time (UTC+8, no daylight saving), 'YYYY-MM-DD'.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../../infra/errors.ts';
import { PACKAGE_ROOT } from '../../infra/package-root.ts';

export type CalendarDate = string;

export const CALENDAR_DIR = join(PACKAGE_ROOT, 'services/cases/calendars');

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'is not a date (YYYY-MM-DD)')
  .refine((d) => toDays(d) !== null, 'is not a calendar date');

const calendarYearSchema = z
  .object({
    year: z.number().int().min(2000).max(2100),
    status: z.enum(['published', 'provisional']),
    source: z.string().min(1),
    holidays: z.array(z.object({ name: z.string().min(1), from: date, to: date }).strict()),
    workdays: z.array(z.object({ name: z.string().min(1), date }).strict()),
  })
  .strict();

export type CalendarYear = z.infer<typeof calendarYearSchema>;

const DAY_MS = 86_400_000;
const CHINA_OFFSET_MS = 8 * 3_600_000;

/** Days since 1970-01-01 of a date, or null when it is not one. */
function toDays(d: CalendarDate): number | null {
  const [y, m, day] = d.split('-').map(Number) as [number, number, number];
  const t = Date.UTC(y, m - 1, day);
  const back = new Date(t);
  return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === day ? t / DAY_MS : null;
}

function fromDays(days: number): CalendarDate {
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

/** The date `n` calendar days after `d` (before it when negative). */
export function addDays(d: CalendarDate, n: number): CalendarDate {
  return fromDays(toDays(d)! + n);
}

/** The calendar date in China at an instant. */
export function chinaDate(instant: Date): CalendarDate {
  return new Date(instant.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 10);
}

/** Whole calendar days from `a` to `b` (negative when `b` comes first). */
export function daysBetween(a: CalendarDate, b: CalendarDate): number {
  return toDays(b)! - toDays(a)!;
}

/** Checks one year's file; every problem names its field. */
export function parseCalendarYear(raw: unknown, source: string): CalendarYear {
  const parsed = calendarYearSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigurationError(`${source}: ${issue.path.join('.') || '(root)'}`, issue.message);
  }
  const year = parsed.data;
  const inYear = (d: CalendarDate, at: string) => {
    if (!d.startsWith(`${year.year}-`)) throw new ConfigurationError(`${source}: ${at}`, `${d} is not in ${year.year}`);
  };
  year.holidays.forEach((h, i) => {
    inYear(h.from, `holidays.${i}.from`);
    inYear(h.to, `holidays.${i}.to`);
    if (h.to < h.from) throw new ConfigurationError(`${source}: holidays.${i}.to`, `ends (${h.to}) before it starts (${h.from})`);
  });
  year.workdays.forEach((w, i) => {
    inYear(w.date, `workdays.${i}.date`);
    const weekday = new Date(toDays(w.date)! * DAY_MS).getUTCDay();
    if (weekday !== 0 && weekday !== 6)
      throw new ConfigurationError(
        `${source}: workdays.${i}.date`,
        `${w.date} is a weekday already; a make-up workday is a Saturday or Sunday`,
      );
    if (year.holidays.some((h) => h.from <= w.date && w.date <= h.to))
      throw new ConfigurationError(`${source}: workdays.${i}.date`, `${w.date} is also listed as a holiday`);
  });
  return year;
}

export class WorkingCalendar {
  private readonly holidays = new Map<CalendarDate, string>();
  private readonly workdays = new Map<CalendarDate, string>();
  private readonly years = new Map<number, CalendarYear['status']>();

  constructor(years: CalendarYear[]) {
    for (const y of years) {
      if (this.years.has(y.year)) throw new ConfigurationError(`calendar ${y.year}`, 'the year is given twice');
      this.years.set(y.year, y.status);
      for (const h of y.holidays) for (let d = h.from; d <= h.to; d = addDays(d, 1)) this.holidays.set(d, h.name);
      for (const w of y.workdays) this.workdays.set(w.date, w.name);
    }
  }

  /** Every calendars/YYYY.json of a folder. */
  static load(dir = CALENDAR_DIR): WorkingCalendar {
    const files = readdirSync(dir).filter((f) => /^\d{4}\.json$/.test(f));
    return new WorkingCalendar(
      files.map((f) => {
        const path = join(dir, f);
        const year = parseCalendarYear(JSON.parse(readFileSync(path, 'utf8')), path);
        if (`${year.year}.json` !== f) throw new ConfigurationError(`${path}: year`, `${year.year} is not the year its file is named for`);
        return year;
      }),
    );
  }

  isWorkingDay(d: CalendarDate): boolean {
    if (this.holidays.has(d)) return false;
    if (this.workdays.has(d)) return true;
    const weekday = new Date(toDays(d)! * DAY_MS).getUTCDay();
    return weekday !== 0 && weekday !== 6;
  }

  /** The holiday or make-up workday a date belongs to, if any. */
  occasion(d: CalendarDate): string | undefined {
    return this.holidays.get(d) ?? this.workdays.get(d);
  }

  /** Whether the year of a date has the State Council's published arrangement. */
  isSettled(d: CalendarDate): boolean {
    return this.years.get(Number(d.slice(0, 4))) === 'published';
  }

  /**
   * The `n`th working day after `from` that `skip` does not exclude; `from` itself when n is 0
   * (a period's first day is never counted).
   */
  addWorkingDays(from: CalendarDate, n: number, skip: (d: CalendarDate) => boolean = () => false): CalendarDate {
    let d = from;
    for (let counted = 0; counted < n;) {
      d = addDays(d, 1);
      if (this.isWorkingDay(d) && !skip(d)) counted++;
    }
    return d;
  }

  /** Working days d with from < d ≤ to that `skip` does not exclude; 0 when `to` is not after `from`. */
  workingDaysBetween(from: CalendarDate, to: CalendarDate, skip: (d: CalendarDate) => boolean = () => false): number {
    let n = 0;
    for (let d = addDays(from, 1); d <= to; d = addDays(d, 1)) if (this.isWorkingDay(d) && !skip(d)) n++;
    return n;
  }
}
