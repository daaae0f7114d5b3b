/**
 * Plan op-negative: requests an OP must refuse, and the attacks on its login pages that matter.
 * Every module first makes sure the same request done right works (the test user's login, a
 * code redeemed with the right verifier and secret, …), so a refusal is evidence of the check
 * and not of a broken setup.
 */
import { randomBytes } from 'node:crypto';
import { idNumberCheckDigit } from '../../infra/identifiers.ts';
import { findForm, type Browser, type Page } from '../browser.ts';
import type { ConformanceContext, TokenSet } from '../context.ts';
import { randomToken } from '../context.ts';
import { basicAuth, describe, NetworkError, pageAlert, request, type HttpResponse } from '../http.ts';
import { completeInteraction, logOut, pageKind } from '../login-driver.ts';
import { classify, describeLogout, describePage, EVIL_ORIGIN, EVIL_URI, linksTo, probe, REFUSED, type Probe } from '../probes.ts';
import { expect, Fail, Skip, type ConformanceModule } from '../types.ts';

/** A correct code redeemed once in this run (prerequisite "token-baseline"): the token endpoint works. */
export function tokenBaseline(ctx: ConformanceContext): Promise<TokenSet> {
  return ctx.prereq('token-baseline', async () => (await ctx.freshTokens()).tokens);
}

function failUnlessRefused(p: Probe, what: string, extra = ''): void {
  if (REFUSED.has(p.verdict)) return;
  const why: Record<string, string> = {
    code: 'a code was issued',
    interaction: 'the OP went on to login/consent',
    'unregistered-redirect': 'the browser was sent to an unregistered URI',
    'server-error': 'the OP failed with a 5xx',
    other: 'the request was not refused',
    'error-page': '',
    'error-redirect': '',
  };
  throw new Fail(`${what}: ${why[p.verdict]}${extra}`, p.evidence);
}

/** POSTs a pushed authorization request; returns the response and the request_uri on success. */
export async function pushAuthorizationRequest(
  ctx: ConformanceContext,
  params: Record<string, string | undefined> = {},
  client = ctx.requireClient(),
) {
  const endpoint = await ctx.endpoint('pushed_authorization_request_endpoint', true);
  const { all, verifier } = ctx.requestParameters(params, client);
  const body: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) if (v !== undefined) body[k] = v;
  const response = await ctx.post(endpoint, body, { client });
  const requestUri = (response.json as { request_uri?: unknown } | undefined)?.request_uri;
  const url = new URL(await ctx.endpoint('authorization_endpoint'));
  url.searchParams.set('client_id', client.clientId);
  if (typeof requestUri === 'string') url.searchParams.set('request_uri', requestUri);
  return {
    response,
    requestUri: typeof requestUri === 'string' ? requestUri : null,
    url: url.toString(),
    verifier,
    state: all.state ?? '',
    nonce: all.nonce ?? '',
  };
}

/** A valid ID number (GB 11643) of someone born on 1 January 1900: no account has it. */
export function unknownIdNumber(): string {
  const first17 = `11010119000101${String(randomBytes(2).readUInt16BE() % 1000).padStart(3, '0')}`;
  return first17 + idNumberCheckDigit(first17);
}

interface LoginAttempt {
  identifierPage: Page;
  afterIdentifier: Page;
  afterPassword: Page;
  ms: number;
}

/**
 * The login page of a fresh browser, for the modules that probe the login forms. Whether a valid
 * authorization request leads to a login page the driver knows is checked once (prerequisite
 * "login-page"): a refused request fails the first module that asks; a page the driver does not
 * know skips them all.
 */
export async function freshLoginPage(ctx: ConformanceContext): Promise<{ browser: Browser; page: Page }> {
  const open = async () => {
    const browser = await ctx.newBrowser();
    const a = await ctx.authorize({}, { browser, interact: false });
    return { browser, page: a.page };
  };
  await ctx.prereq('login-page', async () => {
    const { page } = await open();
    if (page.left || page.status >= 400)
      throw new Fail('a valid authorization request in a fresh browser did not lead to a login page', describePage(page));
    if (pageKind(page) !== 'identifier')
      throw new Skip(
        `the login page is not one the login driver knows (${page.status} ${page.url.split('?')[0]}); see docs/conformance.md`,
      );
    return true;
  });
  return open();
}

