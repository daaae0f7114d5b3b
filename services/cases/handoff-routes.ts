/**
 * The handling side of cross-region cases (cross-region.ts), for the services entities of the
 * federation only (an entity assertion checked through the caller's trust chain):
 * - `POST /case-handoffs` {handoff: JWS}: takes a case over; answers {receipt: JWS, handoff: the JWS the receipt is for};
 * - `POST /case-handoffs/view` {number, view: applicant|public}: the case, for the platform that received it;
 * - `POST /case-handoffs/supply` {number, materials}: the applicant's correction, forwarded by that platform.
 */
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { z } from 'zod';
import { verifyEntityAssertion } from '../../infra/entity-assertion.ts';
import { BadRequest } from '../../infra/errors.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import { refuseUnfitInput } from '../../infra/request-guard.ts';
import { validate } from '../../infra/validation.ts';
import { upload } from './applications.ts';
import { act } from './case-actions.ts';
import { openPerson, type CaseDeps, type Caller } from './case-context.ts';
import { parseCaseNumber } from './case-numbers.ts';
import { applicantView, publicView } from './case-views.ts';
import { caseReceivedBy, forwardedMaterials, HANDOFF_PATH, receiveHandoff } from './cross-region.ts';
import * as store from './case-store.ts';

/** A hand-off carries its uploaded materials: larger than the usual API body. */
const parseHandoffBody = bodyParser({
  enableTypes: ['json'],
  jsonLimit: '24mb',
  encoding: 'utf-8',
  onError: (err) => {
    throw (err as { status?: number }).status === 413 ? err : new BadRequest('invalid_request', 'body: not JSON');
  },
});

const handoffBody = z.object({ handoff: z.string().min(1).max(24_000_000) }).strict();
const viewBody = z.object({ number: z.string().max(40), view: z.enum(['applicant', 'public']) }).strict();
const supplyBody = z.object({ number: z.string().max(40), materials: forwardedMaterials }).strict();

export function handoffRouter(deps: CaseDeps, kv: KeyValueStore): Router {
  const router = new Router();
  const cross = deps.crossRegion!;
  const callerOf = (ctx: Koa.Context) =>
    verifyEntityAssertion(ctx.get('authorization'), { audience: deps.self, resolveKeys: cross.resolveServicesKeys, replay: kv });
  const bodyOf = (ctx: Koa.Context) => {
    refuseUnfitInput(ctx.request.body);
    return ctx.request.body;
  };

  router.post(HANDOFF_PATH, parseHandoffBody, async (ctx) => {
    const caller = await callerOf(ctx);
    const { status, receipt, handoff } = await receiveHandoff(deps, caller, validate(handoffBody, bodyOf(ctx)).handoff);
    ctx.status = status;
    ctx.body = { receipt, handoff };
  });

  router.post(`${HANDOFF_PATH}/view`, parseHandoffBody, async (ctx) => {
    const caller = await callerOf(ctx);
    const body = validate(viewBody, bodyOf(ctx));
    const c = await caseReceivedBy(deps, caller, parseCaseNumber(body.number));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body.view === 'applicant' ? await applicantView(deps, c) : await publicView(deps, c);
  });

  router.post(`${HANDOFF_PATH}/supply`, parseHandoffBody, async (ctx) => {
    const caller = await callerOf(ctx);
    const body = validate(supplyBody, bodyOf(ctx));
    const c = await caseReceivedBy(deps, caller, parseCaseNumber(body.number));
    // The applicant acts through the platform that received the case: their uploads are checked as theirs.
    const applicant: Caller = {
      person: openPerson(deps, c.applicant_enc),
      login: { issuer: c.applicant_issuer, subject: c.applicant_subject, clientId: c.client_id, level: c.acr },
    };
    const materials = [];
    for (const m of body.materials) {
      if (m.content === null) materials.push({ slot: m.slot, reference: m.reference ?? '' });
      else {
        const stored = await upload(deps, applicant, m.media_type ?? '', Buffer.from(m.content, 'base64'));
        materials.push({ slot: m.slot, upload_id: stored.upload_id });
      }
    }
    await act(deps, c.number, 'supply', { kind: 'applicant', caller: applicant }, { materials });
    ctx.body = await applicantView(deps, (await store.caseByNumber(deps.db, c.number))!);
  });
  return router;
}
