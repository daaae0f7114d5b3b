/** The demo catalog (demo-catalog.json, in the import format): imported at start in demo mode when the catalog is empty. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../infra/package-root.ts';
import type { CatalogService } from './catalog-service.ts';

const DEMO_CATALOG_FILE = join(PACKAGE_ROOT, 'services/catalog/demo-catalog.json');

export async function seedDemoCatalog(catalog: CatalogService): Promise<void> {
  if (!(await catalog.isEmpty())) return;
  await catalog.import(JSON.parse(readFileSync(DEMO_CATALOG_FILE, 'utf8')));
}
