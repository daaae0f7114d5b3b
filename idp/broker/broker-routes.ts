/**
 * The broker's back-channel endpoints, called by neighbour OPs (never by browsers):
 * - `POST /broker/backchannel-logout`: a neighbour this OP relayed a login through ended that
 *   person's session (OpenID Connect Back-Channel Logout 1.0): end the linked accounts' sessions
 *   here and tell their relying parties the same way.
 * - `POST /broker/logout`: a neighbour this OP answered logins for passes a logout up (JSON
 *   `{ sub }`, entity assertion): end that account's sessions here, tell the relying parties, and
 *   pass it further up when the account is itself recognized from elsewhere.
 * - `POST /broker/accounts/import`: another OP hands over an account whose home moves here
 *   (relocation.ts).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { createRemoteJWKSet, decodeJwt } from 'jose';
import { recordAudit } from '../../infra/audit-log.ts';
import { verifyEntityAssertion } from '../../infra/entity-assertion.ts';
import { Unauthorized } from '../../infra/errors.ts';
import { LOGOUT_TOKEN_MAX_AGE_SECONDS, LogoutTokenError, verifyLogoutToken } from '../../infra/logout-token.ts';
import { cachedKeyResolver } from '../../federation/entity-configuration.ts';
import { UntrustedOp, type TrustedOps } from '../../federation/trusted-op.ts';
import type { OpDependencies } from '../interactions/interaction-context.ts';
import { hasGrant } from '../oidc/artifact-adapter.ts';
import { BROKER_BACKCHANNEL_LOGOUT_PATH } from './cross-tier-login.ts';
import type { SessionTermination } from './session-termination.ts';
import { BROKER_LOGOUT_PATH, type UpstreamLogout } from './upstream-logout.ts';
import { ACCOUNT_IMPORT_PATH, importBody } from './relocation.ts';
import { AccountExists } from '../accounts/natural-person-accounts.ts';
import type { LoaLevel } from '../loa.ts';

export const BROKER_PATHS = [BROKER_BACKCHANNEL_LOGOUT_PATH, BROKER_LOGOUT_PATH, ACCOUNT_IMPORT_PATH];

export interface BrokerRouteDependencies extends OpDependencies {
  sessions: SessionTermination;
  upstreamLogout: UpstreamLogout;
  trustedOps: TrustedOps;
}

function answerError(ctx: Koa.Context, status: number, error: string, description: string) {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

export function brokerRoutes(router: Router, deps: BrokerRouteDependencies) {
  const { runtime, recognized, sessions, upstreamLogout, trustedOps } = deps;
  const self = runtime.self.url;
  const remoteKeys = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const entityKeys = cachedKeyResolver(() => true);

  router.post(BROKER_BACKCHANNEL_LOGOUT_PATH, async (ctx) => {
    const token = (ctx.request.body as Record<string, unknown> | undefined)?.logout_token;
    if (typeof token !== 'string' || !token) return answerError(ctx, 400, 'invalid_request', 'logout_token is required');
    let claims;
    try {
      const iss = String(decodeJwt(token).iss ?? '');
      const op = await trustedOps.get(iss);
      const jwksUri = String(op.metadata.jwks_uri ?? '');
      if (!remoteKeys.has(jwksUri)) remoteKeys.set(jwksUri, createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000 }));
      claims = await verifyLogoutToken(token, { keys: remoteKeys.get(jwksUri)!, issuer: iss, audience: self, algorithms: ['ES256'] });
    } catch (err) {
      // Whatever fails here is the token's fault: not a JWT, an issuer the federation does not vouch for, a bad signature or claim.
      const reason =
        err instanceof LogoutTokenError || err instanceof UntrustedOp ? err.message : `logout token rejected: ${(err as Error).message}`;
      return answerError(ctx, 400, 'invalid_request', reason);
    }
    if (!claims.sub) return answerError(ctx, 400, 'invalid_request', 'a broker needs the sub of the logout token');
    if (!(await runtime.kv.setIfAbsent(`broker:logout-jti:${claims.iss}:${claims.jti}`, '1', LOGOUT_TOKEN_MAX_AGE_SECONDS + 60))) {
      return answerError(ctx, 400, 'invalid_request', 'logout token replayed');
    }
    for (const subject of await recognized.subjectsVia(claims.iss, claims.sub)) {
      const notified = await sessions.endSessionsOf(subject);
      await recordAudit(runtime.db, { event: 'logout.from_upstream', subject, detail: { upstream: claims.iss, notified } });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 200;
  });

  /** The calling OP, or null when the request was answered with 401. */
  const callingOp = async (ctx: Koa.Context): Promise<string | null> => {
    try {
      return await verifyEntityAssertion(ctx.get('authorization'), {
        audience: self,
        // Only OPs the federation vouches for (trust chain and real-name-op mark) may call.
        resolveKeys: async (id, opts) =>
          (await trustedOps.get(id).then(
            () => true,
            () => false,
          ))
            ? entityKeys(id, opts)
            : null,
        replay: runtime.kv,
      });
    } catch (err) {
      if (!(err instanceof Unauthorized)) throw err;
      answerError(ctx, 401, 'unauthorized', err.message);
      return null;
    }
  };

  router.post(ACCOUNT_IMPORT_PATH, async (ctx) => {
    const caller = await callingOp(ctx);
    if (!caller) return;
    const parsed = importBody.safeParse(ctx.request.body ?? {});
    if (!parsed.success)
      return answerError(
        ctx,
        400,
        'invalid_request',
        `${parsed.error.issues[0]!.path.join('.') || 'body'}: ${parsed.error.issues[0]!.message}`,
      );
    const b = parsed.data;
    try {
      const account = await deps.accounts.importMoved(
        { name: b.name, idNumber: b.id_number, phone: b.phone, passwordHash: b.password_hash, loa: b.loa as LoaLevel },
        caller,
        self,
      );
      ctx.status = 201;
      ctx.body = { subject: account.subject };
    } catch (err) {
      if (!(err instanceof AccountExists)) throw err;
      answerError(
        ctx,
        409,
        'account_exists',
        `an account with this ${err.field === 'phone' ? 'phone number' : 'ID number'} already lives here`,
      );
    }
  });

  router.post(BROKER_LOGOUT_PATH, async (ctx) => {
    const caller = await callingOp(ctx);
    if (!caller) return;
    const sub = (ctx.request.body as Record<string, unknown> | undefined)?.sub;
    if (typeof sub !== 'string' || !sub || sub.length > 128)
      return answerError(ctx, 400, 'invalid_request', 'sub (the subject this OP gave the caller) is required');
    // A neighbour may end only sessions of accounts it was given tokens for.
    if (!(await hasGrant(runtime.db, sub, caller))) return answerError(ctx, 403, 'forbidden', `${caller} holds no grant for this subject`);
    const notified = await sessions.endSessionsOf(sub, caller);
    await recordAudit(runtime.db, { event: 'logout.from_downstream', subject: sub, clientId: caller, detail: { notified } });
    await upstreamLogout.propagate(sub);
    ctx.status = 204;
  });
}
