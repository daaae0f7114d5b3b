/**
 * Cases: (1) application submissions per second over HTTP, each with a person's access token
 * (checked, and the person asked of the OP) and the submission's transaction (case number, case,
 * materials, first step, notice, audit entry); (2) the staff queue query over many generated
 * cases, p50/p99 per engine: PGlite always, PostgreSQL when DATABASE_URL is set. Target
 * (DESIGN.md): queue p99 ≤ 50 ms over 10⁶ cases.
 *
 *   BENCH_CASES         cases generated for the queue (default 1,000,000; smoke: 2,000)
 *   BENCH_SECONDS       length of each loop (default 10)
 *   BENCH_CONCURRENCY   submissions at once (default 4)
 */
import { randomBytes } from 'node:crypto';
import { BlindIndex, FieldCipher } from '../infra/crypto.ts';
import type { Database } from '../infra/database.ts';
import { createLogger } from '../infra/log.ts';
import { migrate } from '../infra/migrate.ts';
import { CatalogService } from '../services/catalog/catalog-service.ts';
import type { CaseDeps } from '../services/cases/case-context.ts';
import { queue } from '../services/cases/case-queries.ts';
import { LegalClock } from '../services/cases/legal-clock.ts';
import type { Staff } from '../services/cases/staff-grants.ts';
import { WorkingCalendar, chinaDate } from '../services/cases/working-calendar.ts';
import { casesApi, personWithToken } from '../test/helpers/cases-api.ts';
import { startTestFederation } from '../test/helpers/test-federation.ts';
import { until } from '../test/helpers/until.ts';
import {
  loopSettings,
  onEachEngine,
  percentile,
  processCpuMs,
  round,
  storage,
  timedLoop,
  type BenchOptions,
  type Figures,
} from './measure.ts';

/** 广州市新生儿入户一件事: every material comes from an e-license, so a submission needs no upload. */
const ITEM = '11440100000101002C3200101013000';
const AUTHORITIES = 100;
const ITEMS = 400;

async function submissions(opts: BenchOptions): Promise<Figures> {
  const fed = await startTestFederation(['gd', 'registries', 'gz-services']);
  try {
    const api = casesApi(fed, 'gz-services');
    const { token } = await personWithToken(fed, 'gd', 'gz-services');
    await until(async () => (await api.call('GET', '/me', { token })).status === 200, 'gd trusted with service tokens', 60_000);
    const { concurrency, length } = loopSettings(opts);
    let n = 0;
    const cpu0 = processCpuMs();
    const loop = await timedLoop('submit', concurrency, length, async () => {
      const reply = await api.call('POST', '/cases', {
        token,
        headers: { 'idempotency-key': `bench-${Date.now()}-${n++}` },
        body: { item_code: ITEM, delivery: 'pickup', materials: [0, 1, 2, 3].map((slot) => ({ slot, reference: `e-license:${slot}` })) },
      });
      if (reply.status !== 201) throw new Error(`submit: ${reply.status} ${JSON.stringify(reply.json)}`);
    });
    return {
      storage: storage(),
      submissions_per_s: round(loop.perSecond),
      submit_p50_ms: round(percentile(loop.latencies, 0.5)),
      submit_p99_ms: round(percentile(loop.latencies, 0.99)),
      process_cpu_ms_per_submission: round((processCpuMs() - cpu0) / loop.ok),
    };
  } finally {
    await fed.close();
  }
}

