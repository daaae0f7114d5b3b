/** A migrated services schema holding the demo catalog, for catalog tests on either engine. */
import type { Database } from '../../infra/database.ts';
import { migrate } from '../../infra/migrate.ts';
import { CatalogService } from '../../services/catalog/catalog-service.ts';
import { seedDemoCatalog } from '../../services/catalog/demo-catalog.ts';
import type { DatabaseEngine } from './unit-engines.ts';

export async function demoCatalog(
  engine: DatabaseEngine,
  label: string,
  seeded = true,
): Promise<{ db: Database; catalog: CatalogService }> {
  const db = await engine.open(label);
  await migrate(db, ['common', 'services']);
  const catalog = new CatalogService(db);
  if (seeded) await seedDemoCatalog(catalog);
  return { db, catalog };
}
