/**
 * Ending every session of an account at this OP when a logout comes from elsewhere in the chain
 * (a neighbour's back-channel logout, or a downstream broker passing a logout up). It does what
 * oidc-provider's end_session does for one browser: a back-channel logout token to each relying
 * party of each session, grants revoked unless they were meant to outlive logout, the session
 * destroyed. Sessions are found through the per-account index the storage adapter keeps.
 */
import type Provider from 'oidc-provider';
import type { Logger } from '../../infra/log.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import { accountSessionsKey } from '../oidc/artifact-adapter.ts';
import { hopSessionKey } from './cross-tier-login.ts';
import { TTL } from '../oidc/provider-config.ts';

/**
 * A session ended from elsewhere: it never signs anyone in again. Kept as long as a session can
 * live, because a request in flight at that moment may save the session object back (oidc-provider
 * persists the session it loaded), and a login in flight in it may still carry that login to its end.
 */
export const endedSessionKey = (sessionUid: string) => `broker:ended-session:${sessionUid}`;

export class SessionTermination {
  constructor(
    private readonly provider: Provider,
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
  ) {}

  /**
   * Ends the account's sessions; returns the relying parties told (client IDs). `except` is not
   * told: the neighbour that passed the logout here, which ends its own sessions itself.
   */
  async endSessionsOf(accountId: string, except?: string): Promise<string[]> {
    const { provider } = this;
    const notified: string[] = [];
    for (const uid of await this.kv.members(accountSessionsKey(accountId))) {
      const session = await provider.Session.findByUid(uid);
      if (!session || session.accountId !== accountId) continue;
      const authorizations = Object.entries(session.authorizations ?? {});
      await Promise.all(
        authorizations.map(async ([clientId, authorization]) => {
          const client = await provider.Client.find(clientId).catch(() => undefined);
          if (client?.backchannelLogoutUri && authorization.sid && clientId !== except) {
            try {
              // Public in oidc-provider (end_session calls it) but missing from its type definitions.
              await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(
                accountId,
                authorization.sid,
              );
              notified.push(clientId);
            } catch (err) {
              this.log.warn('back-channel logout failed', { client_id: clientId, err });
            }
          }
          if (authorization.grantId && !authorization.persistsLogout) {
            await Promise.all(
              [provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode].map((m) =>
                m.revokeByGrantId(authorization.grantId!),
              ),
            );
            await provider.Grant.adapter.destroy(authorization.grantId);
          }
        }),
      );
      await this.kv.set(endedSessionKey(uid), '1', TTL.Session);
      // Destroying it would also end the login under way in this browser (oidc-provider binds
      // the interaction to its session); that login switches the account and ends it properly.
      if (!(await this.kv.get(hopSessionKey(uid)))) await session.destroy();
    }
    await this.kv.del(accountSessionsKey(accountId));
    return notified;
  }
}
