/**
 * The lifecycle of a rating (好差评). What the rater said never changes; its status does:
 *
 *   recorded ──flag (a bad rating or a complaint)──▶ rectifying ──settle (task closed)──▶ settled
 *   rectifying ──appeal (handling authority)──▶ appealed ──uphold_appeal (supervisor)──▶ annulled
 *                                               appealed ──reject_appeal (supervisor)──▶ rectifying
 *
 * A good rating without a complaint stays recorded. An annulled rating is kept, and counted
 * apart: it is no longer a bad rating of the authority.
 */
import { Lifecycle } from '../voice/lifecycle-table.ts';
import type { CalendarDate } from '../cases/working-calendar.ts';

export const RATING_STATUSES = ['recorded', 'rectifying', 'appealed', 'settled', 'annulled'] as const;
export type RatingStatus = (typeof RATING_STATUSES)[number];

export interface RatingFacts {
  /** Level 1 or 2 (非常不满意, 不满意). */
  bad: boolean;
  complaint: boolean;
  /** The last day the handling authority may appeal. */
  appealUntil: CalendarDate;
  today: CalendarDate;
}

export type RatingEvent = 'flag' | 'appeal' | 'uphold_appeal' | 'reject_appeal' | 'settle';

export const ratingLifecycle = new Lifecycle<RatingStatus, RatingEvent, 'rectifier' | 'supervisor' | 'system', RatingFacts>('rating', {
  flag: {
    from: ['recorded'],
    to: 'rectifying',
    by: ['system'],
    guards: [
      {
        code: 'not_a_bad_rating',
        holds: (f) => f.bad || f.complaint,
        message: () => 'only a bad rating (level 1 or 2) or a complaint becomes a rectification task',
      },
    ],
  },
  appeal: {
    from: ['rectifying'],
    to: 'appealed',
    by: ['rectifier'],
    guards: [
      {
        code: 'appeal_window_closed',
        holds: (f) => f.today <= f.appealUntil,
        message: (f) => `a rating is appealed within the platform's limit: the last day was ${f.appealUntil}`,
      },
    ],
  },
  uphold_appeal: { from: ['appealed'], to: 'annulled', by: ['supervisor'] },
  reject_appeal: { from: ['appealed'], to: 'rectifying', by: ['supervisor'] },
  settle: { from: ['rectifying'], to: 'settled', by: ['system'] },
});
