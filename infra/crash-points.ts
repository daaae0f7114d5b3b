/**
 * Crash points for the crash tests only. When GOV_ID_TEST_CRASH_FILE names a file whose text is
 * `<point>@<entity ID>` (the entity's URL), the process kills itself with SIGKILL (nothing flushed, nothing closed)
 * the moment that entity reaches that point. Without the variable every call returns at once:
 * deployments never set it.
 */
import { readFileSync } from 'node:fs';

export type CrashPoint =
  /** A registration, or either side of a move (taken in, or marked moved), and its outbox row committed; nothing delivered yet. */
  | 'home.committed'
  /** A broker recorded a publication and its own row upward; not forwarded yet. */
  | 'registry.recorded'
  /** An outbox row is leased; not sent yet. */
  | 'outbox.claimed'
  /** The superior acknowledged a row; it is not deleted yet. */
  | 'outbox.delivered'
  /** The old home of a move stopped the account (`moving`, bound to the new home); nothing handed over yet. */
  | 'relocation.stopped'
  /** The new home of a move committed the account it took (`account.moved_in`) and delivered its publication; the old home not answered yet. */
  | 'relocation.taken'
  /** An application's case, its materials, notice, SMS and audit entry committed; the receipt not answered yet. */
  | 'case.received'
  /** The handling platform committed a case handed over to it (its hand-off row with it); its signed receipt not answered yet. */
  | 'handoff.received'
  /** The receiving platform holds the handling platform's signed receipt; its own case and hand-off row not updated yet. */
  | 'handoff.acknowledged';

const armedBy = process.env.GOV_ID_TEST_CRASH_FILE;

export function crashPoint(point: CrashPoint, entity: string): void {
  if (!armedBy) return;
  let armed = '';
  try {
    armed = readFileSync(armedBy, 'utf8').trim();
  } catch {
    return;
  }
  if (armed === `${point}@${entity}`) process.kill(process.pid, 'SIGKILL');
}