/** One login attempt in a fresh browser: the identifier, then `password`. */
async function attemptLogin(ctx: ConformanceContext, identifier: string, password: string): Promise<LoginAttempt> {
  const { browser, page: identifierPage } = await freshLoginPage(ctx);
  const afterIdentifier = await browser.submit(identifierPage, '/identifier', { identifier });
  if (pageKind(afterIdentifier) !== 'password') return { identifierPage, afterIdentifier, afterPassword: afterIdentifier, ms: 0 };
  const started = performance.now();
  const afterPassword = await browser.submit(afterIdentifier, '/password', { identifier, password });
  return { identifierPage, afterIdentifier, afterPassword, ms: Math.round(performance.now() - started) };
}

/** The visible message of a login page, with the identifier and per-request tokens taken out. */
function loginMessage(page: Page, identifier: string): string {
  const alert = pageAlert(page.html);
  const text =
    alert ??
    page.html
      .replace(/<input[^>]*>/gi, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\/interaction\/[A-Za-z0-9_-]+/g, '');
  return text.split(identifier).join('…').replace(/\s+/g, ' ').trim();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const wrongPassword = () => `Wrong-${randomToken(6)}9`;

export const opNegativeModules: ConformanceModule[] = [
  {
    name: 'op-negative/pkce-missing-refused',
    clause: 'RFC 9700 §2.1.1, §4.8; FAPI 2.0 Security Profile, authorization code flow',
    title: 'An authorization request without code_challenge is refused (no code, no login page).',
    async run(ctx) {
      const client = ctx.requireClient();
      const { browser } = await ctx.session();
      const req = await ctx.authorizationRequest({ code_challenge: undefined, code_challenge_method: undefined });
      const p = await probe(browser, req.url, client);
      let extra = '';
      if (p.verdict === 'code') {
        const code = new URL(p.page.url).searchParams.get('code')!;
        const redeemed = await ctx.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri });
        extra = redeemed.status === 200 ? ', and it was redeemed without a code_verifier' : '';
        p.evidence += `; ${describe(redeemed)}`;
      }
      failUnlessRefused(p, 'a request without PKCE was accepted', extra);
      return { evidence: p.evidence };
    },
  },
  {
    name: 'op-negative/pkce-plain-refused',
    clause: 'RFC 9700 §2.1.1, §4.8; RFC 7636 §4.2, §7.2',
    title: 'code_challenge_method=plain is refused.',
    async run(ctx) {
      const client = ctx.requireClient();
      const { browser } = await ctx.session();
      const verifier = randomToken(32);
      const req = await ctx.authorizationRequest({ code_challenge: verifier, code_challenge_method: 'plain' });
      const p = await probe(browser, req.url, client);
      let extra = '';
      if (p.verdict === 'code') {
        const code = new URL(p.page.url).searchParams.get('code')!;
        const redeemed = await ctx.tokenRequest({
          grant_type: 'authorization_code',
          code,
          redirect_uri: client.redirectUri,
          code_verifier: verifier,
        });
        extra = redeemed.status === 200 ? ', and redeemed with the plain verifier' : '';
        p.evidence += `; ${describe(redeemed)}`;
      }
      failUnlessRefused(p, 'code_challenge_method=plain was accepted', extra);
      return { evidence: p.evidence };
    },
  },
  {
    name: 'op-negative/pkce-wrong-verifier-refused',
    clause: 'RFC 7636 §4.6; RFC 6749 §5.2',
    title: 'A code is not redeemed with a code_verifier that does not match its challenge, nor without one (invalid_grant).',
    async run(ctx) {
      await tokenBaseline(ctx);
      const a = await ctx.code();
      const client = ctx.requireClient();
      const wrong = await ctx.tokenRequest({
        grant_type: 'authorization_code',
        code: a.code,
        redirect_uri: client.redirectUri,
        code_verifier: randomToken(32),
      });
      expect(wrong.status >= 400 && wrong.status < 500, 'a code was redeemed with a wrong code_verifier', describe(wrong));
      const b = await ctx.code();
      const none = await ctx.tokenRequest({ grant_type: 'authorization_code', code: b.code, redirect_uri: client.redirectUri });
      expect(
        none.status >= 400 && none.status < 500,
        'a code issued for a PKCE request was redeemed without code_verifier',
        describe(none),
      );
      return { evidence: `wrong verifier: ${describe(wrong)}; no verifier: ${describe(none)}` };
    },
  },
  {
    name: 'op-negative/redirect-uri-exact-match',
    clause: 'RFC 9700 §4.1.3, §2.1; RFC 6749 §4.1.2.1; OpenID Connect Core 1.0 §3.1.2.1',
    title:
      'A redirect_uri that is not exactly a registered one (path, query, port, scheme, host suffix, case changed; or left out) is refused and never redirected to.',
    async run(ctx) {
      const client = ctx.requireClient();
      const { browser } = await ctx.session();
      const r = new URL(client.redirectUri);
      const variants = new Set<string>([
        `${client.redirectUri}/extra`,
        `${client.redirectUri}${r.search ? '&' : '?'}next=1`,
        `${r.protocol}//${r.host}${r.pathname.toUpperCase() === r.pathname ? `${r.pathname}X` : r.pathname.toUpperCase()}${r.search}`,
        `${r.protocol}//${r.hostname}:${Number(r.port || (r.protocol === 'https:' ? 443 : 80)) + 1}${r.pathname}${r.search}`,
        `${r.protocol === 'https:' ? 'http:' : 'https:'}//${r.host}${r.pathname}${r.search}`,
        `${r.protocol}//${r.hostname}.conformance-evil.example${r.port ? `:${r.port}` : ''}${r.pathname}`,
        `${EVIL_URI}`,
      ]);
      variants.delete(client.redirectUri);
      const lines: string[] = [];
      for (const variant of variants) {
        const req = await ctx.authorizationRequest({ redirect_uri: variant });
        const p = await probe(browser, req.url, client);
        // An error page, or an error sent to the registered URI, is a refusal; anything else is not.
        failUnlessRefused(p, `redirect_uri ${variant} was accepted`);
        expect(
          !linksTo(p.page.html, new URL(variant).origin) || new URL(variant).origin === r.origin,
          `the error page links to ${variant}`,
          p.evidence,
        );
        lines.push(`${variant} ${describePage(p.page)}`);
      }
      const omitted = await probe(browser, (await ctx.authorizationRequest({ redirect_uri: undefined })).url, client);
      failUnlessRefused(omitted, 'a request without redirect_uri was accepted (OIDC Core §3.1.2.1: REQUIRED)');
      lines.push(`(omitted) ${describePage(omitted.page)}`);
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'op-negative/code-reuse-refused',
    clause: 'RFC 6749 §4.1.2, §10.5',
    title: 'A code redeemed twice is refused the second time, and the tokens of the first redemption are revoked.',
    async run(ctx) {
      const a = await ctx.code();
      const { tokens } = await ctx.redeem(a.code, a.verifier);
      const before = await ctx.accessTokenActive(tokens.access_token, tokens.token_type);
      expect(before.active, 'a fresh access token is not active', before.evidence);
      const client = ctx.requireClient();
      const again = await ctx.tokenRequest({
        grant_type: 'authorization_code',
        code: a.code,
        redirect_uri: client.redirectUri,
        code_verifier: a.verifier,
      });
      expect(
        again.status === 400 && (again.json as { error?: string } | undefined)?.error === 'invalid_grant',
        'a used code was redeemed again',
        describe(again),
      );
      const after = await ctx.accessTokenActive(tokens.access_token, tokens.token_type);
      expect(!after.active, 'the access token of the first redemption still works after the code was replayed', after.evidence);
      let refresh = '';
      if (typeof tokens.refresh_token === 'string') {
        const r = await ctx.tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
        expect(r.status >= 400, 'the refresh token of the first redemption still works after the code was replayed', describe(r));
        refresh = `; first refresh token: ${describe(r)}`;
      }
      return { evidence: `replay: ${describe(again)}; first access token: ${after.evidence}${refresh}` };
    },
  },
  {
    name: 'op-negative/client-auth-wrong-secret-refused',
    clause: 'RFC 6749 §2.3.1, §5.2; RFC 7662 §2.1',
    title:
      'The token endpoint refuses a wrong secret (basic and post), no authentication, and another client_id (invalid_client); introspection refuses a wrong secret.',
    async run(ctx) {
      const client = ctx.requireClient();
      if (client.authMethod !== 'client_secret_basic' && client.authMethod !== 'client_secret_post')
        throw new Skip(`the test client authenticates with ${client.authMethod}, not a client secret`);
      const a = await ctx.code();
      const base = { grant_type: 'authorization_code', code: a.code, redirect_uri: client.redirectUri, code_verifier: a.verifier };
      const wrong = `${client.clientSecret}x`;
      const probes: [string, () => Promise<HttpResponse>][] = [];
      const send = (label: string, body: Record<string, string>, headers?: Record<string, string>) =>
        probes.push([label, () => ctx.tokenRequest(body, { client: null, ...(headers ? { headers } : {}) })]);
      send('basic, wrong secret', base, { authorization: basicAuth(client.clientId, wrong) });
      send('post, wrong secret', { ...base, client_id: client.clientId, client_secret: wrong });
      send('no authentication', { ...base, client_id: client.clientId });
      send('right secret, other client_id', base, {
        authorization: basicAuth(`${client.clientId}-not-registered`, client.clientSecret ?? ''),
      });
      const lines: string[] = [];
      for (const [label, sendProbe] of probes) {
        const res = await sendProbe();
        const error = (res.json as { error?: string } | undefined)?.error;
        expect(res.status !== 200, `the token endpoint issued tokens with ${label}`, describe(res));
        expect(
          res.status === 401 || (res.status === 400 && error === 'invalid_client'),
          `${label}: not refused as invalid_client (got ${res.status} ${error ?? ''})`,
          describe(res),
        );
        if (label === 'basic, wrong secret')
          expect(
            res.status === 401 && /basic/i.test(res.headers.get('www-authenticate') ?? ''),
            'a wrong secret in the Authorization header is not answered 401 with WWW-Authenticate (RFC 6749 §5.2)',
            describe(res),
          );
        lines.push(`${label}: ${res.status} ${error ?? ''}`);
      }
      // The code still redeems with the right authentication: the refusals were about the client.
      const ok = await ctx.tokenRequest(base);
      let baseline = describe(ok);
      if (ok.status !== 200) {
        await tokenBaseline(ctx);
        baseline = 'the code was consumed by the failed attempts; a fresh code redeems';
      }
      const d = await ctx.discovery();
      if (typeof d.introspection_endpoint === 'string') {
        const token = (ok.json as TokenSet | undefined)?.access_token ?? (await ctx.freshTokens()).tokens.access_token;
        const res = await ctx.post(
          d.introspection_endpoint,
          { token },
          { client: null, headers: { authorization: basicAuth(client.clientId, wrong) } },
        );
        expect(
          !(res.status === 200 && (res.json as { active?: unknown } | undefined)?.active === true),
          'the introspection endpoint answers a wrong client secret',
          describe(res),
        );
        lines.push(`introspection, wrong secret: ${res.status}`);
      }
      return { evidence: `${lines.join('; ')}; right secret: ${baseline}` };
    },
  },
  {
    name: 'op-negative/request-uri-replay-refused',
    clause: 'RFC 9126 §4, §7.3',
    title: 'A request_uri that produced a code cannot be used again.',
    async run(ctx) {
      const client = ctx.requireClient();
      const { browser } = await ctx.session();
      const par = await pushAuthorizationRequest(ctx);
      expect(par.response.status === 201 && par.requestUri, 'the pushed authorization request was not accepted', describe(par.response));
      const first = await probe(browser, par.url, client);
      expect(first.verdict === 'code', 'the request_uri did not produce a code the first time', first.evidence);
      const again = await probe(browser, par.url, client);
      failUnlessRefused(again, 'a used request_uri was accepted again');
      return { evidence: `first: ${first.evidence}; again: ${describePage(again.page)}` };
    },
  },
  {
    name: 'op-negative/oversize-parameter-refused',
    clause: 'RFC 9110 §15.5; RFC 6749 §4.1.2.1, §5.2',
    title:
      'A 100 kB state (authorization and PAR endpoints) and a 100 kB code (token endpoint) are refused with 4xx, never 5xx or accepted.',
    async run(ctx) {
      const client = ctx.requireClient();
      await ctx.session();
      const big = 'A'.repeat(100 * 1024);
      const lines: string[] = [];
      const warnings: string[] = [];
      const guard = async (label: string, run: () => Promise<void>) => {
        try {
          await run();
        } catch (err) {
          if (!(err instanceof NetworkError)) throw err;
          warnings.push(`${label}: the connection was closed without an HTTP answer`);
        }
      };
      await guard('authorization endpoint', async () => {
        // A fresh browser: an OP that accepts shows its login page (with a session it would send
        // the 100 kB state back in a Location header no client reads).
        const p = await probe(await ctx.newBrowser(), (await ctx.authorizationRequest({ state: big })).url, client);
        failUnlessRefused(p, 'a 100 kB state was accepted at the authorization endpoint');
        lines.push(`auth: ${describePage(p.page)}`);
      });
      const d = await ctx.discovery();
      if (typeof d.pushed_authorization_request_endpoint === 'string') {
        await guard('PAR endpoint', async () => {
          const { response } = await pushAuthorizationRequest(ctx, { state: big });
          expect(
            response.status >= 400 && response.status < 500,
            `a 100 kB state at the PAR endpoint got ${response.status}`,
            describe(response),
          );
          lines.push(`par: ${response.status}`);
        });
      }
      await guard('token endpoint', async () => {
        const res = await ctx.tokenRequest({
          grant_type: 'authorization_code',
          code: big,
          redirect_uri: client.redirectUri,
          code_verifier: randomToken(32),
        });
        expect(res.status >= 400 && res.status < 500, `a 100 kB code at the token endpoint got ${res.status}`, describe(res));
        lines.push(`token: ${res.status}`);
      });
      if (warnings.length) return { warn: warnings.join('; '), evidence: lines.join('; ') };
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'op-negative/malformed-parameters-refused',
    clause: 'RFC 6749 §3.1, §4.1.2.1, §5.2; RFC 7636 §4.2',
    title:
      'Repeated parameters, an unknown response_type, a malformed code_challenge, unknown/missing/repeated grant_type and a JSON token request are refused with 4xx; broken percent-encoding never causes a 5xx.',
    async run(ctx) {
      const client = ctx.requireClient();
      const { browser } = await ctx.session();
      const lines: string[] = [];
      const auth = async (label: string, mutate: (u: URL) => string, mustRefuse = true) => {
        const u = new URL((await ctx.authorizationRequest()).url);
        const p = await probe(browser, mutate(u), client);
        if (mustRefuse) failUnlessRefused(p, `${label} was accepted`);
        else expect(p.verdict !== 'server-error', `${label} caused a server error`, p.evidence);
        lines.push(`${label} ${describePage(p.page)}`);
      };
      await auth('repeated scope', (u) => `${u}&scope=openid`);
      await auth('repeated client_id', (u) => `${u}&client_id=${encodeURIComponent(client.clientId)}`);
      await auth('response_type=unknown', (u) => (u.searchParams.set('response_type', 'conformance_unknown'), u.toString()));
      await auth('code_challenge of 3 characters', (u) => (u.searchParams.set('code_challenge', 'abc'), u.toString()));
      await auth(
        'code_challenge with invalid characters',
        (u) => (u.searchParams.set('code_challenge', `${'!'.repeat(43)}`), u.toString()),
      );
      await auth('broken percent-encoding in state', (u) => `${u.toString().replace(/state=[^&]*/, 'state=%E0%A4%A')}`, false);
      const token = async (label: string, send: () => Promise<HttpResponse>) => {
        const res = await send();
        expect(res.status >= 400 && res.status < 500, `${label}: ${res.status} instead of 4xx`, describe(res));
        lines.push(`${label} → ${res.status}`);
      };
      const tokenEndpoint = await ctx.endpoint('token_endpoint');
      const a = await ctx.code();
      const valid = { grant_type: 'authorization_code', code: a.code, redirect_uri: client.redirectUri, code_verifier: a.verifier };
      const repeated = new URLSearchParams(valid);
      repeated.append('grant_type', 'authorization_code');
      await token('repeated grant_type', () => ctx.tokenRequest(repeated));
      await token('unknown grant_type', () => ctx.tokenRequest({ ...valid, grant_type: 'urn:conformance:unknown' }));
      await token('missing grant_type', () =>
        ctx.tokenRequest({ code: a.code, redirect_uri: client.redirectUri, code_verifier: a.verifier }),
      );
      await token('JSON body', async () => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (client.clientSecret) headers.authorization = basicAuth(client.clientId, client.clientSecret);
        return request(tokenEndpoint, { method: 'POST', body: JSON.stringify(valid), headers, timeoutMs: ctx.config.timeoutMs });
      });
      await token('broken percent-encoding', async () => {
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        if (client.clientSecret) headers.authorization = basicAuth(client.clientId, client.clientSecret);
        return request(tokenEndpoint, {
          method: 'POST',
          body: `grant_type=authorization_code&code=%E0%A4%A&redirect_uri=${encodeURIComponent(client.redirectUri)}`,
          headers,
          timeoutMs: ctx.config.timeoutMs,
        });
      });
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'op-negative/open-redirect-auth',
    clause: 'RFC 9700 §4.11.2; RFC 6749 §4.1.2.1',
    title:
      'Authorization requests with an unregistered redirect_uri and another error (unknown or missing client_id, bad response_type, prompt=none, bogus request_uri) never send the browser there, nor link to it.',
    async run(ctx) {
      const client = ctx.requireClient();
      const { browser } = await ctx.session();
      const lines: string[] = [];
      const cases: [string, Record<string, string | undefined>][] = [
        ['unknown client_id', { client_id: `conformance-unknown-${randomToken(4)}` }],
        ['no client_id', { client_id: undefined }],
        ['response_type=token', { response_type: 'token' }],
        ['prompt=none', { prompt: 'none' }],
        ['bogus request_uri', { request_uri: 'urn:ietf:params:oauth:request_uri:conformance-bogus' }],
        ['scope without openid', { scope: 'profile' }],
      ];
      for (const [label, params] of cases) {
        const req = await ctx.authorizationRequest({ ...params, redirect_uri: EVIL_URI });
        const p = await probe(browser, req.url, client);
        expect(
          !(p.page.left && new URL(p.page.url).origin === EVIL_ORIGIN),
          `${label}: the browser was sent to the unregistered redirect_uri`,
          p.evidence,
        );
        expect(p.verdict !== 'code' && p.verdict !== 'interaction', `${label}: the request was accepted`, p.evidence);
        expect(!linksTo(p.page.html, EVIL_ORIGIN), `${label}: the page links to the unregistered redirect_uri`, p.evidence);
        expect(p.verdict !== 'server-error', `${label}: server error`, p.evidence);
        lines.push(`${label} ${describePage(p.page)}`);
      }
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'op-negative/open-redirect-logout',
    clause: 'OpenID Connect RP-Initiated Logout 1.0 §2, §3; RFC 9700 §4.11',
    title:
      'The end-session endpoint never redirects to a post_logout_redirect_uri that is not registered (with client_id, with id_token_hint, with neither), also after the logout confirmation.',
    async run(ctx) {
      const endpoint = await ctx.endpoint('end_session_endpoint', true);
      const client = ctx.requireClient();
      const { tokens } = await ctx.freshTokens();
      const lines: string[] = [];
      const run = async (label: string, params: Record<string, string>, expectTarget?: string) => {
        const browser = await ctx.newBrowser();
        const url = new URL(endpoint);
        for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
        const pages = await logOut(browser, url.toString());
        const page = pages.at(-1)!;
        const evidence = describeLogout(url, pages);
        if (expectTarget) {
          expect(
            page.left && page.url.startsWith(expectTarget),
            `${label}: the registered post_logout_redirect_uri is not honoured (baseline)`,
            evidence,
          );
        } else {
          expect(
            !(page.left && new URL(page.url).origin === EVIL_ORIGIN),
            `${label}: the browser was sent to an unregistered post_logout_redirect_uri`,
            evidence,
          );
          expect(!linksTo(page.html, EVIL_ORIGIN), `${label}: the page links to the unregistered post_logout_redirect_uri`, evidence);
          expect(page.left || page.status < 500, `${label}: server error`, evidence);
        }
        lines.push(`${label}: ${evidence}`);
      };
      await run('client_id', { client_id: client.clientId, post_logout_redirect_uri: EVIL_URI });
      if (tokens.id_token) await run('id_token_hint', { id_token_hint: tokens.id_token, post_logout_redirect_uri: EVIL_URI });
      await run('neither', { post_logout_redirect_uri: EVIL_URI });
      if (client.postLogoutRedirectUri && tokens.id_token) {
        await run(
          'registered (baseline)',
          { id_token_hint: tokens.id_token, post_logout_redirect_uri: client.postLogoutRedirectUri },
          client.postLogoutRedirectUri,
        );
      }
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'op-negative/login-csrf',
    clause: 'OWASP ASVS 4.0.3 V4.2.2; RFC 6749 §10.12',
    title: 'The login form is refused without its CSRF token, and without the interaction cookie; with both it logs in (baseline).',
    async run(ctx) {
      const user = ctx.requireUser();
      const client = ctx.requireClient();
      const { browser, page: loginPage } = await freshLoginPage(ctx);
      const pw = await browser.submit(loginPage, '/identifier', { identifier: user.username });
      const form = findForm(pw.html, '/password');
      if (!form) throw new Fail('no password form after the identifier', `${pw.status} ${pw.url}`);
      const csrfName = Object.keys(form.hidden).find((k) => /csrf|xsrf|token/i.test(k));
      expect(csrfName, 'the password form carries no CSRF token', `hidden fields: ${Object.keys(form.hidden).join(', ') || 'none'}`);
      const action = new URL(form.action, pw.url).toString();
      const fields: Record<string, string> = {
        ...form.hidden,
        identifier: form.hidden.identifier ?? user.username,
        password: user.password,
      };
      const withoutToken = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== csrfName));
      const loggedIn = (p: Probe) => p.verdict === 'code' || p.verdict === 'unregistered-redirect' || pageKind(p.page) === 'consent';
      const noToken = await probe(browser, action, client, { form: withoutToken });
      expect(!loggedIn(noToken), 'the login was accepted without the CSRF token', noToken.evidence);
      expect(noToken.verdict !== 'server-error', 'a POST without the CSRF token caused a server error', noToken.evidence);
      const stranger = await ctx.newBrowser();
      const noCookie = await probe(stranger, action, client, { form: fields });
      expect(!loggedIn(noCookie), 'the login was accepted from a browser without the interaction cookie', noCookie.evidence);
      expect(noCookie.verdict !== 'server-error', 'a POST without the interaction cookie caused a server error', noCookie.evidence);
      // Baseline: the same form with its token, in its browser, logs in.
      const ok = await completeInteraction(browser, await browser.navigate(action, { form: fields }), user).catch((err: Error) => {
        throw new Fail(`the baseline login with the CSRF token failed: ${err.message}`);
      });
      expect(classify(ok, client) === 'code', 'the baseline login with the CSRF token did not produce a code', describePage(ok));
      return {
        evidence: `without ${csrfName}: ${describePage(noToken.page)}; without cookies: ${describePage(noCookie.page)}; with both: ${describePage(ok)}`,
      };
    },
  },
  {
    name: 'op-negative/user-enumeration',
    clause: 'OWASP WSTG-IDNT-04 (account enumeration)',
    title:
      'An unknown identifier and a wrong password get the same pages, status and message; a large, consistent timing difference is a warning only.',
    async run(ctx) {
      const user = ctx.requireUser();
      const unknown = unknownIdNumber();
      const samples = { known: [] as LoginAttempt[], unknown: [] as LoginAttempt[] };
      // Three wrong passwords for the test user at most, then a successful login (which also shows the account works).
      for (let i = 0; i < 3; i++) {
        samples.unknown.push(await attemptLogin(ctx, unknown, wrongPassword()));
        samples.known.push(await attemptLogin(ctx, user.username, wrongPassword()));
      }
      const browser = await ctx.newBrowser();
      const ok = await ctx.authorize({}, { browser });
      expect(ok.callback?.searchParams.get('code'), 'the test user cannot log in after the probe (baseline)', describePage(ok.page));
      const k = samples.known[0]!;
      const u = samples.unknown[0]!;
      const view = (x: LoginAttempt, id: string) =>
        `identifier → ${x.afterIdentifier.status} ${pageKind(x.afterIdentifier)}; password → ${x.afterPassword.status} "${loginMessage(x.afterPassword, id).slice(0, 100)}"`;
      const evidence = `unknown identifier: ${view(u, unknown)} | wrong password: ${view(k, user.username)}`;
      expect(
        pageKind(k.afterIdentifier) === pageKind(u.afterIdentifier) && k.afterIdentifier.status === u.afterIdentifier.status,
        'the identifier step answers differently for an unknown identifier',
        evidence,
      );
      expect(
        k.afterPassword.status === u.afterPassword.status,
        'the password step answers with a different status for an unknown identifier',
        evidence,
      );
      expect(
        loginMessage(k.afterPassword, user.username) === loginMessage(u.afterPassword, unknown),
        'the message for an unknown identifier differs from the one for a wrong password',
        evidence,
      );
      const tk = samples.known.map((s) => s.ms);
      const tu = samples.unknown.map((s) => s.ms);
      const timing = `password step ms: wrong password ${tk.join('/')}, unknown identifier ${tu.join('/')}`;
      const [slow, fast] = median(tk) > median(tu) ? [tk, tu] : [tu, tk];
      // Generous on purpose: only a difference that is large, at least twofold and without overlap.
      if (median(slow) - median(fast) > 200 && median(slow) > 2 * median(fast) && Math.min(...slow) > Math.max(...fast)) {
        return {
          warn: `the password step takes consistently longer for ${slow === tk ? 'an existing account' : 'an unknown identifier'} (${timing}); timing may reveal accounts`,
          evidence,
        };
      }
      return { evidence: `${evidence}; ${timing}` };
    },
  },
  {
    name: 'op-negative/login-rate-limit',
    clause: 'NIST SP 800-63B §5.2.2; OWASP ASVS 4.0.3 V2.2.1',
    title: 'At most 8 wrong passwords for a throwaway account: a lockout or 429 must be observed (WARN if none).',
    async run(ctx) {
      const victim = ctx.config.lockoutUser;
      if (!victim)
        throw new Skip(
          'needs a second account that may be locked out (--lockout-username/--lockout-password, or --register); the test user is never locked out',
        );
      const { browser, page: loginPage } = await freshLoginPage(ctx);
      let page = await browser.submit(loginPage, '/identifier', { identifier: victim.username });
      if (pageKind(page) !== 'password') throw new Fail('no password page for the throwaway account', describePage(page));
      const statuses: number[] = [];
      let firstMessage: string | null = null;
      let limitedAt = 0;
      let how = '';
      for (let i = 1; i <= 8; i++) {
        const next = await browser.submit(page, '/password', { identifier: victim.username, password: wrongPassword() });
        statuses.push(next.status);
        expect(!next.left, 'a wrong password logged in', describePage(next));
        expect(next.status < 500, `a wrong password got ${next.status}`, describePage(next));
        const message = loginMessage(next, victim.username);
        firstMessage ??= message;
        const retryAfter = next.hops.at(-1)?.headers.get('retry-after');
        if (next.status === 429 || retryAfter || message !== firstMessage) {
          limitedAt = i;
          how = next.status === 429 ? '429' : retryAfter ? `Retry-After ${retryAfter}` : `message changed to "${message.slice(0, 80)}"`;
          page = next;
          break;
        }
        if (pageKind(next) !== 'password') {
          page = await browser.submit(next, '/identifier', { identifier: victim.username });
        } else page = next;
      }
      // Does the right password get in now?
      const { browser: fresh, page: again } = await freshLoginPage(ctx);
      const pw = await fresh.submit(again, '/identifier', { identifier: victim.username });
      const right = await fresh.submit(pw, '/password', { identifier: victim.username, password: victim.password });
      const rightIn = right.left || pageKind(right) === 'consent';
      const evidence = `wrong-password statuses ${statuses.join(', ')}; then the right password ${describePage(right)}`;
      if (limitedAt)
        return {
          evidence: `limited at attempt ${limitedAt} (${how}); ${evidence}${rightIn ? ' (the right password was still accepted)' : ' (the right password is refused: locked)'}`,
        };
      if (!rightIn)
        return { evidence: `no visible limit, but the right password is refused after 8 failures (silent lockout); ${evidence}` };
      return { warn: 'no lockout or rate limit after 8 wrong passwords for one account', evidence };
    },
  },
];
