/**
 * The data-sharing node's HTTP API (docs/exchange.md):
 * - GET  /exchange/datasets                 public: the datasets this node holds, their attributes, the purposes
 * - POST /exchange/requests                 the platform's business systems (admin token): a data request, routed to the holder
 * - POST /exchange/route                    nodes of the federation (entity assertion): a request on its way
 * - POST /exchange/log/subject              nodes (entity assertion, with the person's token): accesses to one person's data
 * - GET  /exchange/my/accesses              the person (access token for this node): accesses to their data, all nodes
 * - GET  /exchange/my/consents              the person: their consents at the token's OP
 * - POST /exchange/my/consents/revoke       the person: revoke one ({"consent": ID})
 * - GET  /admin/exchange/log/export         admin: the whole log as a signed bundle that verifies offline
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { requireAdmin } from '../../infra/admin-auth.ts';
import { recordAudit } from '../../infra/audit-log.ts';
import { verifyEntityAssertion } from '../../infra/entity-assertion.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { HttpError } from '../../infra/errors.ts';
import { parseBody } from '../../infra/http-server.ts';
import { validate } from '../../infra/validation.ts';
import { dataSubject } from '../../infra/data-access-detail.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import type { AccessLog } from './access-log.ts';
import { dataRequestFields, parseSubject, ROUTE_PATH, routedRequest, subjectIndex } from './data-request.ts';
import type { Datasets } from './datasets.ts';
import type { ExchangeFederation } from './exchange-federation.ts';
import { Refusal } from './exchange-refusals.ts';
import { asRefusal, type ExchangeRouting } from './exchange-routing.ts';
import { exportLog } from './log-bundle.ts';
import { shareable, SUBJECT_LOG_PATH, type PersonDataUseService } from './person-data-use.ts';
import type { RequestingNode } from './requesting-node.ts';

export interface ExchangeRouteDeps {
  runtime: EntityRuntime;
  access: ServiceAccess;
  federation: ExchangeFederation;
  datasets: Datasets;
  log: AccessLog;
  routing: ExchangeRouting;
  requesting: RequestingNode;
  dataUse: PersonDataUseService;
}

const dataRequestBody = z.object(dataRequestFields).strict();
const subjectLogBody = z.object({ access_token: z.string().min(1).max(16384), subject: dataSubject }).strict();
const revokeBody = z.object({ consent: z.string().min(1).max(64) }).strict();

export function exchangeRouter(d: ExchangeRouteDeps): Router {
  const { runtime, federation } = d;
  const self = runtime.self.url;
  const router = new Router();
  /** The calling node, authenticated through its trust chain. */
  const callingNode = (ctx: Koa.Context) =>
    verifyEntityAssertion(ctx.get('authorization'), { audience: self, resolveKeys: federation.nodeKeys, replay: runtime.kv });

  router.get('/exchange/datasets', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = d.datasets.catalog();
  });

  router.post('/exchange/requests', requireAdmin(runtime.adminToken), parseBody, async (ctx) => {
    const input = validate(dataRequestBody, ctx.request.body);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await d.requesting.request(input);
  });

  router.post(ROUTE_PATH, parseBody, async (ctx) => {
    const caller = await callingNode(ctx);
    const request = validate(routedRequest, ctx.request.body);
    if (request.route.at(-1) !== caller) throw new Refusal('route_malformed', `the route must end with the calling node ${caller}`);
    let route: string[];
    try {
      route = federation.extendRoute(request.route);
    } catch (err) {
      throw asRefusal(err);
    }
    const answer = await d.routing.relay({ ...request, route });
    ctx.set('Cache-Control', 'no-store');
    ctx.status = answer.status;
    ctx.body = answer.json;
  });

  router.post(SUBJECT_LOG_PATH, parseBody, async (ctx) => {
    const caller = await callingNode(ctx);
    const body = validate(subjectLogBody, ctx.request.body);
    // The person is at the calling node now: the token their OP issued to that node says so.
    const principal = await d.access.verify(body.access_token, caller);
    const index = subjectIndex(runtime.blindIndex, parseSubject(body.subject));
    await recordAudit(runtime.db, {
      event: 'exchange.log_read',
      subject: principal.subject,
      clientId: caller,
      detail: { issuer: principal.issuer, subject_index: index },
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { entries: shareable(await d.log.ofSubject(index)) };
  });

  /**
   * The person at the portal: a token with the `services` scope, the one a portal gets at sign-in
   * (docs/service-access.md). A consent token, which carries only authorization details, is no key to the person's space.
   */
  const person = async (ctx: Koa.Context) => {
    const principal = await d.access.authenticate(ctx);
    if (!principal.scope.includes('services'))
      throw new HttpError(403, 'insufficient_scope', 'the token lacks the services scope', {
        headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="services"' },
      });
    return principal;
  };

  router.get('/exchange/my/accesses', async (ctx) => {
    const principal = await person(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await d.dataUse.accesses(principal);
  });

  router.get('/exchange/my/consents', async (ctx) => {
    const principal = await person(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await d.dataUse.consents(principal);
  });

  router.post('/exchange/my/consents/revoke', parseBody, async (ctx) => {
    const principal = await person(ctx);
    const { consent } = validate(revokeBody, ctx.request.body);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await d.dataUse.revoke(principal, consent);
  });

  router.get('/admin/exchange/log/export', requireAdmin(runtime.adminToken), async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await exportLog(runtime, d.log, await federation.ownTrustChain());
  });

  return router;
}
