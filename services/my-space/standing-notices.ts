/**
 * Notices worked out from the person's own records at this platform, each time they open their
 * space, in the categories they keep (each posted once, by its dedupe key):
 * - case_suggestions (one-time, for a closed case): items of the same life events at the same
 *   place, and the materials each asks for — what to prepare next;
 * - item_changes (standing): an item the person applied for has a newer version in force, and
 *   what changed in its guide;
 * - licence_expiry (standing): an e-licence of theirs expires within 90 days (licence-shelf.ts).
 */
import type { Queryable } from '../../infra/database.ts';
import { isImplementation, type ImplementationItem } from '../catalog/catalog-schema.ts';
import { IN_FORCE_TODAY, authority as authorityOf, listInForce, type Facets } from '../catalog/catalog-store.ts';
import { casesOfApplicant, type CaseRow } from '../cases/case-store.ts';
import { personIndex, today, type Caller } from '../cases/case-context.ts';
import { addDays } from '../cases/working-calendar.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { postNotice, type NoticeCategory } from './space-notices.ts';

const EXPIRY_WINDOW_DAYS = 90;
const SUGGESTIONS = 3;

async function facetsOf(db: Queryable, itemCode: string): Promise<Facets | undefined> {
  const { rows } = await db.query<{ facets: Facets }>(
    `SELECT p.facets FROM catalog_published p WHERE p.item_code = $1 AND ${IN_FORCE_TODAY}`,
    [itemCode],
  );
  return rows[0]?.facets;
}

/** Items of the case's life events at the same place (the authority's region), other than the case's own. */
async function nextItems(deps: VoiceDeps, c: CaseRow): Promise<{ code: string; name: string; materials: string[] }[]> {
  const facets = await facetsOf(deps.db, c.item_code);
  const region = (await authorityOf(deps.db, c.authority))?.region;
  if (!facets || !region) return [];
  const found = new Map<string, string>();
  for (const lifeEvent of facets.life_events) {
    for (const row of await listInForce(deps.db, { kind: 'implementation', life_events: [lifeEvent], user_type: ['natural'] }, 50)) {
      if (row.item_code === c.item_code || found.has(row.item_code)) continue;
      if ((await authorityOf(deps.db, row.facets.authority))?.region === region) found.set(row.item_code, row.name);
    }
  }
  const picked = [...found].slice(0, SUGGESTIONS);
  return Promise.all(
    picked.map(async ([code, name]) => {
      const content = (await deps.catalog.version(code)).content;
      return { code, name, materials: isImplementation(content) ? content.materials.map((m) => m.name) : [] };
    }),
  );
}

async function caseSuggestions(deps: VoiceDeps, index: string, cases: CaseRow[], at: Date): Promise<void> {
  for (const c of cases.filter((c) => c.state === 'closed' && c.outcome === 'approved')) {
    const items = await nextItems(deps, c);
    if (items.length === 0) continue;
    const list = items.map((i) => `${i.name}${i.materials.length ? `（需准备：${i.materials.slice(0, 4).join('、')}）` : ''}`);
    await postNotice(deps.db, {
      personIndex: index,
      category: 'case_suggestions',
      text: `您办理的“${c.item_name}”已办结。您可能还需要办理：${list.join('；')}。`,
      reason: `您申请了“${c.item_name}”（办件 ${c.number}），这些事项与它属于同一件事`,
      link: { case: c.number, items: items.map((i) => i.code).join(',') },
      dedupeKey: `case_next:${c.number}`,
      at,
    });
  }
}

async function itemChanges(deps: VoiceDeps, index: string, cases: CaseRow[], at: Date): Promise<void> {
  const applied = new Map<string, CaseRow>();
  for (const c of cases) if ((applied.get(c.item_code)?.item_version ?? 0) < c.item_version) applied.set(c.item_code, c);
  for (const [code, c] of applied) {
    const current = await deps.catalog.version(code).catch(() => null);
    if (!current || current.version <= c.item_version) continue;
    const { differences } = await deps.catalog.diff(code, c.item_version, current.version);
    const guide = await deps.catalog.guide(code, current.version);
    const label = (field: string) => guide.sections.find((s) => s.key === field || `${s.key}_days` === field)?.label['zh-CN'] ?? field;
    const changed = [...new Set(differences.map((d) => label(d.path.split('.')[0]!)))];
    const content = current.content as ImplementationItem;
    await postNotice(deps.db, {
      personIndex: index,
      category: 'item_changes',
      text: `您申请过的事项“${content.name}”已更新为第 ${current.version} 版（自 ${current.effective_from} 起施行），变化：${changed.join('、')}。`,
      reason: `您申请过该事项（办件 ${c.number}）`,
      link: { item: code, version: current.version },
      dedupeKey: `item_change:${code}:${current.version}`,
      at,
    });
  }
}

async function licenceExpiry(deps: VoiceDeps, index: string, caller: Caller, at: Date): Promise<void> {
  const until = addDays(today(deps), EXPIRY_WINDOW_DAYS);
  for (const l of await deps.licences.heldBy(caller.person.idNumber)) {
    if (l.state !== 'valid' || !l.validUntil) continue;
    const last = l.validUntil.slice(0, 10);
    if (last < today(deps) || last > until) continue;
    await postNotice(deps.db, {
      personIndex: index,
      category: 'licence_expiry',
      text: `您的电子证照“${l.name}”将于 ${last} 到期，请及时办理延续或换领。`,
      reason: `您是该证照的持有人，它在 ${EXPIRY_WINDOW_DAYS} 天内到期`,
      link: { licence: l.id },
      dedupeKey: `licence_expiry:${l.id}:${last}`,
      at,
    });
  }
}

/** Works out the standing and one-time notices of the categories the person keeps. */
export async function refreshStandingNotices(deps: VoiceDeps, caller: Caller, enabled: readonly NoticeCategory[]): Promise<void> {
  const index = personIndex(deps, caller.person.idNumber);
  const at = deps.now();
  const cases = await casesOfApplicant(deps.db, index, 50);
  if (enabled.includes('case_suggestions')) await caseSuggestions(deps, index, cases, at);
  if (enabled.includes('item_changes')) await itemChanges(deps, index, cases, at);
  if (enabled.includes('licence_expiry')) await licenceExpiry(deps, index, caller, at);
}
