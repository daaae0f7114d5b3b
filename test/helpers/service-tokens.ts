/**
 * Access tokens for a services entity, as a portal gets them: a person registers (or logs in) at
 * an OP through openid-client with RFC 8707 `resource` = the services entity and the `services`
 * scope, consents, and the code is redeemed for that resource. Free of the test runner (bench/).
 */
import { authorize, newPerson, oidc, passwordLogin, registerOnPage, relyingParty, REDIRECT_URI } from './flows.ts';
import type { FederationAddresses, Person, RelyingParty } from './flows.ts';
import { UserAgent, type Page } from './user-agent.ts';

export const PASSWORD = 'Passw0rd-gov';

export interface ServiceToken {
  person: Person;
  rp: RelyingParty;
  ua: UserAgent;
  accessToken: string;
  idToken: string;
}

/** Asks `op` for a token for `resource`; registers a new person unless one (with an account at `op`) is given. */
export async function serviceToken(
  fed: FederationAddresses,
  opts: { op: string; resource: string; person?: Person; rp?: RelyingParty; ua?: UserAgent },
): Promise<ServiceToken> {
  const rp = opts.rp ?? (await relyingParty(fed, opts.op));
  const ua = opts.ua ?? new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid profile services', resource: opts.resource });
  let callback: Page;
  const person = opts.person ?? (await newPerson(fed));
  if (opts.person) callback = await passwordLogin(ua, a.page, person.id_number, PASSWORD);
  else callback = await registerOnPage(fed, ua, a.page, person, PASSWORD);
  if (!callback.url.startsWith(REDIRECT_URI))
    throw new Error(`no callback: ${callback.status} ${callback.url}\n${callback.html.slice(0, 800)}`);
  const tokens = await oidc.authorizationCodeGrant(
    rp.config,
    new URL(callback.url),
    { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true },
    { resource: opts.resource },
  );
  return { person, rp, ua, accessToken: tokens.access_token, idToken: tokens.id_token! };
}
