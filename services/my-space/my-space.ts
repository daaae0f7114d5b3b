/**
 * 我的: the person's space, from their own records at this platform — who they are and their
 * real-name level with how to raise it, their cases (and which stages they may rate), their
 * e-licences, and their notices: what each case step told them, replies to what they asked and
 * rated, and the standing notices of the categories they keep.
 */
import { personIndex, type Caller } from '../cases/case-context.ts';
import { casesOfApplicant, notices as caseNotices } from '../cases/case-store.ts';
import { reached, STAGES, type Stage } from '../ratings/rating-rules.ts';
import { ratedStages } from '../ratings/rating-store.ts';
import { authorityNames } from '../cases/case-views.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { loaAdvice } from './loa-advice.ts';
import { changeSettings, enabledCategories, noticesOf, settingsOf } from './space-notices.ts';
import { refreshStandingNotices } from './standing-notices.ts';

function masked(phone: string | null): string | null {
  return phone ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : null;
}

export function profile(caller: Caller) {
  return {
    name: caller.person.name,
    kind: 'natural',
    phone: masked(caller.person.phone),
    issuer: caller.login.issuer,
    level: caller.login.level,
    loa: loaAdvice(caller.login.level),
  };
}

export async function myCases(deps: VoiceDeps, caller: Caller, limit = 50) {
  const cases = await casesOfApplicant(deps.db, personIndex(deps, caller.person.idNumber), limit);
  const rated = await ratedStages(
    deps.db,
    cases.map((c) => c.id),
  );
  const names = await authorityNames(
    deps.db,
    cases.map((c) => c.authority),
  );
  const rating = (c: (typeof cases)[number], stage: Stage) =>
    rated.get(c.id)?.includes(stage) ? 'rated' : reached(c, stage) ? 'open' : 'not_yet';
  return cases.map((c) => ({
    number: c.number,
    item: { code: c.item_code, name: c.item_name },
    authority: c.authority,
    authority_name: names[c.authority],
    state: c.state,
    outcome: c.outcome,
    received_at: c.received_at,
    due_on: c.due_on,
    closed_at: c.closed_at,
    rating: Object.fromEntries(STAGES.map((s) => [s, rating(c, s)])) as Record<Stage, 'rated' | 'open' | 'not_yet'>,
  }));
}

/** The person's notices, newest first, after working out the standing ones. */
export async function myNotices(deps: VoiceDeps, caller: Caller, limit = 100) {
  const index = personIndex(deps, caller.person.idNumber);
  const settings = await settingsOf(deps.db, index);
  const enabled = enabledCategories(settings);
  await refreshStandingNotices(deps, caller, enabled);
  const space = await noticesOf(deps.db, index, enabled, limit);
  const steps = [];
  for (const c of await casesOfApplicant(deps.db, index, 50)) {
    for (const n of await caseNotices(deps.db, c.id))
      steps.push({
        id: `case:${c.number}:${n.created_at}`,
        category: 'case_progress',
        text: n.text,
        reason: `您申请的办件 ${c.number}`,
        link: { case: c.number },
        created_at: n.created_at,
      });
  }
  const notices = [...space, ...steps].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, limit);
  return { settings, notices };
}

export async function changeNoticeSettings(deps: VoiceDeps, caller: Caller, changes: Record<string, boolean>) {
  const index = personIndex(deps, caller.person.idNumber);
  await deps.db.transaction((tx) => changeSettings(tx, index, changes));
  return { settings: await settingsOf(deps.db, index) };
}

export async function myLicences(deps: VoiceDeps, caller: Caller) {
  return { licences: await deps.licences.heldBy(caller.person.idNumber) };
}
