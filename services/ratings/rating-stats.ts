/**
 * The public figures of 好差评, per authority and per item of it: ratings by level, the bad
 * ratings (levels 1 and 2, less those annulled on appeal) and their rate, and how rectification
 * went: answered by the due date (on time), still open past it (overdue), fixes by a date that
 * came late, and what raters thought of the outcome. Nothing a rater wrote is in them.
 */
import type { Queryable } from '../../infra/database.ts';
import { chinaDate } from '../cases/working-calendar.ts';
import { authorityNames } from '../cases/case-views.ts';

interface RatingCounts {
  authority: string;
  item_code: string;
  item_name: string;
  l1: number;
  l2: number;
  l3: number;
  l4: number;
  l5: number;
  annulled: number;
  bad: number;
  complaints: number;
}

interface TaskCounts {
  authority: string;
  item_code: string;
  tasks: number;
  answered: number;
  on_time: number;
  overdue: number;
  fixes_late: number;
  views: number;
  satisfied: number;
}

export interface Figures {
  ratings: number;
  by_level: Record<'1' | '2' | '3' | '4' | '5', number>;
  bad: number;
  annulled: number;
  complaints: number;
  /** Bad ratings over the ratings that count (annulled ones do not); null without ratings. */
  bad_rate: number | null;
  rectification: {
    tasks: number;
    answered: number;
    on_time: number;
    overdue: number;
    /** Answered on time over the tasks whose timeliness is known (answered, or open past the due date). */
    on_time_rate: number | null;
    fixes_late: number;
    rater_views: number;
    rater_satisfied: number;
  };
}

const rate = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 10000) / 10000);

function empty(): { r: Omit<RatingCounts, 'authority' | 'item_code' | 'item_name'>; t: Omit<TaskCounts, 'authority' | 'item_code'> } {
  return {
    r: { l1: 0, l2: 0, l3: 0, l4: 0, l5: 0, annulled: 0, bad: 0, complaints: 0 },
    t: { tasks: 0, answered: 0, on_time: 0, overdue: 0, fixes_late: 0, views: 0, satisfied: 0 },
  };
}

function figures(acc: ReturnType<typeof empty>): Figures {
  const { r, t } = acc;
  const total = r.l1 + r.l2 + r.l3 + r.l4 + r.l5;
  return {
    ratings: total,
    by_level: { '1': r.l1, '2': r.l2, '3': r.l3, '4': r.l4, '5': r.l5 },
    bad: r.bad,
    annulled: r.annulled,
    complaints: r.complaints,
    bad_rate: rate(r.bad, total - r.annulled),
    rectification: {
      tasks: t.tasks,
      answered: t.answered,
      on_time: t.on_time,
      overdue: t.overdue,
      on_time_rate: rate(t.on_time, t.answered + t.overdue),
      fixes_late: t.fixes_late,
      rater_views: t.views,
      rater_satisfied: t.satisfied,
    },
  };
}

function add(into: Record<string, number>, row: object) {
  for (const k of Object.keys(into)) into[k] = (into[k] ?? 0) + Number((row as Record<string, unknown>)[k] ?? 0);
}

/** Figures as of `now`, overall, per authority and per item, narrowed to an authority or an item when given. */
export async function ratingStats(db: Queryable, filter: { authority?: string; item?: string }, now: Date) {
  const on = chinaDate(now);
  const ratings = await db.query<RatingCounts>(
    `SELECT authority, item_code, min(item_name) AS item_name,
       count(*) FILTER (WHERE level = 1)::int AS l1, count(*) FILTER (WHERE level = 2)::int AS l2,
       count(*) FILTER (WHERE level = 3)::int AS l3, count(*) FILTER (WHERE level = 4)::int AS l4,
       count(*) FILTER (WHERE level = 5)::int AS l5,
       count(*) FILTER (WHERE status = 'annulled')::int AS annulled,
       count(*) FILTER (WHERE level <= 2 AND status <> 'annulled')::int AS bad,
       count(*) FILTER (WHERE complaint_enc IS NOT NULL AND status <> 'annulled')::int AS complaints
     FROM ratings WHERE ($1::text IS NULL OR authority = $1) AND ($2::text IS NULL OR item_code = $2)
     GROUP BY authority, item_code ORDER BY authority, item_code`,
    [filter.authority ?? null, filter.item ?? null],
  );
  const tasks = await db.query<TaskCounts>(
    `SELECT authority, item_code, count(*)::int AS tasks,
       count(*) FILTER (WHERE answered_on IS NOT NULL)::int AS answered,
       count(*) FILTER (WHERE answered_on <= due_on)::int AS on_time,
       count(*) FILTER (WHERE answered_on IS NULL AND state = 'open' AND due_on < $3::date)::int AS overdue,
       count(*) FILTER (WHERE fix_by < coalesce(fixed_on, $3::date))::int AS fixes_late,
       count(*) FILTER (WHERE rater_view IS NOT NULL)::int AS views,
       count(*) FILTER (WHERE rater_view = 'satisfied')::int AS satisfied
     FROM rectification_tasks WHERE state <> 'withdrawn' AND ($1::text IS NULL OR authority = $1) AND ($2::text IS NULL OR item_code = $2)
     GROUP BY authority, item_code`,
    [filter.authority ?? null, filter.item ?? null, on],
  );
  const byKey = new Map(tasks.rows.map((t) => [`${t.authority}/${t.item_code}`, t]));
  const names = await authorityNames(
    db,
    ratings.rows.map((r) => r.authority),
  );
  const overall = empty();
  const authorities = new Map<string, { acc: ReturnType<typeof empty>; items: { code: string; name: string; figures: Figures }[] }>();
  for (const row of ratings.rows) {
    const acc = empty();
    add(acc.r, row);
    add(acc.t, byKey.get(`${row.authority}/${row.item_code}`) ?? {});
    const a = authorities.get(row.authority) ?? { acc: empty(), items: [] };
    authorities.set(row.authority, a);
    for (const into of [a.acc, overall]) {
      add(into.r, acc.r);
      add(into.t, acc.t);
    }
    a.items.push({ code: row.item_code, name: row.item_name, figures: figures(acc) });
  }
  return {
    as_of: on,
    overall: figures(overall),
    authorities: [...authorities].map(([code, a]) => ({ code, name: names[code], figures: figures(a.acc), items: a.items })),
  };
}
