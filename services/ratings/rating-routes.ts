/**
 * The HTTP API of 好差评 (docs/voice.md).
 * - Rater (a person's access token): POST /ratings, GET /my/ratings, GET /my/ratings/:id,
 *   POST /my/ratings/:id/view
 * - Staff (their access token; roles rectifier, supervisor): GET /staff/rectifications,
 *   GET /staff/rectifications/:id, POST /staff/rectifications/:id/:step (call_back, resolve,
 *   schedule_fix, complete_fix), POST /staff/ratings/:id/appeal, GET /staff/appeals,
 *   GET /staff/appeals/:id, POST /staff/appeals/:id/decide
 * - Anyone: GET /ratings/form (levels, criteria, stages), GET /ratings/stats?authority=&item=
 * - Admin: GET /admin/voice/limits, PUT /admin/voice/limits/:platform
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { requireAdmin } from '../../infra/admin-auth.ts';
import { BadRequest, NotFound } from '../../infra/errors.ts';
import { parseBody } from '../../infra/request-body.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import { callerOfToken, limitParam, staffOfToken } from '../cases/case-callers.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { allLimits, setLimits } from '../voice/voice-limits.ts';
import { appealDetail, appealQueue, decideAppeal, fileAppeal } from './appeals.ts';
import { CRITERIA_LABELS, LEVELS, MAX_COMMENT, MAX_COMPLAINT, STAGE_LABELS } from './rating-rules.ts';
import { giveView, myRating, myRatings, rate } from './ratings.ts';
import { rectificationQueue, STAFF_STEP_NAMES, takeStep, taskDetail, type QueueFilter, type StaffStep } from './rectification.ts';
import { ratingStats } from './rating-stats.ts';

const PLATFORM = /^(\*|[a-z][a-z0-9_-]{0,31})$/;

export function ratingRouter(deps: VoiceDeps, access: ServiceAccess, adminToken: string): Router {
  const router = new Router();
  const person = (ctx: Koa.Context) => callerOfToken(access, ctx);
  const staff = (ctx: Koa.Context) => staffOfToken(access, deps.staff, ctx);
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

  router.get('/ratings/form', (ctx) => {
    ctx.body = { levels: LEVELS, criteria: CRITERIA_LABELS, stages: STAGE_LABELS, max_comment: MAX_COMMENT, max_complaint: MAX_COMPLAINT };
  });
  router.get('/ratings/stats', async (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = await ratingStats(deps.publicReads, { authority: str(ctx.query.authority), item: str(ctx.query.item) }, deps.now());
  });

  router.post('/ratings', parseBody, async (ctx) => {
    const caller = await person(ctx);
    ctx.status = 201;
    ctx.body = await rate(deps, caller, ctx.request.body);
  });
  router.get('/my/ratings', async (ctx) => {
    ctx.body = { ratings: await myRatings(deps, await person(ctx), limitParam(ctx.query.limit)) };
  });
  router.get('/my/ratings/:id', async (ctx) => {
    ctx.body = await myRating(deps, await person(ctx), ctx.params.id!);
  });
  router.post('/my/ratings/:id/view', parseBody, async (ctx) => {
    ctx.body = await giveView(deps, await person(ctx), ctx.params.id!, ctx.request.body);
  });

  router.get('/staff/rectifications', async (ctx) => {
    const filter = (ctx.query.status ?? 'all') as QueueFilter;
    if (!['all', 'due_soon', 'overdue'].includes(filter)) throw new BadRequest('invalid_request', 'status: all, due_soon or overdue');
    ctx.body = await rectificationQueue(deps, await staff(ctx), filter, limitParam(ctx.query.limit));
  });
  router.get('/staff/rectifications/:id', async (ctx) => {
    ctx.body = await taskDetail(deps, await staff(ctx), ctx.params.id!);
  });
  router.post('/staff/rectifications/:id/:step', parseBody, async (ctx) => {
    const who = await staff(ctx);
    const step = ctx.params.step as StaffStep;
    if (!STAFF_STEP_NAMES.includes(step))
      throw new NotFound(`no step ${ctx.params.step}; steps: ${STAFF_STEP_NAMES.join(', ')}`, 'unknown_action');
    ctx.body = await takeStep(deps, who, ctx.params.id!, step, ctx.request.body);
  });
  router.post('/staff/ratings/:id/appeal', parseBody, async (ctx) => {
    const who = await staff(ctx);
    ctx.status = 201;
    ctx.body = await fileAppeal(deps, who, ctx.params.id!, ctx.request.body);
  });
  router.get('/staff/appeals', async (ctx) => {
    const pendingOnly = ctx.query.all !== 'true';
    ctx.body = await appealQueue(deps, await staff(ctx), pendingOnly, limitParam(ctx.query.limit));
  });
  router.get('/staff/appeals/:id', async (ctx) => {
    ctx.body = await appealDetail(deps, await staff(ctx), ctx.params.id!);
  });
  router.post('/staff/appeals/:id/decide', parseBody, async (ctx) => {
    const who = await staff(ctx);
    ctx.body = await decideAppeal(deps, who, ctx.params.id!, ctx.request.body);
  });

  const admin = requireAdmin(adminToken);
  router.get('/admin/voice/limits', admin, async (ctx) => {
    ctx.body = { limits: await allLimits(deps.db) };
  });
  router.put('/admin/voice/limits/:platform', admin, parseBody, async (ctx) => {
    const platform = ctx.params.platform!;
    if (!PLATFORM.test(platform)) throw new BadRequest('invalid_request', "platform: a platform's code, or * for the default");
    ctx.body = await setLimits(deps.db, platform, ctx.request.body, 'admin');
  });
  return router;
}
