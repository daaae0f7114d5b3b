/**
 * The demo catalog (demo-catalog.json, in the import format): imported at start in demo mode when
 * the catalog is empty. A platform's management platform takes its own part: the items of the
 * authorities of its regions, with the directory items they refine (held from the platforms that
 * own them, which their feeds keep up to date).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { regionsAbove } from '../../federation/topology.ts';
import { PACKAGE_ROOT } from '../../infra/package-root.ts';
import type { CatalogFile } from './catalog-schema.ts';
import type { CatalogService } from './catalog-service.ts';
import { mainItemOf } from './item-codes.ts';

const DEMO_CATALOG_FILE = join(PACKAGE_ROOT, 'services/catalog/demo-catalog.json');

/** The part of `file` that platform `platform` keeps: its own authorities' items and what they need. */
function platformPart(file: CatalogFile, platform: string, platformOfRegion: (region: string) => string): CatalogFile {
  const own = new Set(file.authorities.filter((a) => platformOfRegion(a.region) === platform).map((a) => a.code));
  const implementation = file.implementation.filter((i) => own.has(i.implementing_authority));
  const needed = new Set(implementation.map((i) => i.basic_code));
  for (const d of file.directory) if (own.has(d.owner)) needed.add(d.basic_code);
  for (const code of [...needed]) {
    const main = mainItemOf(code);
    if (main) needed.add(main);
  }
  const directory = file.directory.filter((d) => needed.has(d.basic_code));
  const named = new Set([
    ...directory.map((d) => d.owner),
    ...implementation.flatMap((i) => [i.implementing_authority, ...i.assisting_authorities]),
  ]);
  const above = new Set(file.authorities.filter((a) => own.has(a.code)).flatMap((a) => regionsAbove(a.region)));
  const authorities = file.authorities.filter((a) => own.has(a.code) || named.has(a.code) || above.has(a.region));
  return { ...file, authorities, directory, implementation };
}

export async function seedDemoCatalog(catalog: CatalogService): Promise<void> {
  if (!(await catalog.isEmpty())) return;
  const file = JSON.parse(readFileSync(DEMO_CATALOG_FILE, 'utf8')) as CatalogFile;
  const { code, platformOfRegion } = catalog.platform;
  await catalog.import(platformPart(file, code, (region) => platformOfRegion(region)));
}