/** `count` cases spread over authorities, items, states and a year of receipt days, written by the database itself. */
async function generate(db: Database, count: number): Promise<void> {
  const batch = 100_000;
  for (let from = 1; from <= count; from += batch) {
    const to = Math.min(count, from + batch - 1);
    // hashint4 spreads consecutive numbers evenly: state, day and authority independent of each other.
    await db.query(
      `INSERT INTO cases (number, platform, item_code, item_version, item_name, authority, state, outcome, applicant_index, applicant_enc,
         applicant_issuer, applicant_subject, client_id, delivery, idempotency_key, request_digest, query_code_hash, on_the_spot,
         publication_required, review_methods, legal_days, promised_days, received_at, received_on, clock_phase, due_on, legal_due_on)
       SELECT 'BENCH-' || lpad(g::text, 9, '0'), 'bench', 'item' || (g % ${ITEMS}), 1, '事项' || (g % ${ITEMS}), 'authority' || h.authority,
         h.state, CASE WHEN h.state = 'closed' THEN 'approved' END, md5(g::text), 'sealed', 'issuer', 'subject', 'portal', 'pickup',
         'key' || g, 'digest', 'code', false, false, '["written"]'::jsonb, 20, 10,
         now() - h.age * interval '1 day', current_date - h.age,
         CASE WHEN h.state IN ('received', 'correction_requested') THEN 'acceptance' WHEN h.state IN ('decided', 'result_made') THEN 'delivery'
              WHEN h.state IN ('delivered', 'published', 'closed') THEN NULL ELSE 'decision' END,
         CASE WHEN h.state IN ('correction_requested', 'suspended', 'delivered', 'published', 'closed') THEN NULL ELSE current_date - h.age + 14 END,
         CASE WHEN h.state IN ('correction_requested', 'suspended', 'delivered', 'published', 'closed') THEN NULL ELSE current_date - h.age + 28 END
       FROM generate_series($1::int, $2::int) g
       CROSS JOIN LATERAL (SELECT
         (ARRAY['received', 'correction_requested', 'under_review', 'suspended', 'reviewed', 'decided', 'result_made', 'delivered',
           'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed'])[1 + abs(hashint4(g)) % 16] AS state,
         abs(hashint4(g + 1000000007)) % 365 AS age,
         abs(hashint4(g + 2000000011)) % ${AUTHORITIES} AS authority) h`,
      [from, to],
    );
    if (to % 200_000 === 0 || to === count) console.log(`  ${to} cases`);
  }
  // As autovacuum leaves a table in steady use: statistics, and the visibility map index-only scans need.
  await db.query('VACUUM ANALYZE cases');
}

function benchDeps(db: Database): CaseDeps {
  const key = randomBytes(32);
  return {
    db,
    cipher: new FieldCipher(key),
    blindIndex: new BlindIndex(key),
    clock: new LegalClock(WorkingCalendar.load()),
    catalog: new CatalogService(db),
    platform: 'bench',
    self: 'http://127.0.0.1:9',
    notify: async () => undefined,
    makeResult: async () => ({}),
    now: () => new Date(),
    log: createLogger({}, 'error'),
  };
}

/** A member of staff: acceptor, reviewer and decider at one or two authorities. */
function staffAt(n: number): Staff {
  const authorities = [`authority${n % AUTHORITIES}`, ...(n % 3 === 0 ? [`authority${(n + 37) % AUTHORITIES}`] : [])];
  return {
    index: `staff${n}`,
    grants: authorities.flatMap((authority) =>
      (['acceptor', 'reviewer', 'decider'] as const).map((role) => ({ authority, tier: 'city', role })),
    ),
  };
}

async function queueOn(engine: string, db: Database, opts: BenchOptions, count: number): Promise<Figures> {
  await migrate(db, ['common', 'services']);
  const started = performance.now();
  await generate(db, count);
  console.log(
    `${engine}: ${count} cases generated in ${((performance.now() - started) / 1000).toFixed(1)} s (today ${chinaDate(new Date())})`,
  );
  const deps = benchDeps(db);
  const filters = ['all', 'due_soon', 'overdue'] as const;
  let n = 0;
  const loop = await timedLoop(
    `${engine} queue`,
    1,
    opts.smoke ? { operationsPerSlot: 9 } : { seconds: Number(process.env.BENCH_SECONDS ?? 10) },
    async () => {
      const i = n++;
      const result = await queue(deps, staffAt(i), filters[i % filters.length]!, 50);
      if (result.cases.length === 0 && !opts.smoke) throw new Error('an empty queue');
    },
  );
  return {
    [`${engine}_cases`]: count,
    [`${engine}_queue_p50_ms`]: round(percentile(loop.latencies, 0.5)),
    [`${engine}_queue_p99_ms`]: round(percentile(loop.latencies, 0.99)),
    [`${engine}_queries`]: loop.ok,
  };
}

export async function casesBenchmark(opts: BenchOptions): Promise<Figures> {
  const count = opts.smoke ? 2_000 : Number(process.env.BENCH_CASES ?? 1_000_000);
  const figures: Figures = { target_queue_p99_ms: 50, ...(await submissions(opts)) };
  Object.assign(figures, await onEachEngine('bench_cases', (engine, db) => queueOn(engine, db, opts, count)));
  return figures;
}
