/** The working calendar (holidays and make-up workdays as data) and the legal clock's limits. */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCEPTANCE_DAYS, DELIVERY_DAYS, LegalClock, decisionLimits, type Period } from '../../services/cases/legal-clock.ts';
import { WorkingCalendar, chinaDate, parseCalendarYear } from '../../services/cases/working-calendar.ts';

const calendar = WorkingCalendar.load();
const clock = new LegalClock(calendar);

test('2026: holidays are off, make-up weekends are workdays, other weekends are off', (t) => {
  t.false(calendar.isWorkingDay('2026-10-01'));
  t.false(calendar.isWorkingDay('2026-10-07'));
  t.true(calendar.isWorkingDay('2026-10-08'));
  t.true(calendar.isWorkingDay('2026-10-10'), 'Saturday 10 October is a make-up workday');
  t.true(calendar.isWorkingDay('2026-09-20'), 'Sunday 20 September is a make-up workday');
  t.false(calendar.isWorkingDay('2026-10-11'), 'an ordinary Sunday');
  t.false(calendar.isWorkingDay('2026-02-23'), 'Monday, last day of the Spring Festival holiday');
  t.true(calendar.isWorkingDay('2026-02-14'));
  t.is(calendar.occasion('2026-10-10'), '国庆节');
  t.true(calendar.isSettled('2026-06-01'));
  t.false(calendar.isSettled('2027-06-01'), '2027 holds the statutory days only until its notice is entered');
  t.false(calendar.isSettled('2030-06-01'), 'a year without a file');
  t.true(calendar.isWorkingDay('2030-06-03'), 'a year without a file counts Monday to Friday');
});

test('a case received the Monday before the National Day holiday: acceptance is due on the make-up Saturday', (t) => {
  // Working days after 28 September: 29, 30 September, then 8, 9 and (make-up) 10 October.
  const acceptance: Period = { start: '2026-09-28', days: ACCEPTANCE_DAYS, suspensions: [] };
  t.is(clock.due(acceptance), '2026-10-10');
  t.deepEqual(clock.read(acceptance, '2026-10-03'), { due: '2026-10-10', remaining: 3, status: 'on_time', provisional: false });
  t.is(clock.read(acceptance, '2026-10-09').status, 'due_soon');
  t.is(clock.read(acceptance, '2026-10-10').remaining, 0);
  const late = clock.read(acceptance, '2026-10-12');
  t.is(late.status, 'overdue');
  t.is(late.remaining, -1);
  // Twenty working days of decision from 30 September (accepted then): the holiday week does not count.
  t.is(clock.due({ start: '2026-09-30', days: 20, suspensions: [] }), '2026-11-03');
  t.is(clock.due({ start: '2026-09-28', days: DELIVERY_DAYS, suspensions: [] }), '2026-10-16');
});

test('a make-up Sunday counts: received on Friday 18 September 2026, acceptance due Thursday 24th', (t) => {
  t.is(clock.due({ start: '2026-09-18', days: ACCEPTANCE_DAYS, suspensions: [] }), '2026-09-24');
});

test('a period never counts its first day; zero days is due the same day (on the spot)', (t) => {
  t.is(clock.due({ start: '2026-03-02', days: 1, suspensions: [] }), '2026-03-03');
  t.is(clock.due({ start: '2026-03-06', days: 1, suspensions: [] }), '2026-03-09', 'Friday + 1 is Monday');
  t.is(clock.due({ start: '2026-03-02', days: 0, suspensions: [] }), '2026-03-02');
});

test('a suspension stops the clock: while it lasts there is no due date, after it the days are added back', (t) => {
  const open: Period = {
    start: '2026-03-02',
    days: 5,
    suspensions: [{ kind: 'correction', reason: '缺少材料', from: '2026-03-04', to: null }],
  };
  t.is(clock.due(open), null);
  const paused = clock.read(open, '2026-03-20');
  t.is(paused.status, 'paused');
  t.is(paused.remaining, 3, 'two working days (3, 4 March) were used before the notice');
  const closed: Period = { ...open, suspensions: [{ ...open.suspensions[0]!, to: '2026-03-16' }] };
  // 3, 4 March used; 5–16 March stopped; then 17, 18, 19 March.
  t.is(clock.due(closed), '2026-03-19');
  t.is(clock.elapsed(closed, '2026-03-17'), 3);
  const two: Period = {
    start: '2026-03-02',
    days: 20,
    suspensions: [
      { kind: 'hearing', reason: '听证', from: '2026-03-04', to: '2026-03-06' },
      { kind: 'expert_review', reason: '专家评审', from: '2026-03-10', to: '2026-03-12' },
    ],
  };
  t.is(clock.due(two), clock.due({ start: '2026-03-02', days: 24, suspensions: [] }), 'four suspended working days');
});

test('decision limits: the item legal limit, 20 or 45 working days when it names none, extensions 10 or 15', (t) => {
  t.deepEqual(decisionLimits({ legal_time_limit_days: 15, promised_time_limit_days: 7, assisting_authorities: [] }), {
    joint: false,
    legalDays: 15,
    promisedDays: 7,
    extensionDays: 10,
  });
  t.deepEqual(decisionLimits({ legal_time_limit_days: 0, promised_time_limit_days: 0, assisting_authorities: ['x', 'y'] }), {
    joint: true,
    legalDays: 45,
    promisedDays: 0,
    extensionDays: 15,
  });
  t.is(decisionLimits({ legal_time_limit_days: 0, promised_time_limit_days: 30, assisting_authorities: [] }).legalDays, 20);
});

test('due soon is judged against stored due dates with a horizon of working days', (t) => {
  // Friday 25 September 2026 starts the Mid-Autumn holiday: two working days after 24 September are 28 and 29.
  t.is(clock.dueSoonBefore('2026-09-24'), '2026-09-30');
  t.is(chinaDate(new Date('2026-09-30T16:30:00Z')), '2026-10-01', 'half past midnight in Beijing is already October');
});

test('calendar files are checked: dates in their year, make-up days on weekends, nothing both', (t) => {
  const base = { year: 2026, status: 'published', source: 'test', holidays: [], workdays: [] };
  t.throws(() => parseCalendarYear({ ...base, holidays: [{ name: 'x', from: '2025-12-31', to: '2026-01-01' }] }, 'f'), {
    message: /f: holidays.0.from: 2025-12-31 is not in 2026/,
  });
  t.throws(() => parseCalendarYear({ ...base, workdays: [{ name: 'x', date: '2026-10-09' }] }, 'f'), { message: /is a weekday already/ });
  t.throws(
    () =>
      parseCalendarYear(
        { ...base, holidays: [{ name: 'x', from: '2026-10-10', to: '2026-10-10' }], workdays: [{ name: 'x', date: '2026-10-10' }] },
        'f',
      ),
    { message: /also listed as a holiday/ },
  );
  t.throws(() => parseCalendarYear({ ...base, holidays: [{ name: 'x', from: '2026-02-30', to: '2026-03-01' }] }, 'f'), {
    message: /holidays.0.from: is not a calendar date/,
  });
  const dir = mkdtempSync(join(tmpdir(), 'calendar-'));
  writeFileSync(join(dir, '2028.json'), JSON.stringify({ ...base }));
  t.throws(() => WorkingCalendar.load(dir), { message: /2026 is not the year its file is named for/ });
});
