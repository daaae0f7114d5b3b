/**
 * Plan op-basic: the authorization code flow end to end, as a certified relying party checks it:
 * PKCE, state and nonce, the ID token, userinfo, claims by scope, refresh token rotation,
 * revocation, and iss in the authorization response.
 */
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { ConformanceContext, TokenSet } from '../context.ts';
import { describe, request, shortJson, shortUrl, type HttpResponse } from '../http.ts';
import { expect, Fail, Skip, type ConformanceModule } from '../types.ts';

/** The test user's first tokens: the login of the session, redeemed (prerequisite "first-tokens"). */
export function firstTokens(
  ctx: ConformanceContext,
): Promise<{ tokens: TokenSet; response: HttpResponse; nonce: string; state: string; callback: URL }> {
  return ctx.prereq('first-tokens', async () => {
    const { first } = await ctx.session();
    const cb = first.callback!;
    const error = cb.searchParams.get('error');
    expect(!error, `the authorization response is an error: ${error} ${cb.searchParams.get('error_description') ?? ''}`, shortUrl(cb));
    const code = cb.searchParams.get('code');
    expect(code, 'the authorization response carries no code', shortUrl(cb));
    const { tokens, response } = await ctx.redeem(code, first.verifier);
    return { tokens, response, nonce: first.nonce, state: first.state, callback: cb };
  });
}

export async function userinfo(
  ctx: ConformanceContext,
  accessToken: string,
  tokenType = 'Bearer',
): Promise<{ claims: Record<string, unknown>; response: HttpResponse }> {
  const res = await request(await ctx.endpoint('userinfo_endpoint'), {
    headers: { authorization: `${tokenType} ${accessToken}` },
    timeoutMs: ctx.config.timeoutMs,
  });
  expect(res.status === 200, 'userinfo refused a valid access token', describe(res));
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (type === 'application/jwt') {
    const { payload } = await jwtVerify(res.text.trim(), (await ctx.jwks()).getKey, { issuer: ctx.config.issuer });
    return { claims: payload as Record<string, unknown>, response: res };
  }
  expect(res.json && typeof res.json === 'object', 'userinfo did not answer a JSON object', describe(res));
  return { claims: res.json as Record<string, unknown>, response: res };
}

