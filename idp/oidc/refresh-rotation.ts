/**
 * A refresh grant rotates the presented token before it stores the new access token (in the
 * key-value store). When the grant fails after that, during a store outage say, the client never
 * receives the successor; its next try with the token it holds would look like a replay and revoke
 * the grant. So a failed answer undoes the rotation before it is sent: the refresh token outlives
 * the failure, as it outlives the outage.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '../../infra/database.ts';
import { DatabaseUnavailable } from '../../infra/errors.ts';
import type { Logger } from '../../infra/log.ts';
import { undoRotation } from './artifact-adapter.ts';

/**
 * Middleware for oidc-provider's own application (`provider.use`). When the database itself went
 * down in the middle of the rotation, the undo cannot be written either: the failure is logged and
 * the error answer goes out as it is (503), never a server error.
 */
export function rotationAllOrNothing(db: Database, log: Pick<Logger, 'error'>) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    if (ctx.status < 400) return;
    const { RotatedRefreshToken: presented, RefreshToken: successor } = ctx.oidc?.entities ?? {};
    if (presented && successor)
      await undoRotation(db, presented.jti, successor.jti).catch((err: unknown) => {
        if (!(err instanceof DatabaseUnavailable)) throw err;
        log.error('a refresh token rotation that failed could not be undone: the client must sign in again', { err });
      });
  };
}
