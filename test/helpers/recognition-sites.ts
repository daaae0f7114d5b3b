/**
 * The places a person logs in at in the mutual-recognition tests: an OP through a relying party
 * driven by openid-client, or the hybrid province js through its city portal nj (the province's
 * pages in the city's name). Each site starts a login in a browser and reads back who the person
 * is there (from the ID token, or from the portal's page).
 */
import { UserAgent, type Page } from './user-agent.ts';
import {
  authorize,
  newPerson,
  redeem,
  registerOnPage,
  relyingParty,
  REDIRECT_URI,
  throughConsent,
  type Authorization,
  type FederationAddresses,
  type Person,
  type RelyingParty,
} from './flows.ts';
import type { TestFederation } from './test-federation.ts';
import { HomeRegistry, type HomeKind } from '../../federation/registry-of-homes.ts';

export interface SignedIn {
  sub?: string;
  /** Legal persons: the organization and who acts for it. */
  orgName?: string;
  actName?: string;
  name?: string;
  home?: string;
  recognized?: boolean;
  acr?: string;
  userType?: string;
  idToken?: string;
}

export interface Login {
  /** The first page the person sees (the visited OP's identifier page). */
  page: Page;
  /** Reads who is signed in from the page the flow ended on. */
  complete(last: Page): Promise<SignedIn>;
}

export interface Site {
  /** The OP whose accounts the site's people use (js for the nj portal). */
  op: string;
  label: string;
  /** `legal`: the login is for an organization (scope legal_person). */
  start(ua: UserAgent, params?: Record<string, string>, legal?: boolean): Promise<Login>;
}

/** What a portal's home page shows of the person; the portal names the home platform, read back as its entity ID. */
function fromPortalPage(fed: TestFederation, page: Page): SignedIn {
  const dd = (dt: string) => new RegExp(`<dt>${dt}</dt>\\s*<dd>(.*?)</dd>`).exec(page.html)?.[1];
  const homeName = dd('账号注册地');
  if (!/action="\/logout"/.test(page.html))
    throw new Error(`the portal shows no signed-in person: ${page.status} ${page.url}\n${page.html.slice(0, 1500)}`);
  return {
    name: /<h1>(.*?)，您好<\/h1>/.exec(page.html)?.[1],
    home: fed.topology.entities.find((e) => e.name['zh-CN'] === homeName)?.url ?? homeName,
    recognized: dd('互认账号') !== undefined,
    acr: /<code>(.*?)<\/code>/.exec(dd('实名等级') ?? '')?.[1],
    userType: dd('用户类型') === '法人' ? 'legal' : 'natural',
    orgName: dd('单位名称'),
    actName: dd('办事人'),
  };
}

/** An OP with a relying party of its own (registered through the admin API). */
export function opSite(fed: FederationAddresses, op: string, rpBody: Record<string, unknown> = {}): Site {
  let rp: Promise<RelyingParty> | undefined;
  return {
    op,
    label: op,
    async start(ua, params = {}, legal = false) {
      rp ??= relyingParty(fed, op, { scope: 'openid profile phone id_number legal_person', ...rpBody });
      const client = await rp;
      const a: Authorization = await authorize(
        client,
        ua,
        { scope: legal ? 'openid profile legal_person' : 'openid profile id_number', ...params },
        true,
      );
      return {
        page: a.page,
        async complete(last) {
          const tokens = await redeem(client, last, a);
          const c = tokens.claims()!;
          const act = c.act as { name?: string } | undefined;
          return {
            sub: c.sub,
            name: c.name as string,
            home: c.home as string,
            recognized: c.recognized as boolean,
            acr: c.acr as string,
            userType: c.user_type as string,
            idToken: tokens.id_token,
            ...(c.org_name ? { orgName: c.org_name as string, actName: act?.name } : {}),
          };
        },
      };
    },
  };
}

/** A hybrid-mode city portal (nj under js): its people's accounts live at the province. */
export function portalSite(fed: TestFederation, portal: string): Site {
  const url = fed.url(portal);
  const op = fed.topology.get(portal).superior!;
  return {
    op,
    label: `${op} (via ${portal})`,
    async start(ua, params = {}, legal = false) {
      const home = await ua.navigate(`${url}/`);
      const page = await ua.submit(home, '/login', { ...params, ...(legal ? { as: 'legal' } : {}) });
      return { page, complete: async (last) => fromPortalPage(fed, last) };
    },
  };
}

