/**
 * The HTTP API of 我的 (docs/voice.md), for a person's access token: GET /my/profile,
 * GET /my/cases, GET /my/licences, GET /my/notices, PUT /my/notice-settings. Their questions and
 * ratings are at /my/questions and /my/ratings (question-routes.ts, rating-routes.ts).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { parseBody } from '../../infra/request-body.ts';
import { validate } from '../../infra/validation.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import { callerOfToken, limitParam } from '../cases/case-callers.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import { changeNoticeSettings, myCases, myLicences, myNotices, profile } from './my-space.ts';

const settingsBody = z.record(z.string().max(40), z.boolean());

export function mySpaceRouter(deps: VoiceDeps, access: ServiceAccess): Router {
  const router = new Router();
  const person = (ctx: Koa.Context) => callerOfToken(access, ctx);

  router.get('/my/profile', async (ctx) => {
    ctx.body = profile(await person(ctx));
  });
  router.get('/my/cases', async (ctx) => {
    ctx.body = { cases: await myCases(deps, await person(ctx), limitParam(ctx.query.limit)) };
  });
  router.get('/my/licences', async (ctx) => {
    ctx.body = await myLicences(deps, await person(ctx));
  });
  router.get('/my/notices', async (ctx) => {
    ctx.body = await myNotices(deps, await person(ctx), limitParam(ctx.query.limit));
  });
  router.put('/my/notice-settings', parseBody, async (ctx) => {
    const caller = await person(ctx);
    ctx.body = await changeNoticeSettings(deps, caller, validate(settingsBody, ctx.request.body));
  });
  return router;
}
