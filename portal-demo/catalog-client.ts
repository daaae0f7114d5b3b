/**
 * The portal's reader of the service catalog: the services entity's public catalog API
 * (docs/catalog.md), over HTTP only. A refusal of the API comes back as a CatalogRefusal (its
 * status and error code); an API that cannot be reached or answers nonsense as CatalogUnavailable.
 */

type Label = { 'zh-CN': string; en: string };

export interface ItemFacets {
  tier: string[];
  authority: string;
  department: string;
  topics: string[];
  life_events: string[];
  user_type: string[];
  level: string;
  /** The platform that handles the item, and its authority's region (absent on versions published before platforms had catalogs). */
  platform?: string;
  region?: string;
}

export interface ItemSummary {
  code: string;
  name: string;
  facets: ItemFacets;
}

export interface GuideSection {
  key: string;
  label: Label;
  value: unknown;
}

export interface Guide {
  code: string;
  /** The platform that handles the item. */
  platform?: string;
  version: number;
  title: string;
  sections: GuideSection[];
}

export type BrowseCounts = Record<string, Record<string, number>>;

export interface Narrowing {
  candidates: { code: string; name: string }[];
  question: { key: string; text: Label; options: { value: string; label?: string; count: number }[] } | null;
}

/** The facet filters the catalog lists by (docs/catalog.md, "HTTP API"). */
export const FACET_FILTERS = [
  'tier',
  'user_type',
  'topic',
  'life_event',
  'department',
  'authority',
  'level',
  'region',
  'platform',
] as const;
export type FacetFilters = Partial<Record<(typeof FACET_FILTERS)[number], string>>;

export class CatalogRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class CatalogUnavailable extends Error {}

const TIMEOUT_MS = 10_000;

export class CatalogClient {
  constructor(private readonly baseUrl: string) {}

  private async get<T>(path: string, params: Record<string, string | undefined> = {}): Promise<T> {
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
    } catch (err) {
      throw new CatalogUnavailable(`the catalog at ${this.baseUrl} cannot be reached: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.status >= 400 && res.status < 500) {
      throw new CatalogRefusal(res.status, String(body?.error ?? 'invalid_request'), String(body?.error_description ?? ''));
    }
    if (!res.ok || !body) throw new CatalogUnavailable(`the catalog answered ${res.status}`);
    return body as T;
  }

  async search(q: string, filters: FacetFilters, limit: number): Promise<ItemSummary[]> {
    return (await this.get<{ results: ItemSummary[] }>('/catalog/search', { q, ...filters, limit: String(limit) })).results;
  }

  async list(filters: FacetFilters, limit: number): Promise<ItemSummary[]> {
    return (await this.get<{ items: ItemSummary[] }>('/catalog/items', { ...filters, limit: String(limit) })).items;
  }

  guide(code: string): Promise<Guide> {
    return this.get<Guide>(`/catalog/items/${encodeURIComponent(code)}/guide`);
  }

  browse(): Promise<BrowseCounts> {
    return this.get<BrowseCounts>('/catalog/browse');
  }

  narrow(q: string | undefined, filters: FacetFilters, code: string | undefined): Promise<Narrowing> {
    return this.get<Narrowing>('/catalog/narrow', { q, ...filters, code });
  }
}
