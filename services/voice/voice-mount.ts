/**
 * Asking, rating and the person's space on a services entity, built on its cases' parts (the
 * same deps and staff grants: cases-mount.ts). services-app.ts mounts the router this returns.
 */
import Router from '@koa/router';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import type { CaseDeps } from '../cases/case-context.ts';
import type { StaffGrants } from '../cases/staff-grants.ts';
import { noLicences, type LicenceShelf } from '../my-space/licence-shelf.ts';
import { mySpaceRouter } from '../my-space/my-space-routes.ts';
import { questionRouter } from '../questions/question-routes.ts';
import { ratingRouter } from '../ratings/rating-routes.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import type { VoiceDeps } from './voice-context.ts';

export interface VoiceOptions {
  runtime: EntityRuntime;
  access: ServiceAccess;
  deps: CaseDeps;
  staff: StaffGrants;
  licences?: LicenceShelf;
}

export function voiceRouter(opts: VoiceOptions): Router {
  const deps: VoiceDeps = {
    ...opts.deps,
    staff: opts.staff,
    kv: opts.runtime.kv,
    licences: opts.licences ?? noLicences,
    publicReads: opts.runtime.reads,
  };
  const router = new Router();
  for (const part of [
    ratingRouter(deps, opts.access, opts.runtime.adminToken),
    questionRouter(deps, opts.access),
    mySpaceRouter(deps, opts.access),
  ])
    router.use(part.routes(), part.allowedMethods());
  return router;
}
