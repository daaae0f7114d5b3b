/**
 * Catalog feeds on demand, for tests: each named services entity pulls the feed of the platform
 * above it now (`POST /admin/catalog/feed/pull`), in the order given — superiors first, so that
 * what national holds reaches a city through its province.
 */
import { loadMasterKey } from '../../infra/crypto.ts';
import { adminTokenFor } from '../../infra/entity-runtime.ts';
import type { TestFederation } from './test-federation.ts';

export interface Pulled {
  source: string;
  after: number;
  applied: number;
  propagated: { id: string; item_code: string; version: number; state: string; flags: string[] }[];
  skipped: string[];
}

export async function pullCatalogFeed(fed: TestFederation, servicesId: string): Promise<Pulled> {
  const url = fed.url(servicesId);
  const res = await fetch(`${url}/admin/catalog/feed/pull`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminTokenFor(loadMasterKey(fed.config.dataDir), url)}` },
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${servicesId} could not pull its feed: ${res.status} ${JSON.stringify(body)}`);
  return body as Pulled;
}

/** Pulls at each entity in turn; what each applied. */
export async function pullCatalogFeeds(fed: TestFederation, servicesIds: string[]): Promise<Pulled[]> {
  const pulled: Pulled[] = [];
  for (const id of servicesIds) pulled.push(await pullCatalogFeed(fed, id));
  return pulled;
}
