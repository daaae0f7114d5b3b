/**
 * A fuzz campaign: the cases a seed gives (fuzz/mutations.ts) sent to the catalogue's endpoints
 * with bounded concurrency, each answer classified. A 5xx, or a connection the server dropped
 * without answering, is a server error; no answer within the limit is a hang. For each endpoint
 * with server errors the smallest request that got one is kept as its reproducer.
 */
import fc from 'fast-check';
import type { Catalogue, Endpoint } from './endpoints.ts';
import { caseArb, materialize, type Case } from './mutations.ts';
import { foreignHosts } from './loopback-guard.ts';
import { sendRaw, type Outcome, type RawRequest } from './raw-http.ts';
import { BrowserSessions } from './browser-sessions.ts';

export interface CampaignOptions {
  catalogue: Catalogue;
  runs: number;
  seed: number;
  concurrency: number;
  /** A request unanswered this long is a hang. */
  hangMs: number;
  /** Hosts besides loopback that requests may name (a --target deployment's own). */
  allowedHosts: ReadonlySet<string>;
  onProgress?: (done: number, report: CampaignReport) => void;
}

export interface Finding {
  kind: Endpoint['kind'];
  /** The method sent (method confusion included) and the endpoint's path. */
  method: string;
  path: string;
  entities: Set<string>;
  count: number;
  /** Answer (status, `dropped` or `hang`) → how many. */
  outcomes: Map<string, number>;
  /** The smallest request that got a server error or hung here, with the entity it went to. */
  smallest: { origin: string; request: RawRequest; outcome: string };
}

export interface CampaignReport {
  requests: number;
  serverErrors: number;
  hangs: number;
  /** Cases not sent because they named a host outside the machine (the generators should make none). */
  skipped: number;
  findings: Map<string, Finding>;
  /** Requests per mutation family. */
  families: Map<Case['family'], number>;
  /** Answers by status (`hang`, `dropped` for none): how deep the cases got. */
  statuses: Map<string, number>;
  notes: string[];
  durationMs: number;
}

const size = (r: RawRequest) => r.target.length + (r.body?.length ?? 0) + r.headers.reduce((n, [k, v]) => n + k.length + v.length, 0);

function record(report: CampaignReport, endpoint: Endpoint, request: RawRequest, outcome: string) {
  const key = `${endpoint.kind} ${request.method} ${endpoint.path}`;
  let finding = report.findings.get(key);
  if (!finding) {
    finding = {
      kind: endpoint.kind,
      method: request.method,
      path: endpoint.path,
      entities: new Set(),
      count: 0,
      outcomes: new Map(),
      smallest: { origin: endpoint.origin, request, outcome },
    };
    report.findings.set(key, finding);
  }
  finding.entities.add(endpoint.entity);
  finding.count++;
  finding.outcomes.set(outcome, (finding.outcomes.get(outcome) ?? 0) + 1);
  if (size(request) < size(finding.smallest.request)) finding.smallest = { origin: endpoint.origin, request, outcome };
}

