/**
 * The cases part of a services entity, put together from its runtime: the legal clock from the
 * calendar files, staff grants, notices through the message outbox, results made by the
 * platform's issuer, and, on a platform of the federation, cross-region receiving and handling.
 * services-app.ts mounts the router this returns.
 */
import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { MessageOutbox } from '../outbox/message-outbox.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import type { CaseDeps, CrossRegion, RecordFetcher, ResultMaker } from './case-context.ts';
import { handoffRouter } from './handoff-routes.ts';
import { caseRouter } from './case-routes.ts';
import { LegalClock } from './legal-clock.ts';
import { StaffGrants } from './staff-grants.ts';
import { WorkingCalendar } from './working-calendar.ts';

export interface CasesOptions {
  runtime: EntityRuntime;
  catalog: CatalogService;
  outbox: MessageOutbox;
  access: ServiceAccess;
  /** The platform's code in case numbers; the entity's own ID by default. */
  platform?: string;
  /** OPs whose logins staff of this platform use. */
  staffIssuers?: readonly string[];
  /** Receiving for other platforms and handling for them (cross-region.ts); signed with this entity's federation key. */
  crossRegion?: Omit<CrossRegion, 'signingKey'>;
  makeResult?: ResultMaker;
  /** This platform's data-sharing node, for materials fetched with the person's consent. */
  fetchRecord?: RecordFetcher;
  now?: () => Date;
}

/** A result document of the platform's own, until an e-license registry makes it. */
function documentResult(issuer: string): ResultMaker {
  return async (c) => ({
    kind: 'document',
    id: randomUUID(),
    name: c.resultName,
    case: c.number,
    issuer,
    issued_at: new Date().toISOString(),
  });
}

export function casesParts(opts: CasesOptions): { deps: CaseDeps; staff: StaffGrants } {
  const { runtime } = opts;
  const deps: CaseDeps = {
    db: runtime.db,
    cipher: runtime.cipher,
    blindIndex: runtime.blindIndex,
    clock: new LegalClock(WorkingCalendar.load()),
    catalog: opts.catalog,
    platform: opts.platform ?? runtime.self.id,
    self: runtime.self.url,
    notify: (phone, text, db) => opts.outbox.send(phone, text, runtime.self.url, db),
    makeResult: opts.makeResult ?? documentResult(runtime.self.url),
    now: opts.now ?? (() => new Date()),
    log: runtime.log,
    ...(opts.fetchRecord ? { fetchRecord: opts.fetchRecord } : {}),
    ...(opts.crossRegion ? { crossRegion: { ...opts.crossRegion, signingKey: () => runtime.keyRing.signingKey() } } : {}),
  };
  return { deps, staff: new StaffGrants(runtime.db, runtime.cipher, runtime.blindIndex) };
}

export function casesRouter(opts: CasesOptions): Router {
  const { deps, staff } = casesParts(opts);
  const router = caseRouter({
    deps,
    staff,
    access: opts.access,
    kv: opts.runtime.kv,
    adminToken: opts.runtime.adminToken,
    demo: opts.runtime.demo,
    ...(opts.staffIssuers ? { staffIssuers: opts.staffIssuers } : {}),
  });
  if (deps.crossRegion) router.use(handoffRouter(deps, opts.runtime.kv).routes());
  return router;
}
