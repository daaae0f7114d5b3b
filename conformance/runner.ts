/**
 * Runs plans against a target, one module after another (modules share the test user's session,
 * and the login limits of the target are shared too, so nothing runs in parallel), and turns
 * each module's outcome into a result line.
 */
import { ConformanceContext, type TargetConfig } from './context.ts';
import { NetworkError } from './http.ts';
import { LoginError } from './login-driver.ts';
import { Fail, Skip, type ModuleResult, type Plan } from './types.ts';

export interface RunOptions {
  /** Only modules whose name is listed, or whose name ends with one listed (e.g. `pkce-plain-refused`). */
  modules?: string[];
  /** Called with each result as soon as it is known (the command prints it). */
  onResult?: (result: ModuleResult) => void;
  /** Longest a module may take, in milliseconds (default 120 s, plus the code lifetime wait with --slow). */
  moduleTimeoutMs?: number;
}

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  warnings: number;
}

export interface Run {
  results: ModuleResult[];
  summary: RunSummary;
  startedAt: string;
  durationMs: number;
}

class ModuleTimeout extends Error {}

function wanted(name: string, filter: string[] | undefined): boolean {
  if (!filter || filter.length === 0) return true;
  return filter.some((f) => name === f || name.endsWith(`/${f}`) || name.startsWith(`${f}/`));
}

export async function runPlans(plans: Plan[], config: TargetConfig, opts: RunOptions = {}): Promise<Run> {
  const ctx = new ConformanceContext(config);
  const results: ModuleResult[] = [];
  const started = Date.now();
  const timeoutMs = opts.moduleTimeoutMs ?? 120_000 + (config.slow ? (config.maxCodeTtlSeconds + 5) * 1000 : 0);
  for (const plan of plans) {
    for (const mod of plan.modules) {
      if (!wanted(mod.name, opts.modules)) continue;
      ctx.currentModule = mod.name;
      const t0 = Date.now();
      const base = { module: mod.name, plan: plan.name, clause: mod.clause, title: mod.title, started_at: new Date(t0).toISOString() };
      let result: ModuleResult;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const outcome = await Promise.race([
          mod.run(ctx),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new ModuleTimeout(`the module did not finish within ${Math.round(timeoutMs / 1000)} s`)),
              timeoutMs,
            );
          }),
        ]);
        const o = outcome ?? {};
        result = {
          ...base,
          status: o.warn ? 'WARN' : 'PASS',
          ...(o.warn ? { reason: o.warn } : {}),
          ...(o.evidence ? { evidence: o.evidence } : {}),
          ...(o.details ? { details: o.details } : {}),
          duration_ms: Date.now() - t0,
        };
      } catch (err) {
        result = { ...base, ...failure(err), duration_ms: Date.now() - t0 };
      } finally {
        clearTimeout(timer);
      }
      results.push(result);
      opts.onResult?.(result);
    }
  }
  return { results, summary: summarize(results), startedAt: new Date(started).toISOString(), durationMs: Date.now() - started };
}

function failure(err: unknown): Pick<ModuleResult, 'status' | 'reason' | 'evidence' | 'details'> {
  if (err instanceof Skip) return { status: 'SKIP', reason: err.reason };
  if (err instanceof Fail)
    return {
      status: 'FAIL',
      reason: err.reason,
      ...(err.evidence ? { evidence: err.evidence } : {}),
      ...(err.details ? { details: err.details } : {}),
    };
  if (err instanceof LoginError) return { status: 'FAIL', reason: `the login could not be completed: ${err.message}` };
  if (err instanceof NetworkError || err instanceof ModuleTimeout) return { status: 'FAIL', reason: err.message };
  // A bug in a module or an unexpected answer: never a pass.
  return {
    status: 'FAIL',
    reason: `unexpected error: ${(err as Error)?.message ?? String(err)}`,
    evidence: (err as Error)?.stack?.split('\n').slice(1, 3).join(' ').trim(),
  };
}

export function summarize(results: ModuleResult[]): RunSummary {
  const count = (s: ModuleResult['status']) => results.filter((r) => r.status === s).length;
  return { passed: count('PASS'), failed: count('FAIL'), skipped: count('SKIP'), warnings: count('WARN') };
}

/** The line printed for a result. */
export function formatResult(r: ModuleResult): string {
  const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
  switch (r.status) {
    case 'PASS':
      return `PASS ${r.module} (${r.clause})`;
    case 'SKIP':
      return `SKIP ${r.module}: ${oneLine(r.reason ?? '')}`;
    case 'FAIL':
    case 'WARN':
      return `${r.status} ${r.module} (${r.clause}): ${oneLine(r.reason ?? '')}${r.evidence ? ` — ${oneLine(r.evidence)}` : ''}`;
  }
}

/** `N passed, N failed, N skipped, N warnings`. */
export function formatSummary(s: RunSummary): string {
  return `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped, ${s.warnings} warnings`;
}
