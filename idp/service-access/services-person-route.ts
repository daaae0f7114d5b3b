/**
 * `POST /service-access/person`: a services entity of the federation, holding an access token
 * this OP issued for it, asks who the token's subject is in real name (name, ID number, phone;
 * for an organization its USCC and who acts for it). The token never carries these facts, so a
 * portal that holds it learns nothing more than its ID token said; the services entity gets them
 * in an authenticated body, and the OP records each answer in the audit log the person reads.
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { FindAccount, KoaContextWithOIDC } from 'oidc-provider';
import { recordAudit } from '../../infra/audit-log.ts';
import { Forbidden } from '../../infra/errors.ts';
import { parseBody } from '../../infra/request-body.ts';
import { validate } from '../../infra/validation.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { SERVICES_PERSON_PATH } from '../../federation/trusted-resources.ts';
import type { ResourceCalls } from './resource-calls.ts';

export { SERVICES_PERSON_PATH };

const body = z.object({ access_token: z.string().min(1).max(8192) }).strict();

/** What the services entity may learn: the identity facts, never the account's secrets. */
const REAL_NAME_SCOPE = 'openid profile phone id_number legal_person';

export function servicesPersonRoute(router: Router, deps: { runtime: EntityRuntime; calls: ResourceCalls; findAccount: FindAccount }) {
  const { runtime } = deps;
  router.post(SERVICES_PERSON_PATH, parseBody, async (ctx) => {
    const caller = await deps.calls.caller(ctx);
    const { access_token: token } = validate(body, ctx.request.body);
    // Only a token issued here, for the caller itself, still valid.
    const claims = await deps.calls.token(token, caller);
    const gid = typeof claims.gid === 'string' ? claims.gid : undefined;
    const account = await deps.findAccount(
      ctx as unknown as KoaContextWithOIDC,
      claims.sub!,
      gid ? ({ grantId: gid } as never) : undefined,
    );
    if (!account) throw new Forbidden('account_unavailable', 'the account, or the mandate the token was given under, no longer exists');
    const facts = await account.claims('userinfo', REAL_NAME_SCOPE, {}, []);
    await recordAudit(runtime.db, {
      event: 'service_access.person',
      subject: claims.sub!,
      clientId: caller,
      detail: { jti: claims.jti ?? null },
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = facts;
  });
}
