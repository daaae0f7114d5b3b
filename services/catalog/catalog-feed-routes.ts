/**
 * The feed's HTTP side (catalog-feed.ts): `GET /catalog/feed?after=N` for the services entities
 * of the federation (an entity assertion checked through the caller's trust chain), and
 * `POST /admin/catalog/feed/pull` (admin token), which pulls the superior platform's feed now and
 * answers what it applied — 404 at a platform that pulls from none.
 */
import Router from '@koa/router';
import { requireAdmin } from '../../infra/admin-auth.ts';
import { verifyEntityAssertion, type EntityKeyResolver } from '../../infra/entity-assertion.ts';
import { BadRequest, NotFound } from '../../infra/errors.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import { FEED_PATH, feedPage } from './catalog-feed.ts';
import type { CatalogService } from './catalog-service.ts';
import type { FeedPuller } from './feed-puller.ts';

export interface FeedRoutesOptions {
  catalog: CatalogService;
  /** This entity's ID: the audience of the readers' assertions. */
  self: string;
  /** Keys of a services entity of the federation, or null for any other caller. */
  resolveReaderKeys: EntityKeyResolver;
  replay: KeyValueStore;
  adminToken: string;
  puller: FeedPuller | null;
}

function afterParam(raw: unknown): number {
  if (raw === undefined) return 0;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw new BadRequest('invalid_request', 'after: a feed number (0, 1, 2, …)');
  return Number(raw);
}

export function catalogFeedRouter(o: FeedRoutesOptions): Router {
  const router = new Router();
  router.get(FEED_PATH, async (ctx) => {
    await verifyEntityAssertion(ctx.get('authorization'), { audience: o.self, resolveKeys: o.resolveReaderKeys, replay: o.replay });
    ctx.set('Cache-Control', 'no-store');
    // A replica's page may end a few entries short: the reader's cursor takes the rest at its next pull.
    ctx.body = await feedPage(o.catalog.publicReads.db, o.catalog.platform.code, afterParam(ctx.query.after));
  });
  router.post('/admin/catalog/feed/pull', requireAdmin(o.adminToken), async (ctx) => {
    if (!o.puller) throw new NotFound('this platform is the top of the federation: it pulls no feed');
    ctx.body = await o.puller.pull();
  });
  return router;
}
