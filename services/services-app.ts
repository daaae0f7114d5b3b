/**
 * A services entity (a platform's management platform and data-sharing node): its service catalog,
 * and at national the base registries and the message outbox, as HTTP APIs.
 * - Entity APIs (OPs call them with an entity assertion): POST /population/verify,
 *   POST /legal-persons/verify, POST /messages
 * - Admin API (admin token): POST /admin/persons, POST /admin/organizations, GET /admin/outbox?to=PHONE
 * - Person APIs (portals call them with an OP's access token for this entity): GET /me
 * - Service catalog (docs/catalog.md): GET /catalog/…, admin /admin/catalog/…; its feed to the
 *   platforms below, GET /catalog/feed (entity assertion of a services entity)
 * - Data-sharing node (docs/exchange.md): /exchange/…, admin /admin/exchange/…
 * - Applications and cases (docs/cases.md): /cases/…, /staff/…, admin /admin/staff/…, /admin/cases/…
 * - Ask, rate, my space (docs/voice.md): /questions, /ratings/…, /my/…, /faq/:code, /staff/…, admin /admin/voice/…
 * - Notices sent from this entity (the SMS stand-in): admin GET /admin/outbox?to=PHONE, demo GET /demo/outbox?to=PHONE
 * - Demo API (demo mode only): POST /demo/persons, POST /demo/organizations, GET /demo/outbox?to=PHONE
 * - E-licenses (docs/licenses.md): /licenses/…, admin /admin/licenses/…, demo /demo/licenses
 */
import Router from '@koa/router';
import { z } from 'zod';
import { createApp, parseBody, refuseOtherMethods } from '../infra/http-server.ts';
import { requireAdmin } from '../infra/admin-auth.ts';
import { verifyEntityAssertion, type EntityKeyResolver } from '../infra/entity-assertion.ts';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import { BadRequest, NotFound } from '../infra/errors.ts';
import { parseIdNumber, parseUscc } from '../infra/identifiers.ts';
import { validate } from '../infra/validation.ts';
import { PopulationRegistry } from './population/population-registry.ts';
import { MessageOutbox } from './outbox/message-outbox.ts';
import { LegalPersonRegistry } from './legal-persons/legal-person-registry.ts';
import type Koa from 'koa';
import { CatalogService, type CatalogPlatform } from './catalog/catalog-service.ts';
import { catalogRouter } from './catalog/catalog-routes.ts';
import { seedDemoCatalog } from './catalog/demo-catalog.ts';
import { catalogFeedRouter } from './catalog/catalog-feed-routes.ts';
import { FeedPuller } from './catalog/feed-puller.ts';
import type { ServiceAccess } from './service-access/service-access-tokens.ts';
import type { ExchangeFederation } from './exchange/exchange-federation.ts';
import { exchangeNode } from './exchange/exchange-node.ts';
import { legalPersonFacts, populationFacts } from './exchange/registry-datasets.ts';
import { caseResults } from './exchange/case-results-dataset.ts';
import { licenseDatasets } from './exchange/license-datasets.ts';
import { casesParts, casesRouter } from './cases/cases-mount.ts';
import type { CrossRegion, RecordFetcher } from './cases/case-context.ts';
import { voiceRouter } from './voice/voice-mount.ts';
import { createLicenseNode, type LicenseTrust } from './licenses/license-node.ts';
import { caseResultMaker, licenceShelf } from './licenses/license-bridges.ts';

export interface ServicesOptions {
  runtime: EntityRuntime;
  /** Resolves the federation keys of a calling entity, or null when it is not trusted. */
  resolveCallerKeys: EntityKeyResolver;
  /** Checks the access tokens OPs of the federation issued for this entity (portals call with them). */
  access: ServiceAccess;
  /** This entity's place among the data-sharing nodes of the federation. */
  exchange: ExchangeFederation;
  /** What the e-license node needs of the federation. */
  licenseTrust: LicenseTrust;
  /** The platform this entity serves; without it, one entity with the base registries and the whole catalog. */
  platform?: ServicesPlatform;
}

