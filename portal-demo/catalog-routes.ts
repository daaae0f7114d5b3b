/**
 * The portal's catalog pages: `GET /search?q=` (我要查), `GET /browse?FACET=VALUE`, `GET /items/:code`
 * (the guide), `GET /narrow` (我要办, answers as query parameters). Input the catalog would refuse
 * is refused here first with a page that says what is wrong; a query too long for a URL to the
 * catalog never leaves the portal.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { CatalogRefusal, CatalogUnavailable, FACET_FILTERS, type CatalogClient, type FacetFilters } from './catalog-client.ts';
import type { MessageKey } from './i18n.ts';
import { browsePage, guidePage, narrowPage, searchResultsPage, type CatalogPageContext } from './views/catalog-pages.ts';

/** The catalog's own bound on a query (docs/catalog.md). */
export const MAX_QUERY_CHARS = 100;
const MAX_FILTER_CHARS = 100;
const RESULTS = 50;
const CONTROL_CHARACTERS = /\p{Cc}/u;
const ITEM_CODE = /^[0-9A-Z]{12,40}$/;

/** A request the portal refuses: the page's status, message and its placeholders. */
class PageRefusal extends Error {
  constructor(
    readonly status: number,
    readonly messageKey: MessageKey,
    readonly vars: Record<string, string | number> = {},
  ) {
    super(messageKey);
  }
}

export interface CatalogRouteDeps {
  catalog: CatalogClient;
  page: (ctx: Koa.Context) => CatalogPageContext;
  refuse: (ctx: Koa.Context, status: number, message: MessageKey, vars: Record<string, string | number>) => void;
  log: { warn: (message: string, fields: Record<string, unknown>) => void };
}

/** The search text, or the reason it cannot be searched for. */
function searchText(raw: unknown): string {
  if (raw !== undefined && typeof raw !== 'string') throw new PageRefusal(400, 'error.bad_request');
  const q = (raw ?? '').trim();
  if (!q) throw new PageRefusal(400, 'error.query_empty');
  if ([...q].length > MAX_QUERY_CHARS) throw new PageRefusal(400, 'error.query_too_long', { max: MAX_QUERY_CHARS });
  if (CONTROL_CHARACTERS.test(q)) throw new PageRefusal(400, 'error.query_control');
  return q;
}

/** The facet filters of the query string: each at most once, known, and short. */
function facetFilters(query: Koa.Context['query']): FacetFilters {
  const filters: FacetFilters = {};
  for (const key of FACET_FILTERS) {
    const value = query[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !value || value.length > MAX_FILTER_CHARS || CONTROL_CHARACTERS.test(value))
      throw new PageRefusal(400, 'error.bad_filter');
    filters[key] = value;
  }
  return filters;
}

/** What the catalog's refusal tells the person. */
function refusalOf(err: unknown): PageRefusal {
  if (err instanceof PageRefusal) return err;
  if (err instanceof CatalogRefusal) {
    if (err.status === 404) return new PageRefusal(404, 'error.item_not_found');
    return new PageRefusal(400, err.code === 'invalid_query' ? 'error.invalid_query' : 'error.bad_filter');
  }
  if (err instanceof CatalogUnavailable) return new PageRefusal(502, 'error.catalog_unavailable');
  throw err;
}

export function addCatalogRoutes(router: Router, deps: CatalogRouteDeps): void {
  const { catalog } = deps;
  const answer = (handler: (ctx: Koa.Context, p: CatalogPageContext) => Promise<string>) => async (ctx: Koa.Context) => {
    const p = deps.page(ctx);
    ctx.set('Vary', 'Accept-Language');
    try {
      const body = await handler(ctx, p);
      ctx.type = 'html';
      ctx.body = body;
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal.status >= 500) deps.log.warn('the catalog cannot be reached', { reason: (err as Error).message });
      deps.refuse(ctx, refusal.status, refusal.messageKey, refusal.vars);
    }
  };

  router.get(
    '/search',
    answer(async (ctx, p) => {
      const q = searchText(ctx.query.q);
      return searchResultsPage(p, q, await catalog.search(q, facetFilters(ctx.query), RESULTS));
    }),
  );

  router.get(
    '/browse',
    answer(async (ctx, p) => {
      const filters = facetFilters(ctx.query);
      const entries = Object.entries(filters);
      if (entries.length !== 1) throw new PageRefusal(400, 'error.bad_filter');
      const [facet, value] = entries[0]!;
      return browsePage(p, facet, value, await catalog.list(filters, 100));
    }),
  );

  router.get(
    '/items/:code',
    answer(async (ctx, p) => {
      const code = ctx.params.code!;
      if (!ITEM_CODE.test(code)) throw new PageRefusal(404, 'error.item_not_found');
      return guidePage(p, await catalog.guide(code));
    }),
  );

  router.get(
    '/narrow',
    answer(async (ctx, p) => {
      const filters = facetFilters(ctx.query);
      const q = ctx.query.q === undefined ? undefined : searchText(ctx.query.q);
      const code = ctx.query.code;
      if (code !== undefined && (typeof code !== 'string' || !ITEM_CODE.test(code))) throw new PageRefusal(400, 'error.bad_filter');
      const answers: Record<string, string> = { ...filters, ...(q ? { q } : {}) };
      return narrowPage(p, answers, await catalog.narrow(q, filters, code));
    }),
  );
}
