/**
 * Catalog search (我要查) over many items: the demo catalog plus its city items cloned for
 * synthetic cities (new authorities with their own USCC, so new implementing codes), imported
 * through the catalog's own import in one file per round; then a fixed set of queries (one and
 * two characters, names, colloquial names, a typo) in a loop, p50/p99 per engine: PGlite always,
 * PostgreSQL when DATABASE_URL is set. Target (DESIGN.md): p99 ≤ 20 ms over 10,000 items.
 *
 *   BENCH_CATALOG_ITEMS   implementation items to reach (default 10,000; smoke: the demo catalog only)
 *   BENCH_SECONDS         length of each search loop (default 10)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../infra/database.ts';
import { usccCheckCharacter } from '../infra/identifiers.ts';
import { migrate } from '../infra/migrate.ts';
import { PACKAGE_ROOT } from '../infra/package-root.ts';
import type { CatalogFile } from '../services/catalog/catalog-schema.ts';
import { search } from '../services/catalog/catalog-search.ts';
import { CatalogService } from '../services/catalog/catalog-service.ts';
import { seedDemoCatalog } from '../services/catalog/demo-catalog.ts';
import { onEachEngine, percentile, timedLoop, type BenchOptions, type Figures } from './measure.ts';

const QUERIES = [
  '证',
  '婚',
  '身份证',
  '结婚登记',
  '换身份证',
  '营业执照',
  '出生医学证明',
  '社保转移',
  '公积金提取',
  '驾驶证',
  '施工许可',
  '户口迁移',
];
const TYPO = '居民身分证换领';

/** The city items of the demo catalog, re-issued by a synthetic city's authorities (region `region`). */
function syntheticCity(demo: CatalogFile, sourceRegion: string, region: string, cityName: string): CatalogFile {
  const sources = demo.authorities.filter((a) => a.region === sourceRegion);
  const sourceName = /^(?:国家税务总局)?(.+?市)/.exec(sources[0]!.name)![1]!;
  const renamed = new Map<string, string>();
  const authorities = sources.map((a) => {
    const first17 = `${a.code.slice(0, 2)}${region}${a.code.slice(8, 17)}`;
    const code = first17 + usccCheckCharacter(first17);
    renamed.set(a.code, code);
    return { ...a, code, region, name: a.name.replace(sourceName, cityName) };
  });
  const implementation = demo.implementation
    .filter((i) => renamed.has(i.implementing_authority))
    .map((item) => {
      let text = JSON.stringify(item);
      for (const [from, to] of renamed) text = text.replaceAll(from, to);
      return JSON.parse(text) as CatalogFile['implementation'][number];
    });
  return { format: demo.format, authorities, directory: [], implementation };
}

/** Grows the catalog to about `target` implementation items, a synthetic city per source city and round. */
async function grow(catalog: CatalogService, target: number): Promise<number> {
  const demo = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'services/catalog/demo-catalog.json'), 'utf8')) as CatalogFile;
  const cityRegions = [...new Set(demo.authorities.filter((a) => a.tier === 'city').map((a) => a.region))];
  let items = demo.implementation.length;
  for (let round = 20; items < target && round < 100; round++) {
    for (const source of cityRegions) {
      if (items >= target) break;
      const region = `${source.slice(0, 2)}${round}00`;
      const file = syntheticCity(demo, source, region, `示范${source.slice(0, 2)}${round}市`);
      items += (await catalog.import(file)).implementation;
    }
    console.log(`  ${items} implementation items`);
  }
  return items;
}

async function measureEngine(engine: string, db: Database, opts: BenchOptions, target: number): Promise<Figures> {
  await migrate(db, ['common', 'services']);
  const catalog = new CatalogService(db);
  await seedDemoCatalog(catalog);
  const started = performance.now();
  const items = await grow(catalog, opts.smoke ? 0 : target);
  const importSeconds = (performance.now() - started) / 1000;
  console.log(`${engine}: ${items} items, grown in ${importSeconds.toFixed(1)} s`);
  let next = 0;
  const queries = [...QUERIES, TYPO];
  const perQuery = new Map<string, number[]>(queries.map((q) => [q, []]));
  const loop = await timedLoop(
    `${engine} search`,
    1,
    opts.smoke ? { operationsPerSlot: queries.length } : { seconds: Number(process.env.BENCH_SECONDS ?? 10) },
    async () => {
      const q = queries[next++ % queries.length]!;
      const t0 = performance.now();
      const hits = await search(db, q, { kind: 'implementation' }, 20);
      perQuery.get(q)!.push(performance.now() - t0);
      if (hits.length === 0) throw new Error(`no result for ${q}`);
    },
  );
  const round = (x: number) => Math.round(x * 100) / 100;
  // Which queries make the tail: the slowest by median.
  const medians = [...perQuery]
    .map(
      ([q, l]) =>
        [
          q,
          percentile(
            l.sort((a, b) => a - b),
            0.5,
          ),
        ] as const,
    )
    .sort((a, b) => b[1] - a[1]);
  console.log(
    `${engine} slowest queries (p50): ${medians
      .slice(0, 4)
      .map(([q, m]) => `${q} ${m.toFixed(1)} ms`)
      .join(', ')}`,
  );
  return {
    [`${engine}_items`]: items,
    [`${engine}_search_p50_ms`]: round(percentile(loop.latencies, 0.5)),
    [`${engine}_search_p99_ms`]: round(percentile(loop.latencies, 0.99)),
    [`${engine}_searches`]: loop.ok,
    [`${engine}_search_errors`]: loop.errors,
  };
}

export async function catalogBenchmark(opts: BenchOptions): Promise<Figures> {
  const target = Number(process.env.BENCH_CATALOG_ITEMS ?? 10_000);
  const figures: Figures = {
    target_p99_ms: 20,
    ...(await onEachEngine('bench_catalog', (engine, db) => measureEngine(engine, db, opts, target))),
  };
  const p99s = Object.entries(figures)
    .filter(([k]) => k.endsWith('_search_p99_ms'))
    .map(([, v]) => v as number);
  figures.target_met = p99s.every((p) => p <= 20);
  return figures;
}
