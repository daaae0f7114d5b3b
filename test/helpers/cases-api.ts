/**
 * Calls to a services entity's cases API as the portal, staff, anyone and the admin make them,
 * with access tokens from real OP logins (service-tokens.ts). Free of the test runner (bench/ and
 * the demo story use the same calls).
 */
import { callAdmin } from '../../infra/admin-client.ts';
import type { FederationAddresses, Person } from './flows.ts';
import { serviceToken } from './service-tokens.ts';

export interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

export interface CasesApi {
  base: string;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Reply>;
  upload(token: string, content: Buffer, type?: string): Promise<Reply>;
  grant(idNumber: string, authority: string, role: string): Promise<unknown>;
}

/** A one-page PDF's first bytes are all the type check looks at; the rest is what a person scanned. */
export function pdf(text = 'material'): Buffer {
  return Buffer.from(`%PDF-1.4\n% ${text}\n%%EOF\n`);
}

export function casesApi(fed: FederationAddresses, services: string): CasesApi {
  const base = fed.url(services);
  const call: CasesApi['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { text };
    }
    return { status: res.status, headers: res.headers, json };
  };
  return {
    base,
    call,
    async upload(token, content, type = 'application/pdf') {
      const res = await fetch(`${base}/cases/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        body: new Uint8Array(content),
      });
      return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
    },
    grant: (idNumber, authority, role) =>
      callAdmin(fed.topology.get(services), fed.config.dataDir, 'POST', '/admin/staff/grants', { id_number: idNumber, authority, role }),
  };
}

/** A person logged in at `op` with a token for the services entity. */
export async function personWithToken(fed: FederationAddresses, op: string, services: string, person?: Person) {
  const { accessToken, person: p } = await serviceToken(fed, { op, resource: fed.url(services), ...(person ? { person } : {}) });
  return { token: accessToken, person: p };
}
