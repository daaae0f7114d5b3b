/**
 * The visited side of mutual recognition for the weak OP (helpers/weak-op.ts): a stand-in for a
 * gov-id OP whose route to the home is one hop. It is an RP of the home (a client it registers
 * there), sends an identifier that is not its own to the home as a login_hint, redeems the answer
 * and verifies the home's ID token, links a recognized account that repeats the home's claims
 * with `home` and `recognized`, asserts the home's level capped by the home's trust mark, and
 * passes a logout on to the home. Each recognition weakness breaks exactly one of these.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { LOA_LEVELS } from '../../../idp/loa.ts';
import type { WeakOp, Weakness } from './weak-op.ts';

export const UPSTREAM_CALLBACK_PATH = '/upstream/callback';

interface PendingHop {
  uid: string;
  verifier: string;
  nonce: string;
}

interface RecognizedAccount {
  homeSub: string;
  name: unknown;
}

const random = (bytes = 16) => randomBytes(bytes).toString('base64url');

export class Recognizer {
  private readonly pending = new Map<string, PendingHop>();
  private readonly accounts = new Map<string, RecognizedAccount>();
  private readonly client: { client_id: string; client_secret: string };
  private readonly homeKeys: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly issuer: string,
    private readonly home: WeakOp,
    private readonly weak: Set<Weakness>,
    /** The acr values of both OPs, by level, lowest first. */
    private readonly acrByLevel: string[],
  ) {
    this.client = { client_id: `broker-${new URL(issuer).port}`, client_secret: random() };
    home.addClient({
      ...this.client,
      redirect_uris: [issuer + UPSTREAM_CALLBACK_PATH],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    this.homeKeys = createRemoteJWKSet(new URL(`${home.issuer}/jwks`));
  }

  /** Where the browser goes to log the person in at home: an authorization request with the identifier as login_hint. */
  start(uid: string, identifier: string): string {
    const hop = { uid, verifier: random(32), nonce: random() };
    const state = random();
    this.pending.set(state, hop);
    const url = new URL(`${this.home.issuer}/auth`);
    const params: Record<string, string> = {
      client_id: this.client.client_id,
      redirect_uri: this.issuer + UPSTREAM_CALLBACK_PATH,
      response_type: 'code',
      scope: 'openid profile',
      state,
      nonce: hop.nonce,
      code_challenge: createHash('sha256').update(hop.verifier).digest('base64url'),
      code_challenge_method: 'S256',
      login_hint: identifier,
      // Weakness: the home is made to ask for the password every time, so no session along the chain is ever used.
      ...(this.weak.has('sso-ignored') ? { prompt: 'login' } : {}),
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /** The interaction an answer of the home belongs to (its state), or null. */
  interactionOf(query: URLSearchParams): string | null {
    return this.pending.get(query.get('state') ?? '')?.uid ?? null;
  }

  /** Redeems the home's answer and links the recognized account; returns the login to finish the interaction with. */
  async finish(query: URLSearchParams): Promise<{ accountId: string; acr: string }> {
    const state = query.get('state') ?? '';
    const hop = this.pending.get(state);
    this.pending.delete(state);
    if (!hop) throw new Error('no hop in flight for this state');
    const res = await fetch(`${this.home.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${this.client.client_id}:${this.client.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: query.get('code') ?? '',
        redirect_uri: this.issuer + UPSTREAM_CALLBACK_PATH,
        code_verifier: hop.verifier,
      }),
    });
    const tokens = (await res.json()) as { id_token?: string };
    if (!tokens.id_token) throw new Error(`the home did not redeem the code: ${res.status} ${JSON.stringify(tokens)}`);
    const { payload } = await jwtVerify(tokens.id_token, this.homeKeys, { issuer: this.home.issuer, audience: this.client.client_id });
    if (payload.nonce !== hop.nonce) throw new Error('the home answered with another nonce');
    // The home's level, believed up to what its trust mark allows.
    const level = Math.min(this.acrByLevel.indexOf(String(payload.acr)), LOA_LEVELS.indexOf(this.home.maxLoa));
    const acr = this.acrByLevel[this.weak.has('acr-above-home-mark') ? this.acrByLevel.length - 1 : level]!;
    const accountId = `recognized-${payload.sub}`;
    this.accounts.set(accountId, { homeSub: payload.sub!, name: payload.name });
    return { accountId, acr };
  }

  /** The claims of a recognized account, or null for an account that is not one. */
  claims(accountId: string): { sub: string; [claim: string]: unknown } | null {
    const account = this.accounts.get(accountId);
    if (!account) return null;
    return { sub: accountId, name: account.name, ...(this.weak.has('no-home-claims') ? {} : { home: this.home.issuer, recognized: true }) };
  }

  /** A session of a recognized account ended here: the home's sessions of that person end too. */
  loggedOut(accountId: string): void {
    const account = this.accounts.get(accountId);
    if (account && !this.weak.has('logout-not-propagated')) this.home.endSessionsOf(account.homeSub);
  }
}
