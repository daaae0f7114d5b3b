/**
 * Plan recognition: mutual recognition through the brokers (issue 5; DESIGN.md, "Mutual
 * recognition"). A person registered at another OP of the federation (their home, --home-issuer)
 * logs in at the target, the visited OP, with the target's test client: the identifier on the
 * target's page, the password on the home's, to which the brokers take the browser hop by hop.
 * The modules then check what the target asserts about that person (home, recognized, a level
 * within the home's trust mark), that a second visit is signed in by the sessions along the chain
 * without a password, and that a logout at the target ends every one of them.
 *
 * The browser follows redirects among the entities a route between the two OPs can cross (each
 * OP and its superiors up the authority hints) and stops anywhere else, e.g. at the redirect URI.
 */
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { TrustedOps, UntrustedOp } from '../../federation/trusted-op.ts';
import { LOA_LEVELS } from '../../idp/loa.ts';
import { Browser, type Page } from '../browser.ts';
import { callbackOf, type ClientConfig, type ConformanceContext, type HomeConfig, type TokenSet } from '../context.ts';
import { pageAlert, shortJson, shortUrl } from '../http.ts';
import { completeInteraction, logOut, LoginError, pageKind, type Credentials } from '../login-driver.ts';
import { describeLogout, describePage } from '../probes.ts';
import { expect, Fail, Skip, type ConformanceModule } from '../types.ts';
import { httpAllowedFor, superiors, trustAnchor } from './federation.ts';
import { userinfo } from './op-basic.ts';

export const NOT_ADVERTISED = 'the target does not advertise mutual recognition (its discovery claims_supported has no recognized claim)';
export const NO_HOME =
  'needs a person registered at another OP of the federation (--home-issuer with --home-username/--home-password, or --register)';

interface Recognition {
  home: HomeConfig;
  client: ClientConfig;
  /** Origins of the target: its cookies are the ones cleared for the second visit. */
  target: Set<string>;
  /** Origins of the home: where the person must be asked to log in. */
  homeOrigins: Set<string>;
  /** Origins of every entity a route between the target and the home can cross. */
  federation: Set<string>;
}

/** The origins of each entity up the authority hints from `entityId`: its Entity Identifier and its OP's authorization endpoint. */
async function originsUp(ctx: ConformanceContext, entityId: string): Promise<Set<string>[]> {
  return (await superiors(ctx, entityId)).map(({ id, statement }) => {
    const origins = new Set([new URL(id).origin]);
    const endpoint = statement.claims.metadata?.openid_provider?.authorization_endpoint;
    if (typeof endpoint === 'string' && URL.canParse(endpoint)) origins.add(new URL(endpoint).origin);
    return origins;
  });
}

/** What the plan needs, checked once (prerequisite "recognition"): every module is skipped with the same reason when it is missing. */
function recognition(ctx: ConformanceContext): Promise<Recognition> {
  return ctx.prereq('recognition', async () => {
    const claims = (await ctx.discovery()).claims_supported;
    if (!Array.isArray(claims) || !claims.includes('recognized')) throw new Skip(NOT_ADVERTISED);
    const home = ctx.config.home;
    if (!home) throw new Skip(NO_HOME);
    const client = ctx.requireClient();
    const target = await ctx.opOrigins();
    const entities = [...(await originsUp(ctx, home.issuer)), ...(await originsUp(ctx, ctx.config.entityId))];
    return { home, client, target, homeOrigins: entities[0]!, federation: new Set([...target, ...entities.flatMap((o) => [...o])]) };
  });
}

/** A visit of the person to the target, as far as it went. */
interface Visit {
  requestUrl: string;
  nonce: string;
  verifier: string;
  /** The target asked who logs in: it held no session of its own for the browser. */
  identifierAsked: boolean;
  /** The page after the identifier: a login page somewhere, or where the way back ended. */
  landing: Page | null;
  /** The login page the person was shown after the identifier, if any (a password was asked). */
  loginPage: Page | null;
  /** Where the browser is now: off the OPs (the redirect URI), or a page of one. */
  end: Page;
  callback: URL | null;
}

const host = (url: string) => new URL(url).host;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A person registered moments ago (--register) is published up the registry of homes after the
 * registration (gov-id delivers it from an outbox): until it arrives, the target takes them for
 * someone it does not know. The identifier is given again for this long before that is a finding.
 */
const REGISTRY_SETTLE_MS = 5000;
const REGISTRY_RETRY_MS = 500;
/** How long a logout is given to travel along the chain (back-channel) before the person logs in again. */
const LOGOUT_SETTLE_MS = 1000;

