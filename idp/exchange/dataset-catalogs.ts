/**
 * The dataset catalogs of the federation's data-sharing nodes, as the OP reads them: to check an
 * authorization detail (the dataset exists at the holding node, the attributes are among its own,
 * the purpose is one it may be shared for) and to name all of it on the consent page in the
 * person's language. Only a node of the federation (a resource server whose trust chain validates)
 * is asked; an answer is kept five minutes.
 */
import { datasetCatalog, type DatasetCatalog } from '../../infra/data-access-detail.ts';
import type { TrustedResources } from '../../federation/trusted-resources.ts';

const KEEP_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 5_000;

export class CatalogUnavailable extends Error {
  constructor(node: string, reason: string) {
    super(`the dataset catalog of ${node} cannot be read: ${reason}`);
    this.name = 'CatalogUnavailable';
  }
}

export class DatasetCatalogs {
  private readonly kept = new Map<string, { catalog: Promise<DatasetCatalog>; until: number }>();

  constructor(private readonly resources: TrustedResources) {}

  /** The node's catalog; throws CatalogUnavailable (no node of the federation, or no usable answer). */
  async of(node: string): Promise<DatasetCatalog> {
    const hit = this.kept.get(node);
    if (hit && hit.until > Date.now()) return hit.catalog;
    const catalog = this.load(node);
    this.kept.set(node, { catalog, until: Date.now() + KEEP_MS });
    catalog.catch(() => this.kept.delete(node));
    return catalog;
  }

  private async load(node: string): Promise<DatasetCatalog> {
    if (!(await this.resources.isResource(node))) throw new CatalogUnavailable(node, 'it is no data-sharing node of the federation');
    let json: unknown;
    try {
      const res = await fetch(`${node}/exchange/datasets`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
      if (!res.ok) throw new Error(`status ${res.status}`);
      json = await res.json();
    } catch (err) {
      throw new CatalogUnavailable(node, (err as Error).message);
    }
    const parsed = datasetCatalog.safeParse(json);
    if (!parsed.success || parsed.data.node !== node) throw new CatalogUnavailable(node, 'the answer is not its catalog');
    return parsed.data;
  }
}
