/**
 * The catalog's life on both engines: import/export round trip; changes through approval, with
 * a directory change carried into the implementation items (or flagged for their owners); a
 * published version that the database itself refuses to change.
 */
import test from 'ava';
import type { DirectoryItem, ImplementationItem } from '../../services/catalog/catalog-schema.ts';
import type { CatalogService } from '../../services/catalog/catalog-service.ts';
import { databaseEngines, forEngines } from '../helpers/unit-engines.ts';
import { demoCatalog } from '../helpers/catalog-fixture.ts';

const { engines, cleanup } = databaseEngines('catalog-versions');
test.after.always(cleanup);

async function directoryNamed(catalog: CatalogService, name: string): Promise<DirectoryItem> {
  return (await catalog.export()).directory.find((d) => d.name === name)!;
}

forEngines(engines, 'export, import into an empty catalog, export again: the same catalog', async (t, engine) => {
  const { catalog } = await demoCatalog(engine, 'catround');
  const first = await catalog.export();
  t.true(first.directory.length >= 60);
  t.true(first.implementation.some((i) => i.user_type === 'legal') && first.implementation.some((i) => i.user_type === 'natural'));
  const { catalog: empty } = await demoCatalog(engine, 'catround', false);
  t.deepEqual(await empty.import(first), {
    authorities: first.authorities.length,
    directory: first.directory.length,
    implementation: first.implementation.length,
  });
  t.deepEqual(await empty.export(), first);
});

forEngines(
  engines,
  'a directory change is approved by a reviewer of its owner and flows into the implementation items',
  async (t, engine) => {
    const { db, catalog } = await demoCatalog(engine, 'catchange');
    const renewal = await directoryNamed(catalog, '居民身份证换领');
    const submitter = { authority: renewal.owner, person: '张编制' };
    const reviewer = { authority: renewal.owner, person: '李审核' };
    const draft = await catalog.createChange({
      actor: submitter,
      kind: 'directory',
      item: { ...renewal, legal_time_limit_days: 30, common_names: [...renewal.common_names, '身份证换新'] },
    });
    t.is(draft.state, 'draft');
    t.is(draft.version, 2);
    await t.throwsAsync(catalog.approve(draft.id, reviewer), { message: /cannot be approved: submit it first/ });
    await catalog.submit(draft.id, submitter);
    await t.throwsAsync(catalog.approve(draft.id, submitter), { message: /person: a change is reviewed by another member/ });
    const stranger = (await catalog.export()).authorities.find((a) => a.code !== renewal.owner)!;
    await t.throwsAsync(catalog.approve(draft.id, { authority: stranger.code, person: '王' }), { message: /does not own this item/ });

    const { change, propagated } = await catalog.approve(draft.id, reviewer, '依法调整');
    t.is(change.state, 'approved');
    t.is(change.reviewer, '李审核');
    t.is(propagated.length, 4, 'four cities implement it');
    t.true(propagated.every((p) => p.state === 'approved' && p.origin === 'propagation' && p.flags.length === 0));
    const code = propagated[0]!.item_code;
    const current = await catalog.version(code);
    t.is(current.version, 2);
    t.is((current.content as ImplementationItem).legal_time_limit_days, 30);
    const guide = await catalog.guide(code);
    t.is(guide.sections.find((s) => s.key === 'legal_time_limit')!.value, '30个工作日');
    t.deepEqual((await catalog.diff(code, 1, 2)).differences, [{ path: 'legal_time_limit_days', from: 60, to: 30 }]);
    t.deepEqual(
      (await catalog.history(renewal.basic_code)).map((v) => [v.version, v.state, v.author, v.reviewer]),
      [
        [1, 'approved', 'import', 'import'],
        [2, 'approved', '张编制', '李审核'],
      ],
    );
    t.is(
      await catalog.version(code, 1).then((v) => (v.content as ImplementationItem).legal_time_limit_days),
      60,
      'the old version is still readable',
    );

    // A limit shorter than what the cities promise cannot be carried over: drafts flagged for their owners.
    const shorter = await catalog.createChange({ actor: submitter, kind: 'directory', item: { ...renewal, legal_time_limit_days: 10 } });
    await catalog.submit(shorter.id, submitter);
    const second = await catalog.approve(shorter.id, reviewer);
    t.true(second.propagated.every((p) => p.state === 'draft' && p.flags.some((f) => f.includes('promised_time_limit_days'))));
    t.is((await catalog.version(code)).version, 2, 'the version in force stays until its owner decides');
    t.is((await catalog.changes({ state: 'draft' })).length, 4);

    // A change from a date to come is published but not yet in force.
    const later = await catalog.createChange({
      actor: submitter,
      kind: 'directory',
      item: { ...renewal, legal_time_limit_days: 10, name: renewal.name },
      effectiveFrom: '2999-01-01',
    });
    await catalog.submit(later.id, submitter);
    await catalog.approve(later.id, reviewer);
    t.is((await catalog.version(renewal.basic_code)).version, 3);
    t.is((await catalog.history(renewal.basic_code)).at(-1)!.effective_from, '2999-01-01');

    // The database refuses to change a published version, whatever the code above does.
    await t.throwsAsync(db.query("UPDATE catalog_versions SET content = '{}'::jsonb WHERE id = $1", [draft.id]), {
      message: /is approved: it never changes/,
    });
    await t.throwsAsync(db.query('DELETE FROM catalog_versions WHERE id = $1', [draft.id]), { message: /never changes/ });
    await t.throwsAsync(catalog.submit(draft.id, submitter), { message: /approved: it never changes/ });
  },
);

forEngines(
  engines,
  'an implementation change is checked against its directory item; nothing half-applied on refusal',
  async (t, engine) => {
    const { db, catalog } = await demoCatalog(engine, 'catrules');
    const all = await catalog.export();
    const impl = all.implementation.find((i) => i.name === '结婚登记' && i.level === 'main')!;
    const actor = { authority: impl.implementing_authority, person: '赵' };
    await t.throwsAsync(catalog.createChange({ actor, kind: 'implementation', item: { ...impl, name: '结婚登记（新）' } }), {
      message: /item.name: is "结婚登记" in the directory/,
    });
    await t.throwsAsync(catalog.createChange({ actor, kind: 'implementation', item: { ...impl, user_type: 'legal' } }), {
      message: /item.user_type: the directory item serves natural/,
    });
    await t.throwsAsync(
      catalog.createChange({ actor, kind: 'implementation', item: { ...impl, materials: [{ ...impl.materials[0]!, name: '' }] } }),
      { message: /item.materials.0.name: is required/ },
    );
    const count = async () => (await db.query<{ n: string }>('SELECT count(*)::text AS n FROM catalog_versions')).rows[0]!.n;
    const before = await count();
    const collision = { ...all, implementation: [...all.implementation.slice(0, 3)], directory: [], authorities: [] };
    await t.throwsAsync(catalog.import(collision), { message: /implementation.0.implementing_code: .* is already used/ });
    t.is(await count(), before);
    const draft = await catalog.createChange({ actor, kind: 'implementation', item: { ...impl, promised_time_limit_days: 1 } });
    await t.throwsAsync(catalog.createChange({ actor, kind: 'implementation', item: impl }), { message: /already has change/ });
    const edited = await catalog.editChange(draft.id, { actor, item: { ...impl, place: '广州市婚姻登记处' } });
    t.is((edited.content as ImplementationItem).place, '广州市婚姻登记处');
  },
);