/** The hosts the browser went through after the identifier, each once per stay: the route through the brokers. */
function route(v: Visit): string {
  const hosts = (v.landing?.hops ?? []).map((h) => host(h.url));
  if (v.landing?.left) hosts.push(host(v.landing.url));
  return hosts.filter((h, i) => h !== hosts[i - 1]).join(' → ') || '(none)';
}

function describeVisit(v: Visit): string {
  const at = host(v.requestUrl);
  if (!v.identifierAsked) return `authorization request at ${at}: no identifier asked, ${describePage(v.end)}`;
  const alert = v.loginPage && pageAlert(v.loginPage.html);
  const login = v.loginPage
    ? `a login page at ${shortUrl(v.loginPage.url.split('?')[0]!)}${alert ? ` ("${alert.slice(0, 120)}")` : ''}`
    : 'no login page';
  return `identifier at ${at}; route ${route(v)}; ${login}${v.end === v.loginPage ? '' : `; ended ${describePage(v.end)}`}`;
}

/**
 * A visit to the target in `browser`, up to the page after the person's identifier on the
 * target's login page: a login page (somewhere on the route), or the way back when a session
 * along the route signed the person in. Nothing is typed but the identifier.
 */
async function visit(ctx: ConformanceContext, r: Recognition, browser: Browser): Promise<Visit> {
  const req = await ctx.authorizationRequest({}, r.client);
  const first = await browser.navigate(req.url);
  const identifierAsked = !first.left && pageKind(first) === 'identifier';
  const landing = identifierAsked ? await browser.submit(first, '/identifier', { identifier: r.home.user.username }) : null;
  const end = landing ?? first;
  const loginPage = !end.left && ['identifier', 'password'].includes(pageKind(end)) ? end : null;
  return {
    requestUrl: req.url,
    nonce: req.nonce,
    verifier: req.verifier,
    identifierAsked,
    landing,
    loginPage,
    end,
    callback: callbackOf(end, r.client),
  };
}

/** Whether the visit led to a login page of the person's home. */
function atHome(r: Recognition, v: Visit): boolean {
  return v.loginPage !== null && r.homeOrigins.has(new URL(v.loginPage.url).origin);
}

/** Whether the target asked for the password itself, as for someone it does not know. */
function ownPasswordPage(r: Recognition, v: Visit): boolean {
  return v.loginPage !== null && r.target.has(new URL(v.loginPage.url).origin) && pageKind(v.loginPage) === 'password';
}

/** Completes a visit: the person logs in wherever asked (with `user`) and consents, until the browser leaves the OPs. */
async function finish(r: Recognition, browser: Browser, v: Visit, user?: Credentials): Promise<Visit> {
  const end = await completeInteraction(browser, v.end, user);
  return { ...v, end, callback: callbackOf(end, r.client) };
}

/** Redeems the code a visit ended with, and verifies the ID token: the target's, for the test client, with the visit's nonce. */
async function tokensOf(ctx: ConformanceContext, r: Recognition, v: Visit): Promise<{ tokens: TokenSet; claims: JWTPayload }> {
  const code = v.callback?.searchParams.get('code');
  expect(code, 'the login did not end with a code at the redirect URI', describeVisit(v));
  const { tokens } = await ctx.redeem(code, v.verifier, r.client);
  expect(typeof tokens.id_token === 'string', 'no ID token for the login', describeVisit(v));
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(tokens.id_token, (await ctx.jwks()).getKey, {
      issuer: ctx.config.issuer,
      audience: r.client.clientId,
      clockTolerance: 60,
    }));
  } catch (err) {
    throw new Fail(`the ID token of the login does not verify as the target's for the test client: ${(err as Error).message}`);
  }
  expect(
    claims.nonce === v.nonce,
    'the ID token does not carry the nonce of the request',
    `sent ${JSON.stringify(v.nonce)}, got ${JSON.stringify(claims.nonce)}`,
  );
  return { tokens, claims };
}

