/**
 * A holder's own licences (我的证照), for the portal acting for the signed-in person with an
 * access token from the person's OP (docs/service-access.md):
 * - `GET /licenses/mine`: the licences issued here, and where else the national directory says
 *   the holder has licences;
 * - `GET /licenses/mine/:id`: one licence, whole (every disclosure: the holder's own view);
 * - `POST /licenses/mine/:id/presentations` {disclose, audience, nonce?}: a presentation showing
 *   only the chosen claims, bound to that verifier with a Key Binding JWT;
 * - `POST /licenses/mine/demo` (demo mode): the demo licences for the signed-in person or organization.
 * Every presentation is written to the audit log under the holder's index.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import { randomToken } from '../../infra/crypto.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import { Forbidden, NotFound } from '../../infra/errors.ts';
import { parseBody } from '../../infra/http-server.ts';
import { validate } from '../../infra/validation.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import { issueDemoBusinessLicense, issueDemoLicenses } from './demo-licenses.ts';
import { DIRECTORY_LOOKUP_PATH } from './license-directory.ts';
import { parseLicense } from './license-format.ts';
import type { LicenseNode } from './license-node.ts';
import type { HolderKind } from './license-types.ts';
import { heldLicenseAnswer } from './license-answers.ts';

const presentationBody = z.strictObject({
  disclose: z.array(z.string().min(1).max(64)).max(30),
  audience: z.string().trim().min(1).max(500),
  nonce: z.string().trim().min(1).max(200).optional(),
});

const LICENSE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DIRECTORY_TIMEOUT_MS = 5_000;

interface Holder {
  kind: HolderKind;
  identifier: string;
  name: string;
  /** Who acts (an organization's representative or agent): their subject, for the audit log, and name. */
  actor: string | null;
  actorName: string | null;
}

export function addHolderRoutes(router: Router, node: Omit<LicenseNode, 'router'>, access: ServiceAccess): void {
  const { runtime, registry } = node;

  /** The signed-in holder, from the access token and the OP's real-name answer. */
  const holderOf = async (ctx: Koa.Context): Promise<Holder> => {
    const principal = await access.authenticate(ctx);
    const person = await access.person(principal);
    ctx.set('Cache-Control', 'no-store');
    const identifier = person.kind === 'natural' ? person.idNumber : person.uscc;
    if (!identifier) throw new Forbidden('access_denied', 'the OP did not say who the holder is (no ID number or USCC)');
    return {
      kind: person.kind,
      identifier,
      name: person.name,
      actor: person.actor?.subject ?? null,
      actorName: person.actor?.name ?? null,
    };
  };

  const idOf = (ctx: Koa.Context) => {
    const id = ctx.params.id ?? '';
    if (!LICENSE_ID.test(id)) throw new NotFound(`no licence ${id} of yours`, 'license_not_found');
    return id;
  };

  /** Where else the holder has licences (the national directory); null when it cannot be asked now. */
  const elsewhere = async (holder: Holder): Promise<{ platform: string; type: string }[] | null> => {
    let entries: { platform: string; type: string }[];
    if (node.directory) {
      entries = await node.directory.lookup(holder.kind, holder.identifier, runtime.self.url);
    } else {
      const res = await postAsEntity({
        from: runtime.self.url,
        key: runtime.keyRing.signingKey(),
        to: node.trust.directoryUrl,
        path: DIRECTORY_LOOKUP_PATH,
        body: { holder_kind: holder.kind, holder_id: holder.identifier },
        timeoutMs: DIRECTORY_TIMEOUT_MS,
      }).catch(() => null);
      if (res?.status !== 200 || !Array.isArray(res.json.entries)) {
        runtime.log.warn('the licence directory cannot be asked', { directory: node.trust.directoryUrl, status: res?.status });
        return null;
      }
      entries = res.json.entries as { platform: string; type: string }[];
    }
    return entries.filter((e) => e.platform !== runtime.self.url).map((e) => ({ platform: e.platform, type: e.type }));
  };

  router.get('/licenses/mine', async (ctx) => {
    const holder = await holderOf(ctx);
    const held = await registry.heldBy(holder.kind, holder.identifier);
    ctx.body = {
      holder: { kind: holder.kind, name: holder.name },
      licenses: held.map(heldLicenseAnswer),
      elsewhere: await elsewhere(holder),
    };
  });

  if (runtime.demo) {
    router.post('/licenses/mine/demo', async (ctx) => {
      const holder = await holderOf(ctx);
      let issued;
      if (holder.kind === 'natural') {
        issued = await issueDemoLicenses(registry, { name: holder.name, idNumber: holder.identifier });
      } else {
        // The legal-person registry is national's: elsewhere the OP's word (name, who acts) stands in for it.
        const org = (await node.legalPersons.find(holder.identifier)) ?? {
          name: holder.name,
          type: '有限责任公司',
          representativeName: holder.actorName ?? holder.name,
        };
        issued = [await issueDemoBusinessLicense(registry, { uscc: holder.identifier, ...org })];
      }
      ctx.status = 201;
      ctx.body = { licenses: issued.map((l) => ({ id: l.id, type: l.type })) };
    });
  }

  router.get('/licenses/mine/:id', async (ctx) => {
    const holder = await holderOf(ctx);
    const { license, credential } = await registry.credential(idOf(ctx), holder.kind, holder.identifier);
    const parsed = parseLicense(credential);
    ctx.body = {
      license: heldLicenseAnswer(license),
      credential,
      // The compact JWS alone: no claim in clear, what the QR code carries.
      jws: credential.slice(0, credential.indexOf('~')),
      claims: Object.fromEntries(parsed.disclosures.map((d) => [d.name as string, d.value])),
    };
  });

  router.post('/licenses/mine/:id/presentations', parseBody, async (ctx) => {
    const holder = await holderOf(ctx);
    const id = idOf(ctx);
    const body = validate(presentationBody, ctx.request.body);
    const nonce = body.nonce ?? randomToken(16);
    const presentation = await registry.present(id, holder.kind, holder.identifier, {
      disclose: body.disclose,
      audience: body.audience,
      nonce,
    });
    await runtime.db.transaction((tx) =>
      appendAudit(tx, {
        event: 'license.presented',
        subject: registry.holderIndex(holder.kind, holder.identifier),
        detail: { license: id, audience: body.audience, disclosed: body.disclose, actor: holder.actor },
      }),
    );
    ctx.status = 201;
    ctx.body = { presentation, audience: body.audience, nonce };
  });
}
