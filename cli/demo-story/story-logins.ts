/**
 * The people of the demo story, as a person would become one: a synthetic person from the
 * population registry (demo API), registered through an OP's real registration forms (the SMS
 * code read from the demo outbox), and an access token for a services entity from that login
 * (openid-client, PKCE, RFC 8707 resource). Over HTTP only; the OP's client is registered through
 * its admin API with the deployment's admin token (the data folder's master key).
 */
import * as oidc from 'openid-client';
import { Browser, type Page } from '../../conformance/browser.ts';
import { completeInteraction, registerThroughForms, type PersonToRegister } from '../../conformance/login-driver.ts';
import type { Topology } from '../../federation/topology.ts';
import { callAdmin } from '../../infra/admin-client.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PASSWORD = 'Demo-story-2026';

export interface StoryPerson extends PersonToRegister {
  /** An access token for the services entity, from this person's login. */
  token: string;
}

async function json(res: Response, what: string): Promise<unknown> {
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${what}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export class StoryLogins {
  private readonly clients = new Map<string, Promise<oidc.Configuration>>();
  /** The base registries (population, the OPs' SMS outbox): national's services entity. */
  private readonly registries: string;

  constructor(
    private readonly topology: Topology,
    private readonly dataDir: string,
    /** The services entity the tokens are for, unless another is named. */
    private readonly services: string,
  ) {
    this.registries = topology.services().url;
  }

  private async newPerson(): Promise<PersonToRegister> {
    const res = await fetch(`${this.registries}/demo/persons`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return (await json(res, 'a synthetic person (is the demo running with its demo API?)')) as PersonToRegister;
  }

  private async code(phone: string): Promise<string> {
    const messages = (await json(await fetch(`${this.registries}/demo/outbox?to=${phone}`), 'the outbox')) as { body: string }[];
    const code = messages.map((m) => /验证码 (\d{6})/.exec(m.body)?.[1]).find(Boolean);
    if (!code) throw new Error('no SMS code in the outbox');
    return code;
  }

  /** The story's client at an OP, registered once. */
  private client(opId: string): Promise<oidc.Configuration> {
    let pending = this.clients.get(opId);
    if (!pending) {
      const op = this.topology.get(opId);
      pending = (async () => {
        const creds = (await callAdmin(op, this.dataDir, 'POST', '/admin/clients', { redirect_uris: [REDIRECT_URI] })) as {
          client_id: string;
          client_secret?: string;
        };
        return oidc.discovery(
          new URL(op.issuer ?? op.url),
          creds.client_id,
          creds.client_secret ? { client_secret: creds.client_secret } : {},
          creds.client_secret ? oidc.ClientSecretBasic(creds.client_secret) : oidc.None(),
          { execute: [oidc.allowInsecureRequests] },
        );
      })();
      this.clients.set(opId, pending);
    }
    return pending;
  }

  /** An authorization request at `opId` for `resource`, opened in a browser that follows the brokers to the person's home. */
  private async start(opId: string, resource: string) {
    const config = await this.client(opId);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile services',
      resource,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const ops = this.topology.ops().map((o) => new URL(o.issuer ?? o.url).origin);
    const browser = new Browser(new Set(ops));
    const page = await browser.navigate(url.toString());
    const finish = async (end: Page) => {
      if (!end.left) throw new Error(`the login at ${opId} did not come back to the client (${end.status} ${end.url})`);
      const tokens = await oidc.authorizationCodeGrant(
        config,
        new URL(end.url),
        { pkceCodeVerifier: verifier, expectedState: state },
        { resource },
      );
      return tokens.access_token;
    };
    return { browser, page, finish };
  }

  /** A new person registers at the OP `opId` and gets a token for the services entity. */
  async signUp(opId: string, resource = this.services): Promise<StoryPerson> {
    const person = await this.newPerson();
    const { browser, page, finish } = await this.start(opId, resource);
    const token = await finish(await registerThroughForms(browser, page, person, PASSWORD, (phone) => this.code(phone)));
    return { ...person, token };
  }

  /** A person registered elsewhere logs in at `opId` (the brokers take them home for the password) for `resource`. */
  async logIn(opId: string, person: PersonToRegister, resource: string): Promise<StoryPerson> {
    const { browser, page, finish } = await this.start(opId, resource);
    const token = await finish(await completeInteraction(browser, page, { username: person.id_number, password: PASSWORD }));
    return { ...person, token };
  }
}