/** The person's first login at the target, in a fresh browser, through the brokers (prerequisite "recognition-login"). */
function crossOpLogin(
  ctx: ConformanceContext,
): Promise<{ r: Recognition; browser: Browser; v: Visit; tokens: TokenSet; claims: JWTPayload }> {
  return ctx.prereq('recognition-login', async () => {
    const r = await recognition(ctx);
    const browser = new Browser(r.federation);
    let v = await visit(ctx, r, browser);
    for (const deadline = Date.now() + REGISTRY_SETTLE_MS; ownPasswordPage(r, v) && Date.now() < deadline;) {
      await sleep(REGISTRY_RETRY_MS);
      v = await visit(ctx, r, browser);
    }
    if (!v.identifierAsked) throw new LoginError('the target did not show its identifier page to a fresh browser', v.end);
    const asked = v.loginPage;
    if (!asked) {
      if (!v.end.left && v.end.status >= 400) throw new Fail('the login stopped after the identifier', describeVisit(v));
      throw new Fail('the person was signed in without logging in anywhere', describeVisit(v));
    }
    const where = new URL(asked.url).origin;
    if (ownPasswordPage(r, v))
      throw new Fail(
        `the target asked for the password on its own page (for ${REGISTRY_SETTLE_MS / 1000} s): the person registered at ${r.home.issuer} was not sent home through the brokers`,
        describeVisit(v),
      );
    if (r.target.has(where)) throw new Fail('the target refused the login after the identifier', describeVisit(v));
    if (!atHome(r, v)) throw new Fail(`the person was asked to log in at ${where}, not at their home ${r.home.issuer}`, describeVisit(v));
    const done = await finish(r, browser, v, r.home.user);
    return { r, browser, v: done, ...(await tokensOf(ctx, r, done)) };
  });
}

/**
 * A second visit (prerequisite "recognition-sso"): the target's own session cleared, as when it
 * expires, the sessions along the chain are still there and must sign the person in.
 */
function secondVisit(ctx: ConformanceContext): Promise<{ v: Visit; tokens: TokenSet }> {
  return ctx.prereq('recognition-sso', async () => {
    const { r, browser } = await crossOpLogin(ctx);
    browser.forgetSites(r.target);
    const v = await visit(ctx, r, browser);
    if (!v.identifierAsked)
      throw new Skip(`the target still knew the browser after its cookies were cleared (its session lives elsewhere): ${describeVisit(v)}`);
    if (v.loginPage)
      throw new Fail(
        `the second visit asked the person to log in again at ${host(v.loginPage.url)}: no session along the chain signed them in`,
        describeVisit(v),
      );
    const done = await finish(r, browser, v);
    return { v: done, tokens: (await tokensOf(ctx, r, done)).tokens };
  });
}

/** The level of an acr: its rank in the target's acr_values_supported, lowest first (gov-id publishes loa1, loa2, loa3 in order). */
function levelOf(acr: unknown, supported: unknown): number {
  const values = Array.isArray(supported) ? supported : [];
  expect(typeof acr === 'string', 'the ID token of the recognized login states no acr');
  const rank = values.indexOf(acr);
  expect(rank >= 0, `acr ${acr} is not in acr_values_supported, so its level is unknown`, shortJson({ acr_values_supported: values }));
  return rank;
}

const CLAUSE = 'gov-id mutual recognition (issue 5; DESIGN.md "Mutual recognition")';

