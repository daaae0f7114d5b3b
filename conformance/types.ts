/**
 * The vocabulary of the conformance suite: modules, plans, outcomes and results.
 *
 * A module checks one property of the target and names the specification clause it checks. It
 * passes by returning (optionally with evidence), fails by throwing {@link Fail}, is skipped by
 * throwing {@link Skip}, and warns by returning `{ warn }`. Anything else it throws is a failure
 * too (the message is the reason): a module can never pass by accident.
 */
import type { ConformanceContext } from './context.ts';

export type Status = 'PASS' | 'FAIL' | 'SKIP' | 'WARN';

export interface ModuleOutcome {
  /** One line a tester can check by hand: the requests made and what came back. */
  evidence?: string;
  /** Set to report WARN instead of PASS: a weakness that is not a violation of the clause. */
  warn?: string;
  /** Structured detail for the JSON report. */
  details?: Record<string, unknown>;
}

export interface ConformanceModule {
  /** `plan/module-name`, e.g. `op-config/discovery-issuer-match`. */
  name: string;
  /** The clause(s) checked, e.g. `OpenID Connect Discovery 1.0 §4.3`. */
  clause: string;
  /** What the module checks, in one sentence (docs and the JSON report). */
  title: string;
  run(ctx: ConformanceContext): Promise<ModuleOutcome | void>;
}

export interface Plan {
  name: string;
  title: string;
  modules: ConformanceModule[];
}

export interface ModuleResult {
  module: string;
  plan: string;
  clause: string;
  title: string;
  status: Status;
  /** FAIL, WARN: what is wrong. SKIP: why the module did not run. */
  reason?: string;
  evidence?: string;
  details?: Record<string, unknown>;
  started_at: string;
  duration_ms: number;
}

/** The target violates the clause. */
export class Fail extends Error {
  constructor(
    readonly reason: string,
    readonly evidence?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(reason);
    this.name = 'Fail';
  }
}

/** The module cannot run against this target or with these options; `reason` says why. */
export class Skip extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'Skip';
  }
}

/** Throws {@link Fail} unless `condition` holds. */
export function expect(condition: unknown, reason: string, evidence?: string): asserts condition {
  if (!condition) throw new Fail(reason, evidence);
}
