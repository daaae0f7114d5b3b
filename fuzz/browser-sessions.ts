/**
 * The live browser state fuzzed forms need, got the way a person gets it: an interaction of each
 * OP (opened by its account area's own sign-in, so every OP has one without any registered
 * client), the account area signed in as a synthetic person registered through those pages
 * (where the deployment's demo registries give one), and each portal's home page with its CSRF
 * token. Interactions are renewed after a number of uses, since fuzzed forms may end them.
 */
import { UserAgent, findForm } from '../test/helpers/user-agent.ts';
import type { Catalogue, Endpoint } from './endpoints.ts';
import type { LiveState } from './mutations.ts';

const USES_PER_INTERACTION = 16;
const PASSWORD = 'Fuzz-Passw0rd-2026!';

interface Interaction {
  state: LiveState;
  uses: number;
}

export class BrowserSessions {
  readonly #catalogue: Catalogue;
  readonly #notes: string[];
  readonly #interactions = new Map<string, Promise<Interaction>>();
  readonly #accounts = new Map<string, Promise<LiveState | null>>();
  readonly #portals = new Map<string, Promise<LiveState>>();

  constructor(catalogue: Catalogue, notes: string[]) {
    this.#catalogue = catalogue;
    this.#notes = notes;
  }

  /** The state `endpoint` needs, or null when it needs none (or none could be had). */
  async for(endpoint: Endpoint): Promise<LiveState | null> {
    switch (endpoint.session) {
      case 'interaction':
        return this.#interaction(endpoint.origin);
      case 'account':
        return this.#account(endpoint.origin);
      case 'portal':
        return this.#portal(endpoint.origin);
      default:
        return null;
    }
  }

  async #interaction(op: string): Promise<LiveState> {
    let current = this.#interactions.get(op);
    const used = current ? await current.catch(() => null) : null;
    if (!current || !used || used.uses >= USES_PER_INTERACTION) {
      current = openInteraction(op).then((state) => ({ state, uses: 0 }));
      this.#interactions.set(op, current);
    }
    const interaction = await current;
    interaction.uses++;
    return interaction.state;
  }

  #account(op: string): Promise<LiveState | null> {
    let account = this.#accounts.get(op);
    if (!account) {
      account = signIntoAccountArea(op, this.#catalogue).catch((err: Error) => {
        this.#notes.push(`account area of ${op} fuzzed signed out: ${err.message}`);
        return null;
      });
      this.#accounts.set(op, account);
    }
    return account;
  }

  #portal(portal: string): Promise<LiveState> {
    let state = this.#portals.get(portal);
    if (!state) {
      state = (async () => {
        const ua = new UserAgent();
        const page = await ua.navigate(`${portal}/`);
        return { cookie: ua.cookieHeader(new URL(portal)), csrf: findForm(page.html, '/login').hidden.csrf ?? '' };
      })();
      this.#portals.set(portal, state);
    }
    return state;
  }
}

/** A fresh interaction: the account area sends a signed-out browser through the OP's own login. */
async function openInteraction(op: string, ua = new UserAgent()): Promise<LiveState> {
  const page = await ua.navigate(`${op}/account`);
  const uid = /\/interaction\/([^/?#]+)/.exec(page.url)?.[1];
  if (!uid) throw new Error(`${op}/account did not lead to an interaction (${page.status} ${page.url})`);
  return { uid, cookie: ua.cookieHeader(new URL(op)), csrf: /name="csrf" value="([^"]*)"/.exec(page.html)?.[1] ?? '' };
}

/**
 * Registers a synthetic person from the demo population registry at `op` through its pages and
 * returns the signed-in account area's state. Needs the demo API of the services entity.
 */
async function signIntoAccountArea(op: string, catalogue: Catalogue): Promise<LiveState> {
  const services = catalogue.entities.find((e) => e.kind === 'services');
  if (!services) throw new Error('no services entity to draw a synthetic person from');
  const created = await fetch(`${services.url}/demo/persons`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (created.status !== 201) throw new Error(`the demo population registry answered ${created.status}`);
  const person = (await created.json()) as { name: string; id_number: string; phone: string };
  const ua = new UserAgent();
  const login = await ua.navigate(`${op}/account`);
  const registerHref = /href="([^"]*\/register[^"]*)"/.exec(login.html)?.[1];
  if (!registerHref) throw new Error('the login page offers no registration');
  const registerPage = await ua.navigate(new URL(registerHref.replace(/&amp;/g, '&'), login.url).toString());
  const { action, hidden } = findForm(registerPage.html, '/register');
  const sent = await ua.navigate(new URL(`${action}/otp`, registerPage.url).toString(), {
    form: { ...hidden, phone: person.phone },
    headers: { origin: 'null', 'sec-fetch-site': 'same-origin' },
  });
  if (sent.status !== 200) throw new Error(`sending the registration code failed: ${sent.status}`);
  const outbox = (await (await fetch(`${services.url}/demo/outbox?to=${person.phone}`)).json()) as { body: string }[];
  const otp = /(\d{6})/.exec(outbox[0]?.body ?? '')?.[1];
  if (!otp) throw new Error('no registration code in the demo outbox');
  const account = await ua.submit(sent, '/register', {
    name: person.name,
    id_number: person.id_number,
    phone: person.phone,
    otp,
    password: PASSWORD,
  });
  const csrf = /name="csrf" value="([^"]*)"/.exec(account.html)?.[1];
  if (!account.url.endsWith('/account') || !csrf)
    throw new Error(`registration did not end in the account area (${account.status} ${account.url})`);
  return { cookie: ua.cookieHeader(new URL(op)), csrf };
}
