/**
 * A refresh grant rotates the presented token before it stores the new access token (in the
 * key-value store). When the grant fails after that, during a store outage say, the client never
 * receives the successor; its next try with the token it holds would look like a replay and revoke
 * the grant. So a failed answer undoes the rotation before it is sent: the refresh token outlives
 * the failure, as it outlives the outage.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '../../infra/database.ts';
import { undoRotation } from './artifact-adapter.ts';

/** Middleware for oidc-provider's own application (`provider.use`). */
export function rotationAllOrNothing(db: Database) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    if (ctx.status < 400) return;
    const { RotatedRefreshToken: presented, RefreshToken: successor } = ctx.oidc?.entities ?? {};
    if (presented && successor) await undoRotation(db, presented.jti, successor.jti);
  };
}
