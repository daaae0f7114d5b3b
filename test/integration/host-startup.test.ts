/**
 * A host starts its background work only once every entity it hosts listens. After a restart, a
 * province broker's outbox may still hold a publication it relays for a city's account; national
 * checks it against the city's own statements, so the city must be up before the broker delivers:
 * the publication is accepted on its first delivery, never refused as outside the subtree.
 */
import test from 'ava';
import { startTestFederation } from '../helpers/test-federation.ts';
import { openEntityDatabase } from '../../cli/entity-host.ts';
import { migrate } from '../../infra/migrate.ts';
import { loadMasterKey } from '../../infra/crypto.ts';
import { deriveEntitySecrets } from '../../infra/entity-runtime.ts';
import { enqueueRegistryPublication } from '../../federation/registry-outbox.ts';
import { HomeRegistry } from '../../federation/registry-of-homes.ts';
import type { Database } from '../../infra/database.ts';

const ID_NUMBER = '11010519491231002X';

/** Polls until `condition` holds; the bound is generous, for a loaded machine. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a publication pending in a broker at start is accepted by national on its first delivery', async (t) => {
  let relaying: Database | undefined;
  const fed = await startTestFederation(['gz'], {
    // As after a restart: gd's outbox holds the publication it relays for an account of gz.
    prepare: async (config, topology) => {
      const gd = topology.get('gd');
      relaying = await openEntityDatabase(config, gd);
      await migrate(relaying, ['common', 'idp']);
      const keys = deriveEntitySecrets(loadMasterKey(config.dataDir), gd.url);
      await relaying.transaction((tx) =>
        enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: ID_NUMBER, home: topology.get('gz').url }),
      );
    },
  });
  t.teardown(() => fed.close());
  // Kept open until the host has it open too (an embedded database lives while someone uses it).
  await relaying!.close();

  const national = fed.host.entities.find((e) => e.entity.id === 'national')!.runtime;
  const registry = new HomeRegistry(national.db, national.blindIndex);
  await until(async () => (await registry.lookup('natural', ID_NUMBER)) !== null, 'national to record the home');
  t.is(await registry.lookup('natural', ID_NUMBER), fed.url('gz'));
  const { rows } = await national.db.query<{ detail: { reason?: string } }>(
    "SELECT detail FROM audit_log WHERE event = 'registry.refused'",
  );
  t.deepEqual(
    rows.map((r) => r.detail.reason),
    [],
    'national refused nothing',
  );
});
