/**
 * Demo only: moves every date of a case back by some calendar days, as if they had passed, and
 * works its deadlines out again. How the demo story and the tests show an overdue opinion or a
 * deemed acceptance over HTTP without waiting weeks. Never served outside demo mode.
 */
import { appendAudit } from '../../infra/audit-log.ts';
import { NotFound } from '../../infra/errors.ts';
import type { CaseDeps } from './case-context.ts';
import { clockColumns } from './case-deadlines.ts';
import * as store from './case-store.ts';

export async function ageCase(deps: CaseDeps, number: string, days: number) {
  return deps.db.transaction(async (tx) => {
    const c = await store.caseByNumber(tx, number, true);
    if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
    const span = `${days} days`;
    await tx.query(
      `UPDATE cases SET received_at = received_at - $2::interval, received_on = received_on - $3::int,
         accepted_on = accepted_on - $3::int, decided_on = decided_on - $3::int, delivered_on = delivered_on - $3::int,
         closed_at = closed_at - $2::interval WHERE id = $1`,
      [c.id, span, days],
    );
    await tx.query(
      'UPDATE case_steps SET started_at = started_at - $2::interval, ended_at = ended_at - $2::interval, deadline = deadline - $3::int WHERE case_id = $1',
      [c.id, span, days],
    );
    await tx.query('UPDATE case_suspensions SET from_on = from_on - $2::int, to_on = to_on - $2::int WHERE case_id = $1', [c.id, days]);
    await tx.query('UPDATE case_opinions SET due_on = due_on - $3::int, given_at = given_at - $2::interval WHERE case_id = $1', [
      c.id,
      span,
      days,
    ]);
    await tx.query('UPDATE case_notices SET created_at = created_at - $2::interval WHERE case_id = $1', [c.id, span]);
    const aged = (await store.caseByNumber(tx, number))!;
    const clock = clockColumns(deps.clock, aged, await store.suspensions(tx, c.id));
    await store.updateCase(tx, c.id, clock);
    await appendAudit(tx, { event: 'case.aged', subject: `case:${number}`, detail: { days } });
    return { number, days, received_on: aged.received_on, ...clock };
  });
}
