/**
 * Logout travelling up the chain. When a recognized account's session ends here, the neighbour
 * it came through is asked to end that person's sessions as well (`POST /broker/logout`,
 * authenticated with this OP's entity assertion, naming the neighbour's own subject); that
 * neighbour notifies its relying parties by back-channel logout and passes the logout further up.
 * Back-channel logout carries it down and sideways, so every session along the chain ends.
 */
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import type { Logger } from '../../infra/log.ts';
import type { RecognizedAccounts } from '../accounts/recognized-accounts.ts';
import { BROKER_TIMEOUTS } from './broker-timeouts.ts';

export const BROKER_LOGOUT_PATH = '/broker/logout';

export class UpstreamLogout {
  constructor(private readonly o: { self: string; recognized: RecognizedAccounts; signingKey: () => PrivateJwk; log: Logger }) {}

  /** Asks the upstream OP of a recognized account to end its sessions; never throws (logged). */
  async propagate(subject: string): Promise<boolean> {
    try {
      const account = await this.o.recognized.findBySubject(subject);
      if (!account) return false;
      const { status, json } = await postAsEntity({
        from: this.o.self,
        key: this.o.signingKey(),
        to: account.upstream,
        path: BROKER_LOGOUT_PATH,
        body: { sub: account.upstreamSubject },
        timeoutMs: BROKER_TIMEOUTS.upstreamLogoutMs,
      });
      if (status < 200 || status >= 300) throw new Error(`${account.upstream} answered ${status} ${String(json.error ?? '')}`.trim());
      return true;
    } catch (err) {
      this.o.log.warn('logout could not be passed upstream', { subject, err });
      return false;
    }
  }
}
