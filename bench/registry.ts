/**
 * The registry of homes at national size (docs/DESIGN "Targets": lookup p99 at most 2 ms at 10⁷
 * entries). national and gd run in this process (the test federation: fresh ports, schemas
 * dropped at the end). national's registry is filled with synthetic entries by SQL, a million per
 * statement: blind indexes made in the database (SHA-256, base64url: the shape of real ones),
 * homes spread over the federation's OPs; and, made with national's own key, the blind indexes
 * of a sample of ID numbers the benchmark keeps, so that lookups find them. Then, one at a time
 * unless said otherwise:
 *   lookup       HomeRegistry.lookup at national (what a lookup asks the database), alternately
 *                for a kept ID number and for one never registered: p50/p99;
 *   via HTTP     gd asking national's POST /registry/lookup (entity assertion, trust chain,
 *                rate limit, lookup): p50/p99, at most 1,000 (national allows 6,000 a minute per caller);
 *   publication  gd publishing new homes to national (POST /registry/homes: assertion, subtree
 *                check, entry and audit entry in one transaction), at BENCH_CONCURRENCY: per second.
 *
 *   --entries N       entries to fill (default 10⁷ on PostgreSQL, 10⁵ on PGlite; smoke: 10⁴)
 *   DATABASE_URL=…    PostgreSQL (the national-size figure); without it, PGlite
 *   BENCH_SECONDS, BENCH_CONCURRENCY
 */
import { startTestFederation } from '../test/helpers/test-federation.ts';
import { HomeRegistry, identifierIndex } from '../federation/registry-of-homes.ts';
import { RegistryClient } from '../federation/registry-client.ts';
import { randomDraw, syntheticIdNumber } from '../services/population/synthetic-persons.ts';
import { configFromEnv } from '../infra/config.ts';
import { loopSettings, percentile, round, timedLoop, type BenchOptions, type Figures } from './measure.ts';

/** ID numbers registered with national's own key, for lookups that find something. */
const KEPT = 2000;
const FILL_CHUNK = 1_000_000;
const HTTP_LOOKUPS = 1000;
const TARGET_P99_MS = 2;

function entriesToFill(opts: BenchOptions, postgres: boolean): number {
  if (opts.entries !== undefined) return opts.entries;
  if (opts.smoke) return 10_000;
  return postgres ? 10_000_000 : 100_000;
}

export async function registryBenchmark(opts: BenchOptions): Promise<Figures> {
  const postgres = Boolean(configFromEnv().databaseUrl);
  const entries = entriesToFill(opts, postgres);
  const { concurrency, length } = loopSettings(opts);
  const fed = await startTestFederation(['gd']);
  try {
    const runtimeOf = (id: string) => fed.host.entities.find((h) => h.entity.id === id)!.runtime;
    const national = runtimeOf('national');
    const gd = runtimeOf('gd');
    const homes = fed.topology.ops().map((e) => e.url);

    // ---- fill ------------------------------------------------------------------------------
    const started = performance.now();
    const kept = Array.from({ length: KEPT }, () => syntheticIdNumber(randomDraw));
    await national.db.query(
      `INSERT INTO home_registry (kind, blind_index, home, via)
       SELECT 'natural', k, $2, $2 FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING`,
      [kept.map((id) => identifierIndex(national.blindIndex, 'natural', id)), fed.url('gd')],
    );
    for (let from = 1; from <= entries; from += FILL_CHUNK) {
      const to = Math.min(entries, from + FILL_CHUNK - 1);
      await national.db.query(
        `INSERT INTO home_registry (kind, blind_index, home, via)
         SELECT 'natural', rtrim(translate(encode(sha256(convert_to('bench ' || i, 'UTF8')), 'base64'), '+/', '-_'), '='),
                h.homes[1 + i % array_length(h.homes, 1)], h.homes[1 + i % array_length(h.homes, 1)]
         FROM generate_series($2::bigint, $3::bigint) AS i, (SELECT $1::text[] AS homes) AS h`,
        [homes, from, to],
      );
      if (!opts.smoke) console.log(`  filled ${to.toLocaleString('en')} of ${entries.toLocaleString('en')}`);
    }
    await national.db.query('ANALYZE home_registry');
    const fillSeconds = (performance.now() - started) / 1000;
    const { rows } = await national.db.query<{ n: string }>('SELECT count(*)::text AS n FROM home_registry');
    console.log(
      `registry of homes at national on ${postgres ? 'PostgreSQL' : 'PGlite'}: ${Number(rows[0]!.n).toLocaleString('en')} entries, filled in ${fillSeconds.toFixed(1)} s (${Math.round(entries / fillSeconds).toLocaleString('en')} per second)`,
    );

    // ---- lookups -----------------------------------------------------------------------------
    const registry = new HomeRegistry(national.db, national.blindIndex);
    let n = 0;
    const lookupLength = opts.smoke ? { operationsPerSlot: 20 } : length;
    const lookup = await timedLoop('lookup (database)', 1, lookupLength, async () => {
      const hit = n++ % 2 === 0;
      const home = await registry.lookup('natural', hit ? kept[n % KEPT]! : syntheticIdNumber(randomDraw));
      if (hit && home !== fed.url('gd')) throw new Error('a kept ID number was not found');
    });

    const asGd = new RegistryClient({
      self: fed.url('gd'),
      superior: fed.url('national'),
      signingKey: () => gd.keyRing.signingKey(),
      local: null,
    });
    let m = 0;
    const http = await timedLoop('lookup (gd → national)', 1, { operationsPerSlot: opts.smoke ? 10 : HTTP_LOOKUPS }, async () => {
      const hit = m++ % 2 === 0;
      const home = await asGd.lookup('natural', hit ? kept[m % KEPT]! : syntheticIdNumber(randomDraw));
      if (hit && home !== fed.url('gd')) throw new Error('a kept ID number was not found');
    });

    // ---- publications --------------------------------------------------------------------------
    const publication = await timedLoop('publication', concurrency, length, async () => {
      await asGd.publish({ kind: 'natural', identifier: syntheticIdNumber(randomDraw), home: fed.url('gd'), previousHome: null });
    });

    const p99 = percentile(lookup.latencies, 0.99);
    console.log(
      `target: lookup p99 ${p99.toFixed(2)} ms ≤ ${TARGET_P99_MS} ms at ${entries.toLocaleString('en')} entries: ${p99 <= TARGET_P99_MS ? 'met' : 'MISSED'}`,
    );
    return {
      engine: postgres ? 'postgres' : 'pglite',
      entries,
      fill_seconds: round(fillSeconds, 1),
      lookups: lookup.ok,
      lookup_errors: lookup.errors,
      lookup_p50_ms: round(percentile(lookup.latencies, 0.5), 3),
      lookup_p99_ms: round(p99, 3),
      http_lookups: http.ok,
      http_lookup_errors: http.errors,
      http_lookup_p50_ms: round(percentile(http.latencies, 0.5), 2),
      http_lookup_p99_ms: round(percentile(http.latencies, 0.99), 2),
      publications: publication.ok,
      publication_errors: publication.errors,
      publications_per_s: round(publication.perSecond, 1),
      publication_p50_ms: round(percentile(publication.latencies, 0.5), 2),
      publication_p99_ms: round(percentile(publication.latencies, 0.99), 2),
      target_met: p99 <= TARGET_P99_MS,
    };
  } finally {
    await fed.close();
  }
}
