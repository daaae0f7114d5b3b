/**
 * Building blocks of end-to-end flows: a client registered through the admin API, a synthetic
 * person from the population registry, codes read from the outbox, and the steps a person takes
 * on the OP's pages, with openid-client as the relying party. Free of the test runner, so that
 * the benchmarks use them too (bench/).
 */
import * as oidc from 'openid-client';
import { callAdmin } from '../../infra/admin-client.ts';
import { UserAgent, findForm, type Page } from './user-agent.ts';
import type { TestFederation } from './test-federation.ts';

/** What the flows need of a federation, whether it runs in this process or in another. */
export type FederationAddresses = Pick<TestFederation, 'topology' | 'config' | 'url'>;

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface Person {
  name: string;
  id_number: string;
  phone: string;
}

export interface RelyingParty {
  clientId: string;
  clientSecret?: string;
  config: oidc.Configuration;
  issuer: string;
}

export async function addClient(
  fed: FederationAddresses,
  op: string,
  body: Record<string, unknown> = {},
): Promise<{ client_id: string; client_secret?: string }> {
  return (await callAdmin(fed.topology.get(op), fed.config.dataDir, 'POST', '/admin/clients', {
    redirect_uris: [REDIRECT_URI],
    ...body,
  })) as { client_id: string; client_secret?: string };
}

export async function relyingParty(fed: FederationAddresses, op: string, body: Record<string, unknown> = {}): Promise<RelyingParty> {
  const creds = await addClient(fed, op, body);
  const issuer = fed.url(op);
  const config = await oidc.discovery(
    new URL(issuer),
    creds.client_id,
    creds.client_secret ? { client_secret: creds.client_secret } : {},
    creds.client_secret ? oidc.ClientSecretBasic(creds.client_secret) : oidc.None(),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
  return { clientId: creds.client_id, clientSecret: creds.client_secret, config, issuer };
}

export async function newPerson(fed: FederationAddresses, name?: string): Promise<Person> {
  const res = await fetch(`${fed.topology.services().url}/demo/persons`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(name ? { name } : {}),
  });
  if (res.status !== 201) throw new Error(`demo person: ${res.status} ${await res.text()}`);
  return (await res.json()) as Person;
}

/** The newest code sent to a phone. */
export async function latestOtp(fed: FederationAddresses, phone: string): Promise<string> {
  const res = await fetch(`${fed.topology.services().url}/demo/outbox?to=${phone}`);
  const messages = (await res.json()) as { body: string }[];
  const code = /验证码 (\d{6})/.exec(messages[0]?.body ?? '')?.[1];
  if (!code) throw new Error(`no code in the outbox for ${phone}`);
  return code;
}

export interface Authorization {
  page: Page;
  verifier: string;
  state: string;
  nonce: string;
}

/** Starts an authorization request (with PAR when asked) and opens the login page. */
export async function authorize(rp: RelyingParty, ua: UserAgent, params: Record<string, string> = {}, par = false): Promise<Authorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const request = {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile phone',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  };
  const url = par ? await oidc.buildAuthorizationUrlWithPAR(rp.config, request) : oidc.buildAuthorizationUrl(rp.config, request);
  const page = await ua.navigate(url.toString(), {}, REDIRECT_URI);
  return { page, verifier, state, nonce };
}

/** Consents if the OP asks, and returns the callback URL the browser was sent to. */
export async function throughConsent(ua: UserAgent, page: Page): Promise<Page> {
  if (page.url.startsWith(REDIRECT_URI)) return page;
  if (/\/consent(\?|$)/.test(new URL(page.url).pathname + '?')) return ua.submit(page, '/consent', {}, REDIRECT_URI);
  return page;
}

export async function registerOnPage(fed: FederationAddresses, ua: UserAgent, page: Page, person: Person, password: string): Promise<Page> {
  const loginPage = page.url.includes('/register')
    ? page
    : await ua.navigate(new URL(/href="([^"]*\/register[^"]*)"/.exec(page.html)![1]!.replace(/&amp;/g, '&'), page.url).toString());
  const { action, hidden } = findForm(loginPage.html, '/register');
  const sent = await ua.navigate(new URL(`${action}/otp`, loginPage.url).toString(), { form: { ...hidden, phone: person.phone } });
  if (sent.status !== 200) throw new Error(`sending the code failed: ${sent.status}`);
  const otp = await latestOtp(fed, person.phone);
  const done = await ua.submit(
    sent,
    '/register',
    { name: person.name, id_number: person.id_number, phone: person.phone, otp, password },
    REDIRECT_URI,
  );
  return throughConsent(ua, done);
}

const asksForPassword = (page: Page) => page.status === 200 && /<form[^>]*action="[^"]*\/password"/.test(page.html);
/** The login page of an OP outside any federation: the password goes with the identifier. */
const takesPasswordWithIdentifier = (page: Page) =>
  /<form[^>]*action="[^"]*\/identifier"[^>]*>(?:(?!<\/form>)[\s\S])*name="password"/.test(page.html);

/**
 * Signs in with the password: identifier and password in the login page's one POST where the OP
 * takes them together (outside any federation); otherwise the identifier, then the password on a
 * page of its own (identifier first in a federation; at once on a login_hint's page).
 */
export async function passwordLogin(ua: UserAgent, page: Page, identifier: string, password: string): Promise<Page> {
  const next = asksForPassword(page)
    ? page
    : await ua.submit(page, '/identifier', takesPasswordWithIdentifier(page) ? { identifier, password } : { identifier }, REDIRECT_URI);
  return throughConsent(ua, asksForPassword(next) ? await ua.submit(next, '/password', { password }, REDIRECT_URI) : next);
}

export async function redeem(rp: RelyingParty, callback: Page, a: Authorization) {
  if (!callback.url.startsWith(REDIRECT_URI))
    throw new Error(`expected a redirect to the client, got ${callback.status} ${callback.url}\n${callback.html.slice(0, 1500)}`);
  return oidc.authorizationCodeGrant(rp.config, new URL(callback.url), {
    pkceCodeVerifier: a.verifier,
    expectedState: a.state,
    expectedNonce: a.nonce,
    idTokenExpected: true,
  });
}

export const POST_LOGOUT_URI = 'http://127.0.0.1:9/bye';

/** RP-initiated logout, confirmed on the OP's page as the person would; returns where it ended. */
export async function logOut(rp: RelyingParty, ua: UserAgent, idToken: string): Promise<Page> {
  const confirm = await ua.navigate(
    oidc.buildEndSessionUrl(rp.config, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_URI }).toString(),
  );
  return ua.submit(confirm, '/session/end/confirm', { logout: 'yes' }, POST_LOGOUT_URI);
}

export { oidc };
