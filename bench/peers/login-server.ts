/**
 * What the peers benchmark needs of a server it signs people in at, gov-id's OP or a peer: the
 * relying party registered there, the server's own steps between the authorization request and
 * the redirect back (its login page or its login API, as a browser uses them), and its CPU time
 * around a measured loop.
 */
import * as oidc from 'openid-client';
import type { RelyingParty } from '../../test/helpers/flows.ts';
import type { Page, UserAgent } from '../../test/helpers/user-agent.ts';
import type { LoopResult } from '../measure.ts';

export interface LoginServer {
  /** What its figures are named after: gov_id, glewlwyd, lemonldap. */
  key: string;
  title: string;
  /** How it checks a password, as configured here. */
  hashing: string;
  rp: RelyingParty;
  /** The scopes the relying party asks for: what its userinfo answers with a name (and more) for. */
  scope: string;
  /** Signs in as the test user of `slot` from the page the authorization request led to; returns the redirect to the client. */
  signIn(ua: UserAgent, page: Page, slot: number): Promise<Page>;
  /** Runs `loop` and reads the server's CPU time around it (profiling it where the server can be). */
  measure(name: string, loop: () => Promise<LoopResult>): Promise<{ loop: LoopResult; cpuMsPerLogin: number }>;
  close(): Promise<void>;
}

/** A peer server, started from the Debian packages installed on this machine. */
export interface Peer {
  key: string;
  title: string;
  /** The packages it runs from: installed when all of them are (`apt-get install -y` these). */
  packages: string[];
  /** Starts it in a folder of its own with `users` test users and a client, answering. */
  start(users: number): Promise<LoginServer>;
}

/** A peer's measurement: `cpuMs` read before and after the loop, per successful login. */
export async function measuredByCpu(cpuMs: () => number, loop: () => Promise<LoopResult>) {
  const cpu0 = cpuMs();
  const result = await loop();
  return { loop: result, cpuMsPerLogin: (cpuMs() - cpu0) / result.ok };
}

/** A confidential client at a peer's issuer, found by discovery; authenticates with client_secret_basic. */
export async function peerRelyingParty(issuer: string, clientId: string, clientSecret: string): Promise<RelyingParty> {
  const config = await oidc.discovery(new URL(issuer), clientId, { client_secret: clientSecret }, oidc.ClientSecretBasic(clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
  return { clientId, clientSecret, config, issuer };
}

/** One request of a page's script (an XHR): its answer read, its status checked. */
export async function pageRequest(
  ua: UserAgent,
  url: string,
  expectedStatus: number,
  init: Parameters<UserAgent['request']>[1] = {},
): Promise<unknown> {
  const res = await ua.request(url, init);
  const text = await res.text();
  if (res.status !== expectedStatus)
    throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status}, expected ${expectedStatus}: ${text.slice(0, 300)}`);
  return text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
}
