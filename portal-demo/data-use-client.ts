/**
 * The portal's reader of the person's data use (数据使用记录), over HTTP only: its platform's
 * data-sharing node, called with the access token the person's OP gave the portal for it at
 * sign-in, answers the accesses to the person's data logged at every node, and relays their
 * consents (and a revocation) to the OP that holds them. Dataset, attribute and purpose names come
 * from the holding nodes' public catalogs, kept five minutes.
 */
import { z } from 'zod';
import { datasetCatalog, type DatasetCatalog } from '../infra/data-access-detail.ts';

const TIMEOUT_MS = 15_000;
const KEEP_MS = 5 * 60_000;

const access = z.object({
  request_id: z.string(),
  at: z.string(),
  requester: z.string(),
  holder: z.string(),
  dataset: z.string(),
  attributes: z.array(z.string()),
  purpose: z.string(),
  item: z.string().nullable(),
  case: z.string().nullable(),
  result: z.enum(['served', 'refused']),
  reason: z.string().nullable(),
  logged_by: z.array(z.string()),
});
const accesses = z.object({ accesses: z.array(access), unavailable: z.array(z.string()) });
const consent = z.object({
  id: z.string(),
  detail: z.object({
    locations: z.array(z.string()),
    requester: z.string(),
    dataset: z.string(),
    attributes: z.array(z.string()),
    purpose: z.string(),
    item: z.string().optional(),
    case: z.string().optional(),
  }),
  mode: z.enum(['once', 'period']),
  status: z.enum(['active', 'used', 'revoked', 'expired']),
  for_organization: z.boolean(),
  created_at: z.string(),
  expires_at: z.string(),
});
const consents = z.object({ issuer: z.string(), consents: z.array(consent) });

export type PersonAccess = z.infer<typeof access>;
export type PersonAccesses = z.infer<typeof accesses>;
export type PersonConsent = z.infer<typeof consent>;

/** The node refused (its status and error code: an expired token is 401). */
export class DataUseRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`the data-sharing node refused: ${status} ${code}`);
  }
}

export class DataUseUnavailable extends Error {}

export class DataUseClient {
  private readonly catalogs = new Map<string, { catalog: Promise<DatasetCatalog | null>; until: number }>();

  constructor(private readonly nodeUrl: string) {}

  private async call<T>(schema: z.ZodType<T>, token: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.nodeUrl + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new DataUseUnavailable(`${this.nodeUrl} cannot be reached: ${(err as Error).message}`);
    }
    const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.status >= 400 && res.status < 500) throw new DataUseRefusal(res.status, String(json?.error ?? 'invalid_request'));
    const parsed = schema.safeParse(json);
    if (!res.ok || !parsed.success) throw new DataUseUnavailable(`${this.nodeUrl} answered ${res.status}`);
    return parsed.data;
  }

  accesses(token: string): Promise<PersonAccesses> {
    return this.call(accesses, token, '/exchange/my/accesses');
  }

  consents(token: string): Promise<PersonConsent[]> {
    return this.call(consents, token, '/exchange/my/consents').then((c) => c.consents);
  }

  async revoke(token: string, id: string): Promise<void> {
    await this.call(z.object({ status: z.literal('revoked') }), token, '/exchange/my/consents/revoke', { consent: id });
  }

  /** A holding node's catalog, or null when it cannot be read now (the page then shows codes). */
  catalog(node: string): Promise<DatasetCatalog | null> {
    const hit = this.catalogs.get(node);
    if (hit && hit.until > Date.now()) return hit.catalog;
    const catalog = fetch(`${node}/exchange/datasets`, { signal: AbortSignal.timeout(TIMEOUT_MS) })
      .then(async (res) => {
        const parsed = datasetCatalog.safeParse(await res.json());
        return res.ok && parsed.success ? parsed.data : null;
      })
      .catch(() => null)
      .then((found) => {
        // Only an answer is kept: a node that could not be read is asked again next time.
        if (!found) this.catalogs.delete(node);
        return found;
      });
    this.catalogs.set(node, { catalog, until: Date.now() + KEEP_MS });
    return catalog;
  }
}
