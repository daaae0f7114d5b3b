/**
 * The HTTP StatementFetcher (OpenID Federation 1.0 §8.1.1, §9): GET of entity configurations and
 * subordinate statements, no redirects, the entity-statement media type, a size bound.
 */
import { ResponseTooLarge } from './address-policy.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import { entityConfigurationLabel, subordinateStatementLabel, TrustChainError } from './federation-errors.ts';
import { entityConfigurationUrl, fetchStatementUrl } from './trust-chain-resolve.ts';
import type { StatementFetcher } from './trust-chain-types.ts';

const ENTITY_STATEMENT_MEDIA_TYPE = 'application/entity-statement+jwt';

/** One GET of a statement: the status, the media type (lower case, no parameters) and the body read up to `maxBytes` (else ResponseTooLarge). */
export type StatementTransport = (
  url: string,
  opts: { accept: string; maxBytes: number; signal?: AbortSignal },
) => Promise<{ status: number; contentType: string; body: string }>;

/** The transport of tools run by an operator (the CLI, the conformance suite): the global fetch, no redirects. */
const fetchTransport: StatementTransport = async (url, { accept, maxBytes, signal }) => {
  const res = await fetch(url, { redirect: 'error', headers: { accept }, ...(signal ? { signal } : {}) });
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (res.status !== 200) {
    await res.body?.cancel();
    return { status: res.status, contentType, body: '' };
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ResponseTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return { status: res.status, contentType, body: Buffer.concat(chunks).toString('utf8') };
};

/**
 * A StatementFetcher over HTTP (§8.1.1, §9): GET with no redirects, 200 with content type
 * application/entity-statement+jwt required, body read up to `maxBytes`. A running entity passes
 * the transport of its fetch policy (federation/fetch-policy.ts).
 */
export function httpStatementFetcher(opts: { maxBytes?: number; transport?: StatementTransport } = {}): StatementFetcher {
  const maxBytes = opts.maxBytes ?? FEDERATION_DEFAULTS.statementMaxBytes;
  const transport = opts.transport ?? fetchTransport;
  const get = async (url: string, label: string, signal?: AbortSignal): Promise<string> => {
    let res;
    try {
      res = await transport(url, { accept: ENTITY_STATEMENT_MEDIA_TYPE, maxBytes, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (err instanceof ResponseTooLarge) throw new TrustChainError(label, 'too_large', err.message, { url });
      throw err;
    }
    if (res.status !== 200) throw new TrustChainError(label, 'fetch_failed', `HTTP ${res.status}`, { url, httpStatus: res.status });
    if (res.contentType !== ENTITY_STATEMENT_MEDIA_TYPE) {
      throw new TrustChainError(
        label,
        'fetch_failed',
        `content type ${res.contentType || 'missing'}, expected ${ENTITY_STATEMENT_MEDIA_TYPE}`,
        { url },
      );
    }
    return res.body;
  };
  return {
    entityConfiguration: (entityId, signal) => get(entityConfigurationUrl(entityId), entityConfigurationLabel(entityId), signal),
    subordinateStatement: (endpoint, issuer, subject, signal) =>
      get(fetchStatementUrl(endpoint, subject), subordinateStatementLabel(issuer, subject), signal),
  };
}