function classify(outcome: Outcome): { serverError: boolean; hang: boolean; label: string } {
  if (outcome.kind === 'hang') return { serverError: false, hang: true, label: 'hang' };
  if (outcome.kind === 'no-response') return { serverError: true, hang: false, label: `dropped (${outcome.error})` };
  return { serverError: outcome.response.status >= 500, hang: false, label: String(outcome.response.status) };
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const { catalogue } = opts;
  const report: CampaignReport = {
    requests: 0,
    serverErrors: 0,
    hangs: 0,
    skipped: 0,
    findings: new Map(),
    families: new Map(),
    statuses: new Map(),
    notes: [],
    durationMs: 0,
  };
  const sessions = new BrowserSessions(catalogue, report.notes);
  // The same seed gives the same cases in the same order.
  const cases = fc.sample(caseArb(catalogue.endpoints), { seed: opts.seed, numRuns: opts.runs });
  const started = performance.now();
  let next = 0;
  // Each kind of note once (`key`), with its first instance.
  const noted = new Set<string>();
  const note = (text: string, key = text) => {
    if (!noted.has(key)) report.notes.push(text);
    noted.add(key);
  };
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const endpoint = catalogue.endpoints[c.endpoint]!;
      const live = await sessions.for(endpoint).catch((err: Error) => {
        note(`${endpoint.entity} ${endpoint.path}: no live ${endpoint.session} (${err.message}); fuzzed without one`);
        return null;
      });
      const request = await materialize(c, endpoint, catalogue.urls, live);
      const foreign = foreignHosts(request, opts.allowedHosts, catalogue.names);
      if (foreign.length) {
        report.skipped++;
        note(`cases naming a host outside the machine were not sent, e.g. ${JSON.stringify(foreign[0])}`, 'foreign host');
        continue;
      }
      const outcome = await sendRaw(new URL(endpoint.origin), request, opts.hangMs);
      report.requests++;
      report.families.set(c.family, (report.families.get(c.family) ?? 0) + 1);
      const { serverError, hang, label } = classify(outcome);
      const status = label.startsWith('dropped') ? 'dropped' : label;
      report.statuses.set(status, (report.statuses.get(status) ?? 0) + 1);
      if (serverError) report.serverErrors++;
      if (hang) report.hangs++;
      if (serverError || hang) record(report, endpoint, request, label);
      opts.onProgress?.(report.requests, report);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** The parts of `text` between `separator`s, with the `i`th left out. */
const without = (text: string, separator: string, i: number) =>
  text
    .split(separator)
    .filter((_, j) => j !== i)
    .join(separator);

/**
 * Cuts each finding's reproducer down: drops its headers, query parameters and form fields one
 * at a time for as long as the server still answers with a server error. Hangs are left as they
 * are (each try would wait the full limit). Returns the number of requests this took.
 */
export async function shrinkFindings(report: CampaignReport, hangMs: number): Promise<number> {
  let sent = 0;
  for (const finding of report.findings.values()) {
    if (finding.smallest.outcome === 'hang') continue;
    const origin = new URL(finding.smallest.origin);
    const fails = async (r: RawRequest) => {
      sent++;
      return classify(await sendRaw(origin, r, hangMs)).serverError;
    };
    let current = finding.smallest.request;
    for (let i = current.headers.length - 1; i >= 0; i--) {
      const candidate = { ...current, headers: current.headers.filter((_, j) => j !== i) };
      if (await fails(candidate)) current = candidate;
    }
    const q = current.target.indexOf('?');
    if (q >= 0) {
      for (let i = current.target.slice(q + 1).split('&').length - 1; i >= 0; i--) {
        const query = without(current.target.slice(q + 1), '&', i);
        const candidate = { ...current, target: current.target.slice(0, q) + (query ? `?${query}` : '') };
        if (await fails(candidate)) current = candidate;
      }
    }
    const form =
      current.headers.some(([k, v]) => k.toLowerCase() === 'content-type' && v.includes('urlencoded')) && current.body?.includes('&');
    if (form) {
      for (let i = current.body!.toString('latin1').split('&').length - 1; i >= 0; i--) {
        const candidate = { ...current, body: Buffer.from(without(current.body!.toString('latin1'), '&', i), 'latin1') };
        if (await fails(candidate)) current = candidate;
      }
    }
    finding.smallest = { ...finding.smallest, request: current };
  }
  return sent;
}

function utf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** A request as a reader can replay it: the session cookie elided, long parts cut, every byte visible. */
export function describeRequest(origin: string, r: RawRequest): string {
  const cut = (s: string, n = 240) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
  const show = (s: string) => JSON.stringify(cut(s)).slice(1, -1);
  const lines = [`${show(r.method)} ${origin}${show(r.target)}`];
  // Session cookies are the harness's own browser state: replaying needs a fresh one anyway.
  for (const [k, v] of r.headers)
    lines.push(`  ${show(k)}: ${show(k.toLowerCase() === 'cookie' ? v.replace(/=[\w.-]{20,}/g, '=<live>') : v)}`);
  if (r.body !== undefined)
    lines.push(
      `  body (${r.body.length} bytes${utf8(r.body) === null ? ', shown as latin1' : ''}): ${show(utf8(r.body) ?? r.body.toString('latin1'))}`,
    );
  return lines.join('\n');
}

/** The summary: per endpoint with server errors or hangs, what was seen and its smallest reproducer. */
export function summarize(report: CampaignReport): string[] {
  const out: string[] = [];
  const findings = [...report.findings.values()].sort((a, b) => b.count - a.count);
  for (const f of findings) {
    const outcomes = [...f.outcomes].map(([k, n]) => `${k} ×${n}`).join(', ');
    out.push(`${f.kind} ${f.method} ${f.path}: ${f.count} (${outcomes}) at ${[...f.entities].sort().join(', ')}`);
    out.push(describeRequest(f.smallest.origin, f.smallest.request).replace(/^/gm, '    '));
  }
  return out;
}
