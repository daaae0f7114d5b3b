/**
 * The fuzz harness: `npm run fuzz -- [--runs N] [--seed S] [--concurrency C] [--target URL]`.
 *
 * Without --target it starts the whole demo federation in this process (free loopback ports,
 * embedded defaults) and reads its memory before and after. With --target it fuzzes a running
 * deployment: the federation is walked from that entity, requests go to its hosts and loopback
 * only, and the server's memory cannot be read from here.
 *
 * Prints, per endpoint with server errors or hangs, the count and its smallest reproducer, then
 * the line `N requests, N server errors, N hangs`; exits 1 on any 5xx, dropped connection,
 * crash or hang (> 10 s).
 */
import { parseArgs } from 'node:util';
import { discoverCatalogue, walkFederation } from './endpoints.ts';
import { runCampaign, shrinkFindings, summarize } from './campaign.ts';
import { startLocalFederation, type LocalFederation } from './local-federation.ts';

const HANG_MS = 10_000;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    target: { type: 'string' },
  },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed) || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('usage: npm run fuzz -- [--runs N] [--seed S] [--concurrency C] [--target URL]');
  process.exit(2);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
// With --expose-gc (as `npm run fuzz` runs it) the heap is collected first, so heap used is what stays.
const gc = (globalThis as { gc?: () => void }).gc;
const memory = () => {
  gc?.();
  const m = process.memoryUsage();
  return `rss ${mib(m.rss)}, heap used ${mib(m.heapUsed)}, external ${mib(m.external)}`;
};

// In-process, a server crash is an uncaught exception here: counted and shown at once, not fatal, so the run can say where.
const crashes: string[] = [];
const crashed = (what: string) => (err: unknown) => {
  const text = `${what}: ${(err as Error)?.stack ?? String(err)}`;
  console.error(text);
  crashes.push(text);
};

async function main(): Promise<number> {
  let local: LocalFederation | null = null;
  let entities: { url: string; label: string }[];
  let allowedHosts = new Set<string>();
  if (values.target) {
    const target = new URL(values.target);
    allowedHosts = new Set([target.hostname.toLowerCase()]);
    const allowed = (url: string) => {
      const host = new URL(url).hostname.toLowerCase();
      return allowedHosts.has(host) || /^(127\.|localhost$|\[::1\]$)/.test(host);
    };
    entities = (await walkFederation(target.origin, allowed)).map((url) => ({ url, label: new URL(url).host }));
  } else {
    process.on('uncaughtException', crashed('uncaught exception'));
    process.on('unhandledRejection', crashed('unhandled rejection'));
    local = await startLocalFederation();
    entities = local.entities;
  }
  try {
    const catalogue = await discoverCatalogue(entities);
    const byKind = (k: string) => catalogue.entities.filter((e) => e.kind === k).length;
    console.log(
      `fuzzing ${values.target ?? 'the demo federation in this process'}: seed ${seed}, ${runs} runs, concurrency ${concurrency}`,
    );
    console.log(
      `${catalogue.entities.length} entities (${byKind('op')} OPs, ${byKind('portal')} portals, ${byKind('services')} services), ${catalogue.endpoints.length} endpoints`,
    );
    const memoryBefore = local ? memory() : null;
    const step = Math.max(1000, Math.round(runs / 20));
    const report = await runCampaign({
      catalogue,
      runs,
      seed,
      concurrency,
      hangMs: HANG_MS,
      allowedHosts,
      onProgress: (done, r) => {
        if (done % step === 0) console.error(`… ${done}/${runs} requests, ${r.serverErrors} server errors, ${r.hangs} hangs`);
      },
    });
    const shrinking = await shrinkFindings(report, HANG_MS);
    for (const line of summarize(report)) console.log(line);
    if (shrinking) console.log(`(reproducers cut down with ${shrinking} more requests, not counted below)`);
    for (const crash of crashes) console.log(crash);
    for (const note of report.notes) console.log(`note: ${note}`);
    console.log(
      `mutation families: ${[...report.families].map(([k, n]) => `${k} ${n}`).join(', ')}${report.skipped ? `; ${report.skipped} cases not sent (loopback only)` : ''}`,
    );
    console.log(
      `answers: ${[...report.statuses]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ')}`,
    );
    console.log(`duration ${(report.durationMs / 1000).toFixed(1)} s`);
    console.log(
      local
        ? `server memory${gc ? ' (after a full GC)' : ''}: before ${memoryBefore}; after ${memory()}`
        : 'server memory: not measured (the federation runs elsewhere: --target)',
    );
    const serverErrors = report.serverErrors + crashes.length;
    console.log(`${report.requests} requests, ${serverErrors} server errors, ${report.hangs} hangs`);
    return serverErrors || report.hangs ? 1 : 0;
  } finally {
    await local?.close();
  }
}

// A run that stops before its last line (the harness's own failure, or nothing left to wait on) fails.
let finished = false;
process.on('exit', (code) => {
  if (!finished && code === 0) {
    console.error('the fuzz run stopped before it finished');
    process.exitCode = 1;
  }
});
main().then(
  (code) => {
    finished = true;
    process.exitCode = code;
  },
  (err: unknown) => {
    finished = true;
    console.error('the fuzz harness failed:', err);
    process.exitCode = 1;
  },
);