/** at_hash / c_hash: the left half of the hash of the value, base64url (Core §3.1.3.6, §3.3.2.11). */
export function halfHash(alg: string, value: string): string {
  const bits = /512$|EdDSA|Ed25519/.test(alg) ? 'sha512' : /384$/.test(alg) ? 'sha384' : 'sha256';
  const digest = createHash(bits).update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

const now = () => Math.floor(Date.now() / 1000);

export const opBasicModules: ConformanceModule[] = [
  {
    name: 'op-basic/code-flow-pkce',
    clause: 'OpenID Connect Core 1.0 §3.1.2–3.1.3; RFC 7636 §4; RFC 6749 §5.1',
    title:
      'A fresh browser logs in, the code comes back to the redirect URI, and the token endpoint redeems it with the PKCE verifier (no-store, Bearer/DPoP, ID token).',
    async run(ctx) {
      const { tokens, response, callback } = await firstTokens(ctx);
      expect(typeof tokens.id_token === 'string', 'no ID token for a request with scope openid', describe(response));
      expect(/^(bearer|dpop)$/i.test(String(tokens.token_type)), `token_type is ${JSON.stringify(tokens.token_type)}`, describe(response));
      const cache = response.headers.get('cache-control') ?? '';
      expect(
        /no-store/i.test(cache),
        'the token response is cacheable (RFC 6749 §5.1: Cache-Control: no-store)',
        `Cache-Control: ${cache || 'missing'}`,
      );
      return { evidence: `callback ${shortUrl(callback)}; ${describe(response)}` };
    },
  },
  {
    name: 'op-basic/state-nonce-echo',
    clause: 'RFC 6749 §4.1.2; OpenID Connect Core 1.0 §3.1.2.1, §3.1.3.7 (11)',
    title: 'state comes back unchanged (also with space, slash, plus and equals signs in it), and the ID token carries the nonce sent.',
    async run(ctx) {
      const state = `st ${Date.now().toString(36)}/+=~.x`;
      const nonce = `n-${Math.random().toString(36).slice(2)}_${Date.now()}`;
      const a = await ctx.code({ state, nonce });
      const echoed = a.callback!.searchParams.get('state');
      expect(echoed === state, 'state was not returned unchanged', `sent ${JSON.stringify(state)}, got ${JSON.stringify(echoed)}`);
      const { tokens } = await ctx.redeem(a.code, a.verifier);
      expect(typeof tokens.id_token === 'string', 'no ID token');
      const claims = decodeJwt(tokens.id_token);
      expect(
        claims.nonce === nonce,
        'the ID token does not carry the nonce of the request',
        `sent ${JSON.stringify(nonce)}, got ${JSON.stringify(claims.nonce)}`,
      );
      return { evidence: `state ${JSON.stringify(state)} echoed; nonce ${JSON.stringify(nonce)} in the ID token` };
    },
  },
  {
    name: 'op-basic/id-token-validation',
    clause: 'OpenID Connect Core 1.0 §2, §3.1.3.6–3.1.3.8',
    title:
      'The ID token verifies with a key of jwks_uri under an advertised algorithm; iss, aud (azp), exp, iat, nonce and acr are right; at_hash matches when present.',
    async run(ctx) {
      const { tokens, nonce } = await firstTokens(ctx);
      const client = ctx.requireClient();
      const d = await ctx.discovery();
      const idToken = tokens.id_token;
      expect(typeof idToken === 'string', 'no ID token');
      const header = decodeProtectedHeader(idToken);
      const advertised = Array.isArray(d.id_token_signing_alg_values_supported)
        ? (d.id_token_signing_alg_values_supported as string[])
        : [];
      expect(header.alg && header.alg !== 'none', 'the ID token is unsigned', JSON.stringify(header));
      expect(advertised.includes(header.alg), `the ID token alg ${header.alg} is not advertised`, JSON.stringify(advertised));
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(idToken, (await ctx.jwks()).getKey, {
          algorithms: advertised.filter((a) => a !== 'none'),
          clockTolerance: 60,
        }));
      } catch (err) {
        throw new Fail(
          `the ID token signature does not verify with the keys of jwks_uri: ${(err as Error).message}`,
          `header ${JSON.stringify(header)}`,
        );
      }
      const t = now();
      const problems: string[] = [];
      if (claims.iss !== ctx.config.issuer) problems.push(`iss ${JSON.stringify(claims.iss)} is not the issuer`);
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!aud.includes(client.clientId)) problems.push(`aud ${JSON.stringify(claims.aud)} does not contain the client_id`);
      if (aud.length > 1 && claims.azp !== client.clientId) problems.push('several audiences but azp is not the client_id');
      if (typeof claims.sub !== 'string' || !claims.sub || claims.sub.length > 255)
        problems.push(`sub ${JSON.stringify(claims.sub)} is not a string of 1–255 characters`);
      if (typeof claims.exp !== 'number' || claims.exp <= t) problems.push(`exp ${claims.exp} is not in the future`);
      if (typeof claims.iat !== 'number' || claims.iat > t + 60 || claims.iat < t - 600)
        problems.push(`iat ${claims.iat} is not about now (${t})`);
      if (claims.nonce !== nonce) problems.push(`nonce ${JSON.stringify(claims.nonce)} is not the one sent`);
      const acrValues = d.acr_values_supported;
      if (typeof claims.acr !== 'string') problems.push('no acr (the level of assurance every ID token of this profile states)');
      else if (Array.isArray(acrValues) && !acrValues.includes(claims.acr))
        problems.push(`acr ${claims.acr} is not in acr_values_supported`);
      if (claims.at_hash !== undefined && claims.at_hash !== halfHash(header.alg, tokens.access_token))
        problems.push('at_hash does not match the access token');
      if (problems.length) throw new Fail(`ID token: ${problems.join('; ')}`, shortJson({ ...claims, sub: claims.sub }));
      return {
        evidence: `alg ${header.alg} kid ${header.kid ?? '-'}; iss, aud, exp (+${(claims.exp as number) - t}s), iat, nonce, acr ${claims.acr}${claims.at_hash ? ', at_hash' : ''} checked`,
      };
    },
  },
  {
    name: 'op-basic/userinfo-sub',
    clause: 'OpenID Connect Core 1.0 §5.3.2, §5.3.4; RFC 6750 §3',
    title:
      'userinfo answers the access token with the same sub as the ID token, and refuses a request without a token with 401 and WWW-Authenticate.',
    async run(ctx) {
      const { tokens } = await firstTokens(ctx);
      if (!/^bearer$/i.test(tokens.token_type))
        throw new Skip(`the access token is ${tokens.token_type}-bound; par-fapi2/dpop-sender-constrained checks userinfo for it`);
      const { claims, response } = await userinfo(ctx, tokens.access_token);
      const sub = decodeJwt(tokens.id_token!).sub;
      expect(
        claims.sub === sub,
        'the userinfo sub differs from the ID token sub',
        `ID token ${JSON.stringify(sub)}, userinfo ${JSON.stringify(claims.sub)}`,
      );
      const anonymous = await request(await ctx.endpoint('userinfo_endpoint'), { timeoutMs: ctx.config.timeoutMs });
      expect(anonymous.status === 401, 'userinfo without an access token is not refused with 401', describe(anonymous));
      expect(
        /bearer|dpop/i.test(anonymous.headers.get('www-authenticate') ?? ''),
        'the 401 carries no WWW-Authenticate challenge',
        describe(anonymous),
      );
      return {
        evidence: `${describe(response)}; without a token: ${anonymous.status} WWW-Authenticate: ${anonymous.headers.get('www-authenticate')}`,
      };
    },
  },
  {
    name: 'op-basic/claims-by-scope',
    clause: 'OpenID Connect Core 1.0 §5.4',
    title: 'name is released only with the profile scope (in userinfo and the ID token); phone claims only with phone.',
    async run(ctx) {
      const bare = await ctx.freshTokens({ scope: 'openid' });
      const bareInfo = await userinfo(ctx, bare.tokens.access_token, bare.tokens.token_type);
      const bareId = decodeJwt(bare.tokens.id_token ?? '');
      expect(
        bareInfo.claims.name === undefined && bareId.name === undefined,
        'name is released without the profile scope',
        `scope openid: userinfo ${shortJson(bareInfo.claims)}; ID token name ${JSON.stringify(bareId.name)}`,
      );
      expect(
        bareInfo.claims.phone_number === undefined && bareId.phone_number === undefined,
        'phone_number is released without the phone scope',
        shortJson(bareInfo.claims),
      );
      const profile = await ctx.freshTokens({ scope: 'openid profile' });
      const info = await userinfo(ctx, profile.tokens.access_token, profile.tokens.token_type);
      const id = decodeJwt(profile.tokens.id_token ?? '');
      expect(
        typeof info.claims.name === 'string' || typeof id.name === 'string',
        'name is not released with the profile scope',
        `scope openid profile: userinfo ${shortJson(info.claims)}`,
      );
      expect(info.claims.phone_number === undefined, 'phone_number is released without the phone scope', shortJson(info.claims));
      return {
        evidence: `scope openid: ${Object.keys(bareInfo.claims).join(', ')}; scope openid profile: ${Object.keys(info.claims).join(', ')}`,
      };
    },
  },
  {
    name: 'op-basic/refresh-rotation',
    clause: 'RFC 9700 §4.14.2; RFC 6749 §6',
    title: 'A refresh returns a new refresh token, and the old one is then refused with invalid_grant.',
    async run(ctx) {
      const { tokens } = await ctx.freshTokens();
      if (typeof tokens.refresh_token !== 'string')
        throw new Skip('no refresh token was issued to the test client (the grant or the offline_access scope is not allowed)');
      const first = await ctx.tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      const next = first.json as TokenSet | undefined;
      expect(first.status === 200 && typeof next?.access_token === 'string', 'a valid refresh token was not accepted', describe(first));
      expect(
        typeof next.refresh_token === 'string' && next.refresh_token !== tokens.refresh_token,
        'the refresh token was not rotated',
        describe(first),
      );
      const reuse = await ctx.tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      expect(
        reuse.status === 400 && (reuse.json as { error?: string } | undefined)?.error === 'invalid_grant',
        'the old refresh token still works after rotation',
        describe(reuse),
      );
      return { evidence: `${describe(first)} (new refresh token); reuse: ${describe(reuse)}` };
    },
  },
  {
    name: 'op-basic/revocation',
    clause: 'RFC 7009 §2.1–2.2; RFC 7662 §2.2',
    title: 'A revoked access token introspects as inactive (it was active before), and a revoked refresh token no longer refreshes.',
    async run(ctx) {
      const endpoint = await ctx.endpoint('revocation_endpoint', true);
      const { tokens } = await ctx.freshTokens();
      const before = await ctx.accessTokenActive(tokens.access_token, tokens.token_type);
      expect(before.active, 'a fresh access token is not active', before.evidence);
      const revoke = await ctx.post(endpoint, { token: tokens.access_token, token_type_hint: 'access_token' });
      expect(revoke.status === 200, 'the revocation endpoint did not accept a valid token', describe(revoke));
      const after = await ctx.accessTokenActive(tokens.access_token, tokens.token_type);
      expect(!after.active, 'the access token is still active after revocation', after.evidence);
      let refreshEvidence = 'no refresh token issued';
      if (typeof tokens.refresh_token === 'string') {
        const r = await ctx.post(endpoint, { token: tokens.refresh_token, token_type_hint: 'refresh_token' });
        expect(r.status === 200, 'the revocation endpoint did not accept a valid refresh token', describe(r));
        const use = await ctx.tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
        expect(use.status === 400, 'a revoked refresh token still refreshes', describe(use));
        refreshEvidence = `revoked refresh token: ${describe(use)}`;
      }
      return { evidence: `before: ${before.evidence}; ${describe(revoke)}; after: ${after.evidence}; ${refreshEvidence}` };
    },
  },
  {
    name: 'op-basic/iss-in-authorization-response',
    clause: 'RFC 9207 §2, §2.3',
    title: 'Authorization responses (success, and an error response when one is observed) carry iss equal to the issuer.',
    async run(ctx) {
      const { callback } = await firstTokens(ctx);
      const iss = callback.searchParams.get('iss');
      expect(
        iss === ctx.config.issuer,
        iss === null ? 'the authorization response has no iss parameter' : 'the iss parameter is not the issuer',
        shortUrl(callback),
      );
      // An error response: prompt=none in a browser without a session (login_required).
      const a = await ctx.authorize({ prompt: 'none' }, { browser: await ctx.newBrowser(), interact: false });
      let errorEvidence = `prompt=none without a session: ${a.page.left ? shortUrl(a.page.url) : `page ${a.page.status}`} (no error redirect to check)`;
      if (a.callback?.searchParams.get('error')) {
        const errIss = a.callback.searchParams.get('iss');
        expect(errIss === ctx.config.issuer, 'the error response has no (or a wrong) iss parameter', shortUrl(a.callback));
        errorEvidence = `error response ${shortUrl(a.callback)}`;
      }
      return { evidence: `success ${shortUrl(callback)}; ${errorEvidence}` };
    },
  },
];
