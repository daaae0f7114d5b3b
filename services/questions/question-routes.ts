/**
 * The HTTP API of 我要问 (docs/voice.md).
 * - Asker (a person's access token): POST /questions, GET /my/questions, GET /my/questions/:id,
 *   POST /my/questions/:id/accept (an offered answer did it), POST /my/questions/:id/escalate
 * - Staff (role answerer): GET /staff/questions, GET /staff/questions/:id,
 *   POST /staff/questions/:id/answer, POST /staff/questions/:id/publish
 * - Anyone: GET /faq/:code (an item's FAQ)
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { parseBody } from '../../infra/request-body.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import { callerOfToken, limitParam, staffOfToken } from '../cases/case-callers.ts';
import type { VoiceDeps } from '../voice/voice-context.ts';
import {
  answerQuestion,
  ask,
  faq,
  myQuestion,
  myQuestions,
  publishQuestion,
  questionLimiter,
  questionQueue,
  settleOffer,
  staffQuestion,
} from './questions.ts';

export function questionRouter(deps: VoiceDeps, access: ServiceAccess): Router {
  const router = new Router();
  const limiter = questionLimiter(deps);
  const person = (ctx: Koa.Context) => callerOfToken(access, ctx);
  const staff = (ctx: Koa.Context) => staffOfToken(access, deps.staff, ctx);

  router.post('/questions', parseBody, async (ctx) => {
    const caller = await person(ctx);
    ctx.status = 201;
    ctx.body = await ask(deps, limiter, caller, ctx.request.body);
  });
  router.get('/my/questions', async (ctx) => {
    ctx.body = { questions: await myQuestions(deps, await person(ctx), limitParam(ctx.query.limit)) };
  });
  router.get('/my/questions/:id', async (ctx) => {
    ctx.body = await myQuestion(deps, await person(ctx), ctx.params.id!);
  });
  router.post('/my/questions/:id/accept', async (ctx) => {
    ctx.body = await settleOffer(deps, await person(ctx), ctx.params.id!, 'accept_offer');
  });
  router.post('/my/questions/:id/escalate', async (ctx) => {
    ctx.body = await settleOffer(deps, await person(ctx), ctx.params.id!, 'escalate');
  });

  router.get('/staff/questions', async (ctx) => {
    ctx.body = await questionQueue(deps, await staff(ctx), limitParam(ctx.query.limit));
  });
  router.get('/staff/questions/:id', async (ctx) => {
    ctx.body = await staffQuestion(deps, await staff(ctx), ctx.params.id!);
  });
  router.post('/staff/questions/:id/answer', parseBody, async (ctx) => {
    const who = await staff(ctx);
    ctx.body = await answerQuestion(deps, who, ctx.params.id!, ctx.request.body);
  });
  router.post('/staff/questions/:id/publish', parseBody, async (ctx) => {
    const who = await staff(ctx);
    ctx.body = await publishQuestion(deps, who, ctx.params.id!, ctx.request.body);
  });

  router.get('/faq/:code', async (ctx) => {
    ctx.body = await faq(deps, ctx.params.code!);
  });
  return router;
}