export interface ServicesPlatform {
  catalog: CatalogPlatform;
  /** Base registries and message outbox: national's only. */
  baseRegistries: boolean;
  /** The services entity of the platform above, whose catalog feed this one pulls; null at national. */
  feedSource: string | null;
  /** Resolves the keys of a services entity of the federation (a reader of the feed), or null. */
  resolveServicesKeys: EntityKeyResolver;
  /** How often the feed is pulled (milliseconds). */
  feedIntervalMs: number;
  /** Where staff log in and which platform handles whose items (docs/cases.md). */
  cases: { staffIssuers: string[]; handlerOf: CrossRegion['handlerOf']; sameProvince: CrossRegion['sameProvince'] };
}

export interface ServicesInstance {
  app: Koa;
  /** Pulls the superior platform's catalog feed; started once the host listens. */
  feed: FeedPuller | null;
}

const verifyBody = z.object({ name: z.string().min(1).max(64), id_number: z.string().min(1).max(32) }).strict();
const messageBody = z.object({ to: z.string().min(1).max(20), body: z.string().min(1).max(500) }).strict();
const personBody = z.object({ name: z.string().trim().min(1).max(64).optional() }).strict();
const representativeBody = z
  .object({
    uscc: z.string().min(1).max(32),
    org_name: z.string().min(1).max(200),
    representative_name: z.string().min(1).max(64),
    representative_id_number: z.string().min(1).max(32),
  })
  .strict();
const organizationBody = z.object({ rep_id_number: z.string().min(1).max(32).optional() }).strict();

