/**
 * Calls to a services entity's cases API as the portal, staff, anyone and the admin make them
 * (the demo story's calls, cli/demo-story/cases-calls.ts), with access tokens from real OP logins
 * (service-tokens.ts). Free of the test runner (bench/ uses it).
 */
import { callAdmin } from '../../infra/admin-client.ts';
import type { FederationAddresses, Person } from './flows.ts';
import { serviceToken } from './service-tokens.ts';
import { call, pdf, upload, type CallOptions, type Reply } from '../../cli/demo-story/cases-calls.ts';

export type { Reply };

export interface CasesApi {
  base: string;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  upload(token: string, content: Buffer, type?: string): Promise<Reply>;
  grant(idNumber: string, authority: string, role: string): Promise<unknown>;
}

export { pdf };

export function casesApi(fed: FederationAddresses, services: string): CasesApi {
  const base = fed.url(services);
  return {
    base,
    call: (method, path, opts) => call(base, method, path, opts),
    upload: (token, content, type) => upload(base, token, content, type),
    grant: (idNumber, authority, role) =>
      callAdmin(fed.topology.get(services), fed.config.dataDir, 'POST', '/admin/staff/grants', { id_number: idNumber, authority, role }),
  };
}

/** A person logged in at `op` with a token for the services entity. */
export async function personWithToken(fed: FederationAddresses, op: string, services: string, person?: Person) {
  const { accessToken, person: p } = await serviceToken(fed, { op, resource: fed.url(services), ...(person ? { person } : {}) });
  return { token: accessToken, person: p };
}
