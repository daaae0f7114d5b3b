/**
 * The e-license API of a services entity (docs/licenses.md, "HTTP API"):
 * - public: `GET /licenses/types`, `POST /licenses/verify`, `GET /licenses/status-lists/:list`
 * - the national node's directory, for services entities (entity assertion):
 *   `POST /licenses/directory/entries`, `POST /licenses/directory/lookup`
 * - admin (admin token): `POST /admin/licenses` (issue), `GET /admin/licenses/:id`,
 *   `POST /admin/licenses/:id/{suspend,reinstate,revoke}`, `POST /admin/licenses/directory/deliver`
 * - demo mode: `POST /demo/licenses` (the demo licences of a person of the population registry, or
 *   the business licence of an organization of the legal-person registry)
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { requireAdmin } from '../../infra/admin-auth.ts';
import { verifyEntityAssertion } from '../../infra/entity-assertion.ts';
import { NotFound } from '../../infra/errors.ts';
import { parseBody } from '../../infra/http-server.ts';
import { parseIdNumber, parseUscc } from '../../infra/identifiers.ts';
import { validate } from '../../infra/validation.ts';
import { issueDemoBusinessLicense, issueDemoLicenses } from './demo-licenses.ts';
import { DIRECTORY_ENTRIES_PATH, DIRECTORY_LOOKUP_PATH } from './license-directory.ts';
import { MAX_LICENSE_CHARS } from './license-format.ts';
import { LICENSE_ACTIONS, type LicenseAction } from './license-states.ts';
import { describeTypes, LICENSE_TYPE_CODES } from './license-types.ts';
import { heldLicenseAnswer, verificationAnswer } from './license-answers.ts';
import type { LicenseNode } from './license-node.ts';
import { STATUS_LIST_PATH, STATUS_LIST_TTL_SECONDS } from './status-lists.ts';

const verifyBody = z.strictObject({
  license: z.string().min(1).max(MAX_LICENSE_CHARS),
  audience: z.string().min(1).max(500).optional(),
  nonce: z.string().min(1).max(200).optional(),
  require_key_binding: z.boolean().optional(),
});

const holderBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('natural'), id_number: z.string().min(1).max(32), name: z.string().min(1).max(200) }),
  z.strictObject({ kind: z.literal('legal'), uscc: z.string().min(1).max(32), name: z.string().min(1).max(200) }),
]);

const issueBody = z.strictObject({
  type: z.enum(LICENSE_TYPE_CODES),
  holder: holderBody,
  claims: z.record(z.string(), z.unknown()).default({}),
  valid_from: z.iso.datetime({ offset: true }).optional(),
  valid_until: z.iso.datetime({ offset: true }).nullable().optional(),
});

const stateBody = z.strictObject({ reason: z.string().trim().min(1).max(200) });

const directoryEntryBody = z.strictObject({
  holder_kind: z.enum(['natural', 'legal']),
  holder_id: z.string().min(1).max(32),
  type: z.enum(LICENSE_TYPE_CODES),
});
const directoryLookupBody = directoryEntryBody.omit({ type: true });

const demoBody = z.union([z.strictObject({ id_number: z.string().min(1).max(32) }), z.strictObject({ uscc: z.string().min(1).max(32) })]);

const LICENSE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function licenseId(ctx: Koa.Context): string {
  const id = ctx.params.id ?? '';
  if (!LICENSE_ID.test(id)) throw new NotFound(`no licence ${id}`, 'license_not_found');
  return id;
}

const holderIdentifier = (kind: 'natural' | 'legal', id: string) => (kind === 'natural' ? parseIdNumber(id) : parseUscc(id));

export function licenseRouter(node: Omit<LicenseNode, 'router'>): Router {
  const { runtime } = node;
  const router = new Router();
  const admin = requireAdmin(runtime.adminToken);

  router.get('/licenses/types', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = { types: describeTypes() };
  });

  router.post('/licenses/verify', parseBody, async (ctx) => {
    const body = validate(verifyBody, ctx.request.body);
    ctx.set('Cache-Control', 'no-store');
    const verified = await node.verifier.verify(body.license, {
      audience: body.audience ?? runtime.self.url,
      ...(body.nonce ? { nonce: body.nonce } : {}),
      ...(body.require_key_binding ? { requireKeyBinding: true } : {}),
    });
    ctx.body = verificationAnswer(verified);
  });

  router.get(`${STATUS_LIST_PATH}/:list`, async (ctx) => {
    const list = ctx.params.list ?? '';
    if (!/^[1-9]\d{0,8}$/.test(list)) throw new NotFound(`no status list ${list}`);
    ctx.type = 'application/statuslist+jwt';
    ctx.set('Cache-Control', `public, max-age=${Math.min(5, STATUS_LIST_TTL_SECONDS)}`);
    ctx.body = await node.statusLists.token(Number(list));
  });

  if (node.directory) {
    const directory = node.directory;
    const caller = (ctx: Koa.Context) =>
      verifyEntityAssertion(ctx.get('authorization'), {
        audience: runtime.self.url,
        resolveKeys: node.trust.serviceKeys,
        replay: runtime.kv,
      });
    router.post(DIRECTORY_ENTRIES_PATH, parseBody, async (ctx) => {
      const platform = await caller(ctx);
      const body = validate(directoryEntryBody, ctx.request.body);
      await runtime.db.transaction((tx) =>
        directory.record(tx, platform, {
          holderKind: body.holder_kind,
          identifier: holderIdentifier(body.holder_kind, body.holder_id),
          type: body.type,
        }),
      );
      ctx.status = 204;
    });
    router.post(DIRECTORY_LOOKUP_PATH, parseBody, async (ctx) => {
      const requester = await caller(ctx);
      const body = validate(directoryLookupBody, ctx.request.body);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { entries: await directory.lookup(body.holder_kind, holderIdentifier(body.holder_kind, body.holder_id), requester) };
    });
  }

  router.post('/admin/licenses', admin, parseBody, async (ctx) => {
    const body = validate(issueBody, ctx.request.body);
    const holder =
      body.holder.kind === 'natural'
        ? { kind: 'natural' as const, idNumber: body.holder.id_number, name: body.holder.name }
        : { kind: 'legal' as const, uscc: body.holder.uscc, name: body.holder.name };
    const issued = await node.registry.issue(body.type, holder, body.claims, {
      ...(body.valid_from ? { from: new Date(body.valid_from) } : {}),
      ...(body.valid_until !== undefined ? { until: body.valid_until === null ? null : new Date(body.valid_until) } : {}),
    });
    ctx.status = 201;
    ctx.body = {
      id: issued.id,
      type: issued.type,
      credential: issued.credential,
      valid_from: issued.validFrom,
      valid_until: issued.validUntil,
    };
  });

  // Before the licence routes: `directory` is no licence ID.
  router.post('/admin/licenses/directory/deliver', admin, async (ctx) => {
    ctx.body = { waiting: await node.directoryWriter.deliver() };
  });

  router.get('/admin/licenses/:id', admin, async (ctx) => {
    ctx.body = heldLicenseAnswer(await node.registry.summary(licenseId(ctx)));
  });

  router.post('/admin/licenses/:id/:action', admin, parseBody, async (ctx) => {
    const action = ctx.params.action as LicenseAction;
    if (!LICENSE_ACTIONS.includes(action)) throw new NotFound(`no licence action ${ctx.params.action}`);
    const body = validate(stateBody, ctx.request.body);
    ctx.body = await node.registry.changeState(licenseId(ctx), action, body.reason);
  });

  if (runtime.demo) {
    router.post('/demo/licenses', parseBody, async (ctx) => {
      const body = validate(demoBody, ctx.request.body);
      let issued;
      if ('uscc' in body) {
        const uscc = parseUscc(body.uscc);
        const org = await node.legalPersons.find(uscc);
        if (!org) throw new NotFound('uscc: no such organization in the legal-person registry', 'organization_not_found');
        issued = [await issueDemoBusinessLicense(node.registry, { uscc, ...org })];
      } else {
        const idNumber = parseIdNumber(body.id_number);
        const name = await node.population.nameOf(idNumber);
        if (!name) throw new NotFound('id_number: no such person in the population registry', 'person_not_found');
        issued = await issueDemoLicenses(node.registry, { name, idNumber });
      }
      ctx.status = 201;
      ctx.body = { licenses: issued.map((l) => ({ id: l.id, type: l.type, credential: l.credential })) };
    });
  }
  return router;
}
