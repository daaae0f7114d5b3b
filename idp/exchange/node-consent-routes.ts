/**
 * What the federation's data-sharing nodes ask this OP about consents, each with an entity
 * assertion and an access token this OP issued to the calling node (service-access/resource-calls.ts):
 * - POST /exchange/consent-check    the holding node, per request: does the consent in the token stand,
 *                                   and is the request's person the token's? ({access_token, consent, subject})
 * - POST /exchange/consents         the person's node: the consents of the token's subject ({access_token})
 * - POST /exchange/consents/revoke  the person's node: revoke one of them ({access_token, consent})
 */
import type Router from '@koa/router';
import { z } from 'zod';
import { recordAudit } from '../../infra/audit-log.ts';
import {
  CONSENT_CHECK_PATH,
  CONSENT_LIST_PATH,
  CONSENT_REVOKE_PATH,
  consentedDataAccess,
  dataSubject,
} from '../../infra/data-access-detail.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { BadRequest, Conflict, NotFound } from '../../infra/errors.ts';
import { parseIdNumber, parseUscc } from '../../infra/identifiers.ts';
import { parseBody } from '../../infra/request-body.ts';
import { validate } from '../../infra/validation.ts';
import type { ResourceCalls } from '../service-access/resource-calls.ts';
import type { DataConsents } from './data-consents.ts';

export const NODE_CONSENT_PATHS = [CONSENT_CHECK_PATH, CONSENT_LIST_PATH, CONSENT_REVOKE_PATH];

const token = z.string().min(1).max(16384);
const checkBody = z.object({ access_token: token, consent: z.string().min(1).max(64), subject: dataSubject }).strict();
const listBody = z.object({ access_token: token }).strict();
const revokeBody = z.object({ access_token: token, consent: z.string().min(1).max(64) }).strict();

export function nodeConsentRoutes(router: Router, deps: { runtime: EntityRuntime; calls: ResourceCalls; consents: DataConsents }) {
  const { runtime, calls, consents } = deps;

  router.post(CONSENT_CHECK_PATH, parseBody, async (ctx) => {
    const caller = await calls.caller(ctx);
    const body = validate(checkBody, ctx.request.body);
    const claims = await calls.token(body.access_token, caller);
    // Only a consent the token itself names: a node learns nothing of the person's other consents.
    const named = (Array.isArray(claims.authorization_details) ? claims.authorization_details : []).map(consentedDataAccess);
    if (!named.some((d) => d?.consent === body.consent))
      throw new BadRequest('invalid_request', 'consent: the token names no such consent');
    const { subject } = body;
    const subjectIndex =
      subject.kind === 'natural'
        ? runtime.blindIndex.of('id_number', parseIdNumber(subject.id_number))
        : runtime.blindIndex.of('uscc', parseUscc(subject.uscc));
    const verdict = await consents.check(body.consent, claims.sub!, subjectIndex);
    await recordAudit(runtime.db, {
      event: 'exchange.consent_checked',
      subject: claims.sub!,
      clientId: caller,
      detail: { consent: body.consent, status: verdict.status, subject_matches: verdict.subjectMatches, jti: claims.jti ?? null },
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { consent: body.consent, status: verdict.status, subject_matches: verdict.subjectMatches };
  });

  router.post(CONSENT_LIST_PATH, parseBody, async (ctx) => {
    const caller = await calls.caller(ctx);
    const body = validate(listBody, ctx.request.body);
    const claims = await calls.token(body.access_token, caller);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      issuer: runtime.self.url,
      consents: (await consents.of(claims.sub!)).map((c) => ({
        id: c.id,
        detail: c.detail,
        mode: c.mode,
        status: c.status,
        client_id: c.clientId,
        for_organization: c.subjectKind === 'legal',
        created_at: c.createdAt,
        expires_at: c.expiresAt,
      })),
    };
  });

  router.post(CONSENT_REVOKE_PATH, parseBody, async (ctx) => {
    const caller = await calls.caller(ctx);
    const body = validate(revokeBody, ctx.request.body);
    const claims = await calls.token(body.access_token, caller);
    const outcome = await consents.revoke(claims.sub!, body.consent);
    if (outcome === 'not_found') throw new NotFound('no such consent of this person', 'consent_not_found');
    if (outcome === 'ended') throw new Conflict('consent_ended', 'the consent has already ended (used, expired or revoked)');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { consent: body.consent, status: 'revoked' };
  });
}
