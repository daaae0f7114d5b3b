/**
 * The portal's client of its platform's cases API (docs/cases.md): as the signed-in person, with
 * the access token their OP issued for the services entity, or as anyone (progress by number).
 * A refusal keeps the API's error code, which the pages turn into a sentence.
 */
const TIMEOUT_MS = 15_000;

export class CaseRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly details: Record<string, unknown>,
  ) {
    super(`${status} ${code}: ${description}`);
  }
}

export class CasesUnavailable extends Error {}

export type Json = Record<string, unknown>;

export interface CaseLine {
  number: string;
  item: { code: string; name: string };
  state: string;
  outcome: string | null;
  received_at: string;
  clock_phase: string | null;
  due_on: string | null;
  flag: string | null;
}

export interface StepView {
  state: string;
  event: string | null;
  started_at: string;
  ended_at: string | null;
  duration_seconds: number | null;
  working_days: number;
  deadline: string | null;
  actor_role: string | null;
  authority_name: string | null;
  note?: Record<string, unknown>;
}

export interface ClockReading {
  due: string | null;
  remaining: number;
  status: string;
}

export interface CaseView {
  number: string;
  item: { code: string; version: number; name: string };
  authority_name: string;
  state: string;
  outcome: string | null;
  outcome_reasons?: string | null;
  received_at: string;
  deemed_accepted: boolean;
  limits: { legal_days: number; promised_days: number; extension_days: number };
  clock: { phase: string; promised: ClockReading; legal: ClockReading } | null;
  suspensions: { kind: string; from: string; to: string | null; missing?: { slot?: number; name: string; reason: string }[] }[];
  opinions?: {
    authority: string;
    authority_name: string;
    due_on: string;
    given_at: string | null;
    overdue: boolean;
    opinion?: string;
    reason?: string;
  }[];
  timeline: StepView[];
  materials?: {
    id: string;
    slot: number | null;
    name: string | null;
    round: number;
    source: string;
    size: number | null;
    digest: string | null;
  }[];
  notices?: { kind: string; text: string; created_at: string }[];
  accesses?: { at: string; event: string; role: string | null }[];
  result?: Json | null;
  delivery?: string;
  applicant?: { name: string; id_number: string; phone: string | null };
  actions?: string[];
  joint?: boolean;
  item_materials?: string[];
}

export interface SupervisionRow {
  authority: string;
  item_code: string;
  item_name: string;
  received: number;
  closed: number;
  open: number;
  overdue_open: number;
  decided: number;
  decided_late: number;
  average_decision_days: number | null;
  promised_days: number;
}

export interface ItemForm {
  code: string;
  version: number;
  item: {
    name: string;
    min_loa: string;
    user_type: string;
    delivery: string[];
    materials: { name: string; source: { channel: string; license_type?: string; authority?: string } }[];
  };
}

export class CaseClient {
  constructor(private readonly baseUrl: string) {}

  private async call<T>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: { type: string; content: Buffer }; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: BodyInit | undefined;
    if (opts.raw) {
      headers['content-type'] = opts.raw.type;
      body = new Uint8Array(opts.raw.content);
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), { method, headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw new CasesUnavailable(`the cases API at ${this.baseUrl} cannot be reached: ${(err as Error).message}`);
    }
    const json = (await res.json().catch(() => null)) as Json | null;
    if (res.status >= 400 && res.status < 500) {
      const { error, error_description, ...details } = json ?? {};
      throw new CaseRefusal(res.status, String(error ?? 'invalid_request'), String(error_description ?? ''), details);
    }
    if (!res.ok || !json) throw new CasesUnavailable(`the cases API answered ${res.status}`);
    return json as T;
  }

  item(code: string): Promise<ItemForm> {
    return this.call('GET', `/catalog/items/${encodeURIComponent(code)}`);
  }

  upload(token: string, type: string, content: Buffer): Promise<{ upload_id: string }> {
    return this.call('POST', '/cases/uploads', { token, raw: { type, content } });
  }

  apply(token: string, key: string, body: Json): Promise<Json> {
    return this.call('POST', '/cases', { token, body, headers: { 'idempotency-key': key } });
  }

  async mine(token: string): Promise<CaseLine[]> {
    return (await this.call<{ cases: CaseLine[] }>('GET', '/cases/mine', { token })).cases;
  }

  caseOf(token: string, number: string): Promise<CaseView> {
    return this.call('GET', `/cases/${encodeURIComponent(number)}`, { token });
  }

  applicantAction(token: string, number: string, action: 'supply' | 'withdraw', body: Json): Promise<CaseView> {
    return this.call('POST', `/cases/${encodeURIComponent(number)}/${action}`, { token, body });
  }

  lookup(body: Json): Promise<CaseView> {
    return this.call('POST', '/cases/lookup', { body });
  }

  queue(
    token: string,
    status: string,
  ): Promise<{
    today: string;
    cases: CaseLine[];
    opinions: { number: string; item_name: string; authority: string; due_on: string; flag: string | null }[];
  }> {
    return this.call('GET', `/staff/queue?status=${encodeURIComponent(status)}`, { token });
  }

  supervision(token: string): Promise<{ today: string; items: SupervisionRow[] }> {
    return this.call('GET', '/staff/supervision', { token });
  }

  staffCase(token: string, number: string): Promise<CaseView> {
    return this.call('GET', `/staff/cases/${encodeURIComponent(number)}`, { token });
  }

  staffAction(token: string, number: string, action: string, body: Json): Promise<CaseView> {
    return this.call('POST', `/staff/cases/${encodeURIComponent(number)}/${encodeURIComponent(action)}`, { token, body });
  }

  /** An uploaded material, as staff read it. */
  async material(token: string, number: string, id: string): Promise<{ type: string; content: Buffer }> {
    let res: Response;
    try {
      res = await fetch(new URL(`/staff/cases/${encodeURIComponent(number)}/materials/${encodeURIComponent(id)}`, this.baseUrl), {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new CasesUnavailable(`the cases API cannot be reached: ${(err as Error).message}`);
    }
    if (!res.ok) {
      const json = (await res.json().catch(() => ({}))) as Json;
      throw new CaseRefusal(res.status, String(json.error ?? 'invalid_request'), String(json.error_description ?? ''), {});
    }
    return { type: res.headers.get('content-type') ?? 'application/octet-stream', content: Buffer.from(await res.arrayBuffer()) };
  }
}
