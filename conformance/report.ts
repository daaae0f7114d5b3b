/**
 * The JSON report (`--report FILE`): the target, the options that matter, every module's result
 * with its clause, evidence and timing, and the summary. No secret (client secret, password,
 * token) is written: evidence masks them, and the options are listed without them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TargetConfig } from './context.ts';
import type { Run } from './runner.ts';
import type { Plan } from './types.ts';

export const REPORT_FORMAT = 'gov-id-conformance-report/1';

export interface Report {
  format: typeof REPORT_FORMAT;
  tool: string;
  target: {
    issuer: string;
    entity_id: string;
    trust_anchor: string | null;
    client_id: string | null;
    par_client_id: string | null;
    jwt_client_id: string | null;
    test_user: string | null;
    lockout_user: string | null;
    /** The recognition plan's person and their home OP. */
    home: string | null;
    home_user: string | null;
  };
  options: { plans: string[]; modules: string[] | null; slow: boolean; max_code_ttl: number; registered: boolean };
  started_at: string;
  finished_at: string;
  duration_ms: number;
  summary: Run['summary'];
  /** true when no module failed (the command's exit status is 0). */
  ok: boolean;
  results: Run['results'];
}

/** Shows enough of a user name to recognize it, never all of it. */
export function maskUser(name: string): string {
  return name.length <= 6 ? `${name.slice(0, 1)}***` : `${name.slice(0, 3)}***${name.slice(-2)}`;
}

export function buildReport(run: Run, config: TargetConfig, plans: Plan[], extra: { modules?: string[]; registered: boolean }): Report {
  return {
    format: REPORT_FORMAT,
    tool: 'gov-id conformance',
    target: {
      issuer: config.issuer,
      entity_id: config.entityId,
      trust_anchor: config.trustAnchor ?? null,
      client_id: config.client?.clientId ?? null,
      par_client_id: config.parClient?.clientId ?? null,
      jwt_client_id: config.jwtClient?.clientId ?? null,
      test_user: config.user ? maskUser(config.user.username) : null,
      lockout_user: config.lockoutUser ? maskUser(config.lockoutUser.username) : null,
      home: config.home?.issuer ?? null,
      home_user: config.home ? maskUser(config.home.user.username) : null,
    },
    options: {
      plans: plans.map((p) => p.name),
      modules: extra.modules?.length ? extra.modules : null,
      slow: config.slow,
      max_code_ttl: config.maxCodeTtlSeconds,
      registered: extra.registered,
    },
    started_at: run.startedAt,
    finished_at: new Date(Date.parse(run.startedAt) + run.durationMs).toISOString(),
    duration_ms: run.durationMs,
    summary: run.summary,
    ok: run.summary.failed === 0,
    results: run.results,
  };
}

export function writeReport(file: string, report: Report): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