/**
 * Registers the person on the site's own registration page (which signs them in), and waits until
 * the registry of homes at national knows the home: publication goes through outboxes, city →
 * province → national, a moment after the registration commits.
 */
export async function registerAt(fed: TestFederation, site: Site, person: Person, password: string): Promise<SignedIn> {
  const ua = new UserAgent();
  const login = await site.start(ua);
  const last = await registerOnPage(fed, ua, login.page, person, password);
  const signedIn = await login.complete(last);
  await homePublished(fed, 'natural', person.id_number, fed.url(site.op));
  return signedIn;
}

export async function homePublished(fed: TestFederation, kind: HomeKind, identifier: string, home: string): Promise<void> {
  const national = fed.host.entities.find((e) => e.entity.id === 'national');
  if (!national) return;
  const registry = new HomeRegistry(national.runtime.db, national.runtime.blindIndex);
  for (let i = 0; i < 200; i++) {
    if ((await registry.lookup(kind, identifier)) === home) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the registry of homes at national never learned that ${home} is the home`);
}

/**
 * Logs in at the site with the identifier and the password typed on the home OP's page (to
 * which the brokers take the browser). Returns the page of the home OP too, to look at it.
 */
export async function loginAt(
  ua: UserAgent,
  site: Site,
  identifier: string,
  password: string | null,
  params: Record<string, string> = {},
  legal = false,
): Promise<{ signedIn: SignedIn; passwordPage: Page | null; last: Page }> {
  const login = await site.start(ua, params, legal);
  let page = login.page;
  if (/\/interaction\//.test(page.url)) page = await ua.submit(page, '/identifier', { identifier });
  let passwordPage: Page | null = null;
  if (!page.url.startsWith(REDIRECT_URI) && /\/password"/.test(page.html)) {
    if (password === null) throw new Error(`a password was asked at ${page.url}`);
    passwordPage = page;
    page = await ua.submit(page, '/password', { password }, REDIRECT_URI);
  }
  // For an organization: the home's picker, the first organization the person may act for.
  const org = /<input type="radio" name="org" value="([^"]+)"/.exec(page.html)?.[1];
  if (legal && org) page = await ua.submit(page, '/org', { org }, REDIRECT_URI);
  const last = await throughConsent(ua, page);
  return { signedIn: await login.complete(last), passwordPage, last };
}

/**
 * An organization registered at the site's OP by its legal representative (account area), and
 * an agent it authorized there; both people registered at the site through the real forms.
 */
export async function organizationWithAgent(
  fed: TestFederation,
  site: Site,
  password: string,
): Promise<{ org: { uscc: string; name: string }; agent: Person }> {
  const [rep, agent] = [await newPerson(fed), await newPerson(fed)];
  const res = await fetch(`${fed.topology.services().url}/demo/organizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rep_id_number: rep.id_number }),
  });
  const org = (await res.json()) as { uscc: string; name: string };
  for (const p of [rep, agent]) await registerAt(fed, site, p, password);
  const ua = new UserAgent();
  const login = await ua.navigate(`${fed.url(site.op)}/account`);
  const account = await ua.submit(await ua.submit(login, '/identifier', { identifier: rep.id_number }), '/password', { password });
  const registered = await ua.submit(account, '/account/organizations', { uscc: org.uscc, org_name: org.name });
  if (registered.status !== 201) throw new Error(`organization not registered: ${registered.status}`);
  const manage = await ua.navigate(
    new URL(/href="(\/account\/organizations\/[^"]+)"/.exec(registered.html)![1]!, registered.url).toString(),
  );
  const added = await ua.submit(manage, '/agents', {
    name: agent.name,
    id_number: agent.id_number,
    role: 'agent',
    categories: 'tax',
    expires: '',
  });
  if (added.status !== 201) throw new Error(`agent not authorized: ${added.status}`);
  return { org, agent };
}
