/**
 * A refused attempt changes nothing, and is itself in the audit log (who tried what, and why it
 * was refused), as the cases' refusals are: a rating of someone else's case, an appeal by an
 * authority that did not handle it, a task resolved without its call-back.
 */
import { recordAudit } from '../../infra/audit-log.ts';
import type { Database } from '../../infra/database.ts';
import { HttpError } from '../../infra/errors.ts';

export async function auditRefusals<T>(
  db: Database,
  attempt: { event: string; subject: string; by: string },
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof HttpError && err.status < 500 && err.status !== 404) {
      await recordAudit(db, { event: `${attempt.event}.refused`, subject: attempt.subject, detail: { code: err.code, by: attempt.by } });
    }
    throw err;
  }
}
