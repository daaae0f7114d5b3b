/**
 * The catalog's HTTP API (docs/catalog.md). Reading (items, guides, search, browse, narrowing)
 * is public: portals and the case system read it. Import, export and changes are admin calls,
 * each naming the acting authority and person.
 */
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { requireAdmin } from '../../infra/admin-auth.ts';
import { BadRequest } from '../../infra/errors.ts';
import { parseBody } from '../../infra/http-server.ts';
import { validate } from '../../infra/validation.ts';
import { CHANGE_STATES, type Actor } from './catalog-changes.ts';
import { decisionBody, editChangeBody, newChangeBody } from './catalog-schema.ts';
import { browse, facetFilter, narrow, search } from './catalog-search.ts';
import type { CatalogService } from './catalog-service.ts';

/** A whole catalog file is larger than the usual API body. */
const parseCatalogFile = bodyParser({
  enableTypes: ['json'],
  jsonLimit: '8mb',
  encoding: 'utf-8',
  onError: (err) => {
    throw (err as { status?: number }).status === 413
      ? err
      : new BadRequest('invalid_request', `body: not JSON (${(err as Error).message})`);
  },
});

function versionParam(raw: unknown, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[1-9]\d{0,8}$/.test(raw))
    throw new BadRequest('invalid_request', `${name}: a version number (1, 2, …)`);
  return Number(raw);
}

function limitParam(raw: unknown): number {
  if (raw === undefined) return 20;
  if (typeof raw !== 'string' || !/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 100)
    throw new BadRequest('invalid_request', 'limit: a number from 1 to 100');
  return Number(raw);
}

const actorOf = (body: { actor: string; person: string }): Actor => ({ authority: body.actor, person: body.person });

export function catalogRouter(catalog: CatalogService, adminToken: string): Router {
  const router = new Router();
  const admin = requireAdmin(adminToken);
  // What anyone reads may be seconds behind an approval (a replica's); the admin calls read and write the primary.
  const published = catalog.publicReads;

  router.get('/catalog/items', async (ctx) => {
    const kind = ctx.query.kind === 'directory' ? 'directory' : 'implementation';
    const rows = await published.list({ ...facetFilter(ctx.query), kind }, limitParam(ctx.query.limit ?? '100'));
    ctx.body = { items: rows };
  });
  router.get('/catalog/items/:code', async (ctx) => {
    const row = await published.version(ctx.params.code!, versionParam(ctx.query.version, 'version'));
    ctx.body = { code: row.item_code, kind: row.kind, version: row.version, effective_from: row.effective_from, item: row.content };
  });
  router.get('/catalog/items/:code/guide', async (ctx) => {
    ctx.body = await published.guide(ctx.params.code!, versionParam(ctx.query.version, 'version'));
  });
  router.get('/catalog/items/:code/history', async (ctx) => {
    ctx.body = { versions: (await published.history(ctx.params.code!)).map(({ content: _content, ...rest }) => rest) };
  });
  router.get('/catalog/items/:code/diff', async (ctx) => {
    const from = versionParam(ctx.query.from, 'from') ?? badRequest('from: which version to compare from');
    const to = versionParam(ctx.query.to, 'to') ?? badRequest('to: which version to compare to');
    ctx.body = await published.diff(ctx.params.code!, from, to);
  });
  router.get('/catalog/search', async (ctx) => {
    ctx.body = { results: await search(published.db, ctx.query.q, facetFilter(ctx.query), limitParam(ctx.query.limit)) };
  });
  router.get('/catalog/browse', async (ctx) => {
    ctx.body = await browse(published.db, facetFilter(ctx.query));
  });
  router.get('/catalog/narrow', async (ctx) => {
    ctx.body = await narrow(
      published.db,
      ctx.query.q,
      facetFilter(ctx.query),
      typeof ctx.query.code === 'string' ? ctx.query.code : undefined,
    );
  });

  router.post('/admin/catalog/import', admin, parseCatalogFile, async (ctx) => {
    ctx.status = 201;
    ctx.body = await catalog.import(ctx.request.body);
  });
  router.get('/admin/catalog/export', admin, async (ctx) => {
    ctx.body = await catalog.export();
  });
  router.get('/admin/catalog/changes', admin, async (ctx) => {
    const state = ctx.query.state;
    if (state !== undefined && !CHANGE_STATES.includes(state as 'draft')) badRequest(`state: one of ${CHANGE_STATES.join(', ')}`);
    const item = typeof ctx.query.item === 'string' ? ctx.query.item : undefined;
    ctx.body = { changes: await catalog.changes({ state: state as 'draft' | undefined, itemCode: item }) };
  });
  router.get('/admin/catalog/changes/:id', admin, async (ctx) => {
    ctx.body = await catalog.change(ctx.params.id!);
  });
  router.post('/admin/catalog/changes', admin, parseCatalogFile, async (ctx) => {
    const body = validate(newChangeBody, ctx.request.body);
    ctx.status = 201;
    ctx.body = await catalog.createChange({ actor: actorOf(body), kind: body.kind, item: body.item, effectiveFrom: body.effective_from });
  });
  router.put('/admin/catalog/changes/:id', admin, parseCatalogFile, async (ctx) => {
    const body = validate(editChangeBody, ctx.request.body);
    ctx.body = await catalog.editChange(ctx.params.id!, { actor: actorOf(body), item: body.item, effectiveFrom: body.effective_from });
  });
  const decide =
    (act: (id: string, actor: Actor, note?: string) => Promise<unknown>): Koa.Middleware =>
    async (ctx) => {
      const body = validate(decisionBody, ctx.request.body);
      ctx.body = await act(ctx.params.id!, actorOf(body), body.note);
    };
  router.post(
    '/admin/catalog/changes/:id/submit',
    admin,
    parseBody,
    decide((id, actor) => catalog.submit(id, actor)),
  );
  router.post(
    '/admin/catalog/changes/:id/approve',
    admin,
    parseBody,
    decide((id, actor, note) => catalog.approve(id, actor, note)),
  );
  router.post(
    '/admin/catalog/changes/:id/reject',
    admin,
    parseBody,
    decide((id, actor, note) => catalog.reject(id, actor, note)),
  );
  return router;
}

function badRequest(message: string): never {
  throw new BadRequest('invalid_request', message);
}
