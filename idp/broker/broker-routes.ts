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
 * Routes throw; errors are answered as JSON (op-app.ts answers these paths with answerJson).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { createRemoteJWKSet, decodeJwt } from 'jose';
import { recordAudit } from '../../infra/audit-log.ts';
import { crashPoint } from '../../infra/crash-points.ts';
import { verifyEntityAssertion } from '../../infra/entity-assertion.ts';
import { BadRequest, Forbidden } from '../../infra/errors.ts';
import { LOGOUT_TOKEN_MAX_AGE_SECONDS, LogoutTokenError, verifyLogoutToken } from '../../infra/logout-token.ts';
import { cachedKeyResolver } from '../../federation/entity-configuration.ts';
import { UntrustedOp, type TrustedOps } from '../../federation/trusted-op.ts';
import type { OpDependencies } from '../op-dependencies.ts';
import { hasGrant } from '../oidc/artifact-adapter.ts';
import { BROKER_BACKCHANNEL_LOGOUT_PATH } from './cross-tier-login.ts';
import { BROKER_TIMEOUTS } from './broker-timeouts.ts';
import type { SessionTermination } from './session-termination.ts';
import { BROKER_LOGOUT_PATH, type UpstreamLogout } from './upstream-logout.ts';
import { ACCOUNT_IMPORT_PATH, importBody } from './relocation.ts';
import type { LoaLevel } from '../../federation/loa.ts';

export const BROKER_PATHS = [BROKER_BACKCHANNEL_LOGOUT_PATH, BROKER_LOGOUT_PATH, ACCOUNT_IMPORT_PATH];

export interface BrokerRouteDependencies extends OpDependencies {
  sessions: SessionTermination;
  upstreamLogout: UpstreamLogout;
  trustedOps: TrustedOps;
}

export function brokerRoutes(router: Router, deps: BrokerRouteDependencies) {
  const { runtime, recognized, sessions, upstreamLogout, trustedOps } = deps;
  const self = runtime.self.url;
  const remoteKeys = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const entityKeys = cachedKeyResolver(() => true, trustedOps.fetcher);

  router.post(BROKER_BACKCHANNEL_LOGOUT_PATH, async (ctx) => {
    const token = (ctx.request.body as Record<string, unknown> | undefined)?.logout_token;
    if (typeof token !== 'string' || !token) throw new BadRequest('invalid_request', 'logout_token is required');
    let claims;
    try {
      const iss = String(decodeJwt(token).iss ?? '');
      const op = await trustedOps.get(iss);
      const jwksUri = String(op.metadata.jwks_uri ?? '');
      if (!remoteKeys.has(jwksUri))
        remoteKeys.set(jwksUri, createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: BROKER_TIMEOUTS.neighbourJwksMs }));
      claims = await verifyLogoutToken(token, { keys: remoteKeys.get(jwksUri)!, issuer: iss, audience: self, algorithms: ['ES256'] });
    } catch (err) {
      // Whatever fails here is the token's fault: not a JWT, an issuer the federation does not vouch for, a bad signature or claim.
      const reason =
        err instanceof LogoutTokenError || err instanceof UntrustedOp ? err.message : `logout token rejected: ${(err as Error).message}`;
      throw new BadRequest('invalid_request', reason, { cause: err });
    }
    if (!claims.sub) throw new BadRequest('invalid_request', 'a broker needs the sub of the logout token');
    if (!(await runtime.kv.setIfAbsent(`broker:logout-jti:${claims.iss}:${claims.jti}`, '1', LOGOUT_TOKEN_MAX_AGE_SECONDS + 60))) {
      throw new BadRequest('invalid_request', 'logout token replayed');
    }
    for (const subject of await recognized.subjectsVia(claims.iss, claims.sub)) {
      const notified = await sessions.endSessionsOf(subject);
      await recordAudit(runtime.db, { event: 'logout.from_upstream', subject, detail: { upstream: claims.iss, notified } });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 200;
  });

  /** The calling OP; throws Unauthorized. */
  const callingOp = (ctx: Koa.Context): Promise<string> =>
    verifyEntityAssertion(ctx.get('authorization'), {
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

  router.post(ACCOUNT_IMPORT_PATH, async (ctx) => {
    const caller = await callingOp(ctx);
    const parsed = importBody.safeParse(ctx.request.body ?? {});
    if (!parsed.success)
      throw new BadRequest('invalid_request', `${parsed.error.issues[0]!.path.join('.') || 'body'}: ${parsed.error.issues[0]!.message}`);
    const b = parsed.data;
    // A person with an account here already: AccountExists, 409 account_exists.
    const account = await deps.accounts.importMoved(
      { name: b.name, idNumber: b.id_number, phone: b.phone, passwordHash: b.password_hash, loa: b.loa as LoaLevel },
      caller,
      self,
    );
    crashPoint('relocation.taken', self);
    ctx.status = 201;
    ctx.body = { subject: account.subject };
  });

  router.post(BROKER_LOGOUT_PATH, async (ctx) => {
    const caller = await callingOp(ctx);
    const sub = (ctx.request.body as Record<string, unknown> | undefined)?.sub;
    if (typeof sub !== 'string' || !sub || sub.length > 128)
      throw new BadRequest('invalid_request', 'sub (the subject this OP gave the caller) is required');
    // A neighbour may end only sessions of accounts it was given tokens for.
    if (!(await hasGrant(runtime.db, sub, caller))) throw new Forbidden('forbidden', `${caller} holds no grant for this subject`);
    const notified = await sessions.endSessionsOf(sub, caller);
    await recordAudit(runtime.db, { event: 'logout.from_downstream', subject: sub, clientId: caller, detail: { notified } });
    await upstreamLogout.propagate(sub);
    ctx.status = 204;
  });
}