export const recognitionModules: ConformanceModule[] = [
  {
    name: 'recognition/cross-op-login',
    clause: `${CLAUSE}; OpenID Connect Core 1.0 §3.1.2.1 (login_hint)`,
    title:
      "A person registered at another OP logs in at the target: the identifier on the target's page, the password on the home's page, reached through the brokers; the code redeems for the target's ID token.",
    async run(ctx) {
      const { r, v, claims } = await crossOpLogin(ctx);
      return {
        evidence: `${describeVisit(v)}; ID token of ${claims.iss} for ${r.client.clientId} (sub ${String(claims.sub).slice(0, 8)}…)`,
      };
    },
  },
  {
    name: 'recognition/home-and-recognized-claims',
    clause: `${CLAUSE}; OpenID Connect Core 1.0 §5.1, §5.3.2`,
    title:
      "The target's ID token for the person says home = the home's issuer and recognized = true (userinfo, if it says them, agrees); a local account's tokens (the test user, when given) do not say recognized.",
    async run(ctx) {
      const { r, tokens, claims } = await crossOpLogin(ctx);
      const said = `${shortJson({ home: claims.home, recognized: claims.recognized, user_type: claims.user_type })} (claims: ${Object.keys(claims).join(', ')})`;
      expect(
        claims.home === r.home.issuer,
        claims.home === undefined
          ? 'the ID token has no home claim'
          : `home is ${JSON.stringify(claims.home)}, not the person's home ${r.home.issuer}`,
        said,
      );
      expect(claims.recognized === true, `recognized is ${JSON.stringify(claims.recognized)}, not true`, said);
      const lines = [`ID token ${said}`];
      if (/^bearer$/i.test(tokens.token_type)) {
        const info = (await userinfo(ctx, tokens.access_token)).claims;
        const contradicts = (name: 'home' | 'recognized') => info[name] !== undefined && info[name] !== claims[name];
        expect(
          !contradicts('home') && !contradicts('recognized'),
          'userinfo contradicts the ID token on home or recognized',
          shortJson({ home: info.home, recognized: info.recognized }),
        );
        lines.push(`userinfo ${shortJson({ home: info.home, recognized: info.recognized })}`);
      }
      if (ctx.config.user) {
        const local = (await ctx.freshTokens()).tokens.id_token;
        const localClaims = local ? decodeJwt(local) : {};
        const localSaid = shortJson({ home: localClaims.home, recognized: localClaims.recognized });
        expect(
          localClaims.recognized !== true && (localClaims.home === undefined || localClaims.home === ctx.config.issuer),
          "a local account's ID token says it is recognized from elsewhere",
          `test user: ${localSaid}`,
        );
        lines.push(`local test user ${localSaid}`);
      }
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'recognition/loa-cap',
    clause: `${CLAUSE}; OpenID Federation 1.0 §7 (the real-name-op trust mark's max_loa)`,
    title:
      "The acr of the recognized login is at most the max_loa of the home's real-name-op trust mark, validated through the trust chain to the anchor.",
    async run(ctx) {
      const { r, claims } = await crossOpLogin(ctx);
      const anchor = await trustAnchor(ctx);
      const ops = new TrustedOps({
        trustAnchors: [{ entityId: anchor.entityId, jwks: anchor.jwks }],
        allowHttpEntityIds: httpAllowedFor(r.home.issuer, anchor.entityId),
      });
      let maxLoa;
      try {
        maxLoa = (await ops.get(r.home.issuer)).maxLoa;
      } catch (err) {
        if (!(err instanceof UntrustedOp)) throw err;
        throw new Fail(
          `the home's real-name-op trust mark, which bounds the level a recognized login may carry, does not validate: ${err.message}`,
          `trust anchor ${anchor.entityId}`,
        );
      }
      const rank = levelOf(claims.acr, (await ctx.discovery()).acr_values_supported);
      const evidence = `acr ${claims.acr} (level ${rank + 1}); the home's real-name-op trust mark allows at most ${maxLoa} (trust anchor ${anchor.entityId}${anchor.pinned ? ', pinned' : ''})`;
      expect(
        rank <= LOA_LEVELS.indexOf(maxLoa),
        `the recognized login's acr ${claims.acr} is above what the home may assert (${maxLoa})`,
        evidence,
      );
      return { evidence };
    },
  },
  {
    name: 'recognition/sso-second-visit',
    clause: `${CLAUSE}: single sign-on across tiers`,
    title:
      "With the target's own session cleared (as when it expires), a second visit in the same browser goes through the brokers and reaches the client without a password.",
    async run(ctx) {
      return { evidence: describeVisit((await secondVisit(ctx)).v) };
    },
  },
  {
    name: 'recognition/logout-propagation',
    clause: `OpenID Connect RP-Initiated Logout 1.0 §2; OpenID Connect Back-Channel Logout 1.0 §2; ${CLAUSE}: single logout`,
    title:
      'After an RP-initiated logout at the target (confirmed), logging in there again asks for the identifier and then for the password at home: the logout ended the sessions along the whole chain.',
    async run(ctx) {
      const { r, browser } = await crossOpLogin(ctx);
      const endpoint = await ctx.endpoint('end_session_endpoint', true);
      const { tokens } = await secondVisit(ctx);
      const url = new URL(endpoint);
      url.searchParams.set('id_token_hint', tokens.id_token!);
      url.searchParams.set('client_id', r.client.clientId);
      if (r.client.postLogoutRedirectUri) url.searchParams.set('post_logout_redirect_uri', r.client.postLogoutRedirectUri);
      const pages = await logOut(browser, url.toString());
      const logout = `logout: ${describeLogout(url, pages)}`;
      const ended = pages.at(-1)!;
      expect(ended.left || ended.status < 400, 'the logout at the target was refused', logout);
      // The logout travels along the chain after the target has answered (back-channel). A login
      // sent along it meanwhile meets sessions still alive, and can even keep one alive (a request
      // in flight saves the session it loaded), so the suite waits before it looks.
      await sleep(LOGOUT_SETTLE_MS);
      const v = await visit(ctx, r, browser);
      const evidence = `${logout}; ${LOGOUT_SETTLE_MS} ms later ${describeVisit(v)}`;
      expect(v.identifierAsked, "the target's own session outlived the logout: it answered without asking who logs in", evidence);
      expect(
        v.loginPage,
        'after the logout the login was answered without a password: a session along the route outlived it (the logout did not reach every OP on the chain)',
        evidence,
      );
      expect(atHome(r, v), "after the logout the login did not reach the home's login page", evidence);
      return { evidence };
    },
  },
];
