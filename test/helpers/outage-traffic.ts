/**
 * What the outage tests share: login pages loaded in fresh browsers, one after another, while a
 * store goes away, every answer the usual page or 503 (never a bare server error or a hang); and
 * the OAuth endpoints' 503 `temporarily_unavailable`.
 */
import type { ExecutionContext } from 'ava';
import { authorize, type RelyingParty } from './flows.ts';
import { UserAgent } from './user-agent.ts';
import { until } from './until.ts';

/**
 * Loads `rp`'s login page in a loop, runs `outage` once pages load, and returns once a page
 * answered otherwise, having checked that every answer was 200 or 503. `boundMs` only bounds a
 * failure.
 */
export async function loginPagesThrough(
  t: ExecutionContext,
  rp: RelyingParty,
  outage: () => Promise<void>,
  boundMs: number,
): Promise<void> {
  const statuses: number[] = [];
  let stopped = false;
  const traffic = (async () => {
    while (!stopped) statuses.push((await authorize(rp, new UserAgent())).page.status);
  })();
  try {
    await until(async () => statuses.includes(200), 'login pages to load before the outage', boundMs);
    await outage();
    await until(async () => statuses.some((s) => s !== 200), 'a login page answered during the outage', boundMs);
  } finally {
    stopped = true;
    await traffic;
  }
  t.deepEqual(
    [...new Set(statuses)].filter((s) => s !== 200 && s !== 503),
    [],
    `every login page answered 200 or 503: ${statuses.join(' ')}`,
  );
}

/** An OAuth endpoint's answer during an outage. */
export async function answersUnavailable(t: ExecutionContext, what: string, res: Response): Promise<void> {
  t.is(res.status, 503, what);
  t.is(((await res.json()) as { error?: string }).error, 'temporarily_unavailable', what);
}
