/**
 * Logout travelling up the chain. When a recognized account's session ends here, the neighbour
 * it came through is asked to end that person's sessions as well (`POST /broker/logout`,
 * authenticated with this OP's entity assertion, naming the neighbour's own subject); that
 * neighbour notifies its relying parties by back-channel logout and passes the logout further up.
 * Back-channel logout carries it down and sideways, so every session along the chain ends.
 */
import { signEntityAssertion } from '../../infra/entity-assertion.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import type { Logger } from '../../infra/log.ts';
import type { RecognizedAccounts } from '../accounts/recognized-accounts.ts';

export const BROKER_LOGOUT_PATH = '/broker/logout';
const TIMEOUT_MS = 5000;

export class UpstreamLogout {
  constructor(private readonly o: { self: string; recognized: RecognizedAccounts; signingKey: () => PrivateJwk; log: Logger }) {}

  /** Asks the upstream OP of a recognized account to end its sessions; never throws (logged). */
  async propagate(subject: string): Promise<boolean> {
    try {
      const account = await this.o.recognized.findBySubject(subject);
      if (!account) return false;
      const res = await fetch(account.upstream + BROKER_LOGOUT_PATH, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await signEntityAssertion(this.o.signingKey(), this.o.self, account.upstream)}`,
        },
        body: JSON.stringify({ sub: account.upstreamSubject }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`${account.upstream} answered ${res.status} ${await res.text().catch(() => '')}`.trim());
      return true;
    } catch (err) {
      this.o.log.warn('logout could not be passed upstream', { subject, err });
      return false;
    }
  }
}