export async function createServicesApp({
  runtime,
  resolveCallerKeys,
  access,
  exchange,
  licenseTrust,
  platform,
}: ServicesOptions): Promise<ServicesInstance> {
  const population = new PopulationRegistry(runtime.db, runtime.cipher, runtime.blindIndex);
  const outbox = new MessageOutbox(runtime.db, runtime.cipher, runtime.blindIndex);
  const legalPersons = new LegalPersonRegistry(runtime.db, runtime.cipher, runtime.blindIndex, population);
  const baseRegistries = platform?.baseRegistries ?? true;
  if (baseRegistries) {
    await population.seed();
    await legalPersons.seed(population.seededPersons(20));
  }
  const node = exchangeNode(runtime, access, exchange);
  if (baseRegistries) {
    node.datasets.add(populationFacts(population));
    node.datasets.add(legalPersonFacts(legalPersons));
  }
  node.datasets.add(caseResults(runtime.db, runtime.blindIndex));
  const catalog = new CatalogService(runtime.db, platform?.catalog, runtime.reads);
  if (runtime.demo) await seedDemoCatalog(catalog);
  const feed = platform?.feedSource
    ? new FeedPuller({
        catalog,
        self: runtime.self.url,
        signingKey: () => runtime.keyRing.signingKey(),
        source: platform.feedSource,
        log: runtime.log,
        intervalMs: platform.feedIntervalMs,
      })
    : null;

  const callerOf = (ctx: Koa.Context) =>
    verifyEntityAssertion(ctx.get('authorization'), { audience: runtime.self.url, resolveKeys: resolveCallerKeys, replay: runtime.kv });

  const router = new Router();
  router.post('/population/verify', parseBody, async (ctx) => {
    await callerOf(ctx);
    const body = validate(verifyBody, ctx.request.body);
    ctx.body = { match: await population.verify(body.name, parseIdNumber(body.id_number)) };
  });

  router.post('/legal-persons/verify', parseBody, async (ctx) => {
    await callerOf(ctx);
    const body = validate(representativeBody, ctx.request.body);
    const check = await legalPersons.checkRepresentative(
      parseUscc(body.uscc),
      body.org_name,
      body.representative_name,
      parseIdNumber(body.representative_id_number),
    );
    ctx.body = { found: check.found, name_matches: check.nameMatches, representative: check.representative, type: check.type ?? null };
  });

  router.post('/messages', parseBody, async (ctx) => {
    const caller = await callerOf(ctx);
    const body = validate(messageBody, ctx.request.body);
    await outbox.send(body.to, body.body, caller);
    ctx.status = 202;
    ctx.body = { accepted: true };
  });

  const addPerson = async (ctx: Koa.Context) => {
    const body = validate(personBody, ctx.request.body);
    const p = await population.addSynthetic(body.name);
    ctx.status = 201;
    ctx.body = { name: p.name, id_number: p.idNumber, phone: p.phone };
  };
  const addOrganization = async (ctx: Koa.Context) => {
    const body = validate(organizationBody, ctx.request.body);
    const org = await legalPersons.addSynthetic(body.rep_id_number ? parseIdNumber(body.rep_id_number) : undefined);
    if (!org) throw new BadRequest('invalid_request', 'rep_id_number: no such person in the population registry');
    ctx.status = 201;
    ctx.body = org;
  };
  router.post('/admin/persons', requireAdmin(runtime.adminToken), parseBody, addPerson);
  router.post('/admin/organizations', requireAdmin(runtime.adminToken), parseBody, addOrganization);
  if (runtime.demo) {
    router.post('/demo/persons', parseBody, addPerson);
    router.post('/demo/organizations', parseBody, addOrganization);
  }

  // What every services entity serves, base registries or not.
  const common = new Router();
  // Who this entity takes the caller for: the portal shows it, and it proves the token path end to end.
  common.get('/me', async (ctx) => {
    const principal = await access.authenticate(ctx);
    const person = await access.person(principal);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { issuer: principal.issuer, subject: principal.subject, acr: principal.acr, kind: person.kind, name: person.name };
  });
  // The notices this entity sent (case steps, answers): its own outbox.
  common.get('/admin/outbox', requireAdmin(runtime.adminToken), async (ctx) => {
    ctx.body = await outbox.readFor(String(ctx.query.to ?? ''));
  });
  if (runtime.demo) {
    common.get('/demo/outbox', async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await outbox.readFor(String(ctx.query.to ?? ''));
    });
  }

  const app = createApp(runtime.log);
  const catalogRoutes = catalogRouter(catalog, runtime.adminToken);
  app.use(catalogRoutes.routes());
  app.use(catalogRoutes.allowedMethods());
  const feedRoutes = catalogFeedRouter({
    catalog,
    self: runtime.self.url,
    resolveReaderKeys: platform?.resolveServicesKeys ?? (async () => null),
    replay: runtime.kv,
    adminToken: runtime.adminToken,
    puller: feed,
  });
  app.use(feedRoutes.routes());
  app.use(feedRoutes.allowedMethods());
  // Case numbers carry the platform's code (gz), not the entity's (gz-services).
  const licenses = createLicenseNode(runtime, licenseTrust, access);
  for (const source of licenseDatasets(licenses.registry, licenses.verifier)) node.datasets.add(source);
  const cases = {
    runtime,
    catalog,
    outbox,
    access,
    makeResult: caseResultMaker(licenses.registry, runtime.self.url),
    fetchRecord: (r: Parameters<RecordFetcher>[0]) => node.requesting.request(r),
    ...(platform
      ? {
          platform: platform.catalog.code,
          staffIssuers: platform.cases.staffIssuers,
          crossRegion: { ...platform.cases, resolveServicesKeys: platform.resolveServicesKeys },
        }
      : {}),
  };
  const caseRoutes = casesRouter(cases);
  app.use(caseRoutes.routes()).use(caseRoutes.allowedMethods());
  app.use(voiceRouter({ runtime, access, licences: licenceShelf(licenses.registry), ...casesParts(cases) }).routes());
  app.use(licenses.router.routes());
  app.use(licenses.router.allowedMethods());
  app.use(common.routes());
  if (baseRegistries) app.use(router.routes());
  app.use(node.router.routes());
  app.use(refuseOtherMethods);
  app.use(async () => {
    throw new NotFound('no such endpoint');
  });
  return { app, feed };
}
