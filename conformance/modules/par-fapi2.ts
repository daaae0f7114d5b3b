/**
 * Plan par-fapi2: pushed authorization requests and the FAPI 2.0 Security Profile's demands
 * on them, short-lived codes, private_key_jwt and DPoP where the OP offers them.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { TokenSet } from '../context.ts';
import { randomToken } from '../context.ts';
import { describe, request, shortUrl, type HttpResponse } from '../http.ts';
import { describePage, probe, REFUSED } from '../probes.ts';
import { expect, Skip, type ConformanceModule } from '../types.ts';
import { pushAuthorizationRequest, tokenBaseline } from './op-negative.ts';

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

interface DpopKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

/** A DPoP proof (RFC 9449 §4.2). */
async function dpopProof(key: DpopKey, method: string, url: string, opts: { accessToken?: string; nonce?: string } = {}): Promise<string> {
  const htu = url.split(/[?#]/)[0]!;
  return new SignJWT({
    htm: method,
    htu,
    ...(opts.accessToken ? { ath: ath(opts.accessToken) } : {}),
    ...(opts.nonce ? { nonce: opts.nonce } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .setJti(randomToken())
    .setIssuedAt()
    .sign(key.privateKey);
}

/** ath: base64url of the SHA-256 of the access token (RFC 9449 §4.2). */
const ath = (token: string) => createHash('sha256').update(token, 'ascii').digest('base64url');

/** Sends a request with a DPoP proof, retrying once with the server's nonce if it asks for one (RFC 9449 §8). */
async function withDpop(
  key: DpopKey,
  method: string,
  url: string,
  send: (proof: string) => Promise<HttpResponse>,
  accessToken?: string,
): Promise<HttpResponse> {
  let res = await send(await dpopProof(key, method, url, accessToken ? { accessToken } : {}));
  const nonce = res.headers.get('dpop-nonce');
  const error =
    (res.json as { error?: string } | undefined)?.error ?? /error="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
  if (nonce && error === 'use_dpop_nonce')
    res = await send(await dpopProof(key, method, url, { ...(accessToken ? { accessToken } : {}), nonce }));
  return res;
}

export const parFapi2Modules: ConformanceModule[] = [
  {
    name: 'par-fapi2/par-flow',
    clause: 'RFC 9126 §2.1–2.2, §4; FAPI 2.0 Security Profile, authorization code flow',
    title:
      'A pushed authorization request is answered 201 with a request_uri and a short expires_in; the request_uri gets a code that redeems; PAR without client authentication is refused.',
    async run(ctx) {
      const client = ctx.requireClient();
      const { browser } = await ctx.session();
      const par = await pushAuthorizationRequest(ctx);
      const body = par.response.json as { request_uri?: unknown; expires_in?: unknown } | undefined;
      expect(par.response.status === 201, `the PAR endpoint answered ${par.response.status}, not 201`, describe(par.response));
      expect(typeof body?.request_uri === 'string' && body.request_uri.length > 0, 'no request_uri', describe(par.response));
      expect(typeof body.expires_in === 'number' && body.expires_in > 0, 'no positive expires_in', describe(par.response));
      const p = await probe(browser, par.url, client);
      expect(p.verdict === 'code', 'the request_uri did not produce a code', p.evidence);
      const code = new URL(p.page.url).searchParams.get('code')!;
      const { tokens } = await ctx.redeem(code, par.verifier);
      expect(typeof tokens.access_token === 'string', 'no access token');
      let unauth = 'public client: no authentication to leave out';
      if (client.authMethod !== 'none') {
        const endpoint = await ctx.endpoint('pushed_authorization_request_endpoint');
        const res = await ctx.post(
          endpoint,
          {
            client_id: client.clientId,
            response_type: 'code',
            scope: ctx.config.scope,
            redirect_uri: client.redirectUri,
            code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
            code_challenge_method: 'S256',
          },
          { client: null },
        );
        expect(res.status === 401 || res.status === 400, `PAR without client authentication got ${res.status}`, describe(res));
        unauth = `without client authentication: ${res.status}`;
      }
      const warn = (body.expires_in as number) > 600 ? `expires_in ${body.expires_in} s is long (FAPI 2.0: less than 600 s)` : undefined;
      return { evidence: `${describe(par.response)}; ${p.evidence}; redeemed; ${unauth}`, ...(warn ? { warn } : {}) };
    },
  },
  {
    name: 'par-fapi2/par-required-enforced',
    clause: 'RFC 9126 §5, §6',
    title:
      'A client registered with require_pushed_authorization_requests is refused a plain authorization request, and works with PAR (baseline).',
    async run(ctx) {
      const parClient = ctx.config.parClient;
      if (!parClient) throw new Skip('needs a client registered to require PAR (--par-client-id/--par-client-secret, or --register)');
      const { browser } = await ctx.session();
      const plain = await ctx.authorizationRequest({}, parClient);
      const p = await probe(browser, plain.url, parClient);
      expect(REFUSED.has(p.verdict), 'an authorization request without PAR was accepted for a client that requires PAR', p.evidence);
      const par = await pushAuthorizationRequest(ctx, {}, parClient);
      expect(par.response.status === 201, 'the PAR-only client cannot push a request (baseline)', describe(par.response));
      const ok = await probe(browser, par.url, parClient);
      expect(ok.verdict === 'code' || ok.verdict === 'interaction', 'the PAR-only client gets no code with PAR (baseline)', ok.evidence);
      return { evidence: `without PAR ${describePage(p.page)}; with PAR ${describePage(ok.page)}` };
    },
  },
  {
    name: 'par-fapi2/short-code-lifetime',
    clause: 'FAPI 2.0 Security Profile, authorization server requirements (codes live at most 60 s); RFC 6749 §4.1.2',
    title: 'A code is refused once the longest allowed lifetime (--max-code-ttl, default 60 s) has passed; waits, so only with --slow.',
    async run(ctx) {
      const ttl = ctx.config.maxCodeTtlSeconds;
      if (!ctx.config.slow) throw new Skip(`waits ${ttl + 2} s for a code to expire; run with --slow`);
      await tokenBaseline(ctx);
      const a = await ctx.code();
      await new Promise((r) => setTimeout(r, (ttl + 2) * 1000));
      const client = ctx.requireClient();
      const res = await ctx.tokenRequest({
        grant_type: 'authorization_code',
        code: a.code,
        redirect_uri: client.redirectUri,
        code_verifier: a.verifier,
      });
      expect(
        res.status === 400 && (res.json as { error?: string } | undefined)?.error === 'invalid_grant',
        `a code was redeemed ${ttl + 2} s after it was issued`,
        describe(res),
      );
      return { evidence: `after ${ttl + 2} s: ${describe(res)}` };
    },
  },
  {
    name: 'par-fapi2/private-key-jwt-forged-refused',
    clause: 'RFC 7523 §3; OpenID Connect Core 1.0 §9',
    title:
      'Where private_key_jwt is offered: its algorithms exclude none and HS*, and a client assertion signed with a key the client never registered (or unsigned) is refused with invalid_client.',
    async run(ctx) {
      const d = await ctx.discovery();
      const methods = strings(d.token_endpoint_auth_methods_supported) ? d.token_endpoint_auth_methods_supported : ['client_secret_basic'];
      if (!methods.includes('private_key_jwt')) throw new Skip('private_key_jwt is not offered (token_endpoint_auth_methods_supported)');
      const algs = d.token_endpoint_auth_signing_alg_values_supported;
      expect(strings(algs) && algs.length > 0, 'token_endpoint_auth_signing_alg_values_supported is missing', JSON.stringify(algs));
      expect(
        !algs.includes('none') && !algs.some((a) => /^HS/.test(a)),
        'none or HS* client assertion algorithms are advertised',
        JSON.stringify(algs),
      );
      const client = ctx.requireClient();
      const tokenEndpoint = await ctx.endpoint('token_endpoint');
      const { privateKey } = await generateKeyPair('ES256');
      const claims = () =>
        new SignJWT({})
          .setIssuer(client.clientId)
          .setSubject(client.clientId)
          .setAudience([tokenEndpoint, ctx.config.issuer])
          .setJti(randomToken())
          .setIssuedAt()
          .setExpirationTime('60s');
      const forged = await claims().setProtectedHeader({ alg: 'ES256', kid: 'conformance-forged' }).sign(privateKey);
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: client.clientId, sub: client.clientId, aud: tokenEndpoint, jti: randomToken(), exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url')}.`;
      const lines: string[] = [];
      for (const [label, assertion] of [
        ['forged', forged],
        ['unsigned', unsigned],
      ] as const) {
        const res = await ctx.tokenRequest(
          {
            grant_type: 'authorization_code',
            code: 'conformance-not-a-code',
            redirect_uri: client.redirectUri,
            code_verifier: randomToken(32),
            client_id: client.clientId,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: assertion,
          },
          { client: null },
        );
        const error = (res.json as { error?: string } | undefined)?.error;
        // invalid_grant would mean the client was authenticated by the assertion and only the code was wrong.
        expect(error !== 'invalid_grant' && res.status !== 200, `a ${label} client assertion authenticated the client`, describe(res));
        expect(
          error === 'invalid_client' || res.status === 401,
          `a ${label} client assertion is not refused as invalid_client`,
          describe(res),
        );
        lines.push(`${label}: ${describe(res)}`);
      }
      return { evidence: `algs ${JSON.stringify(algs)}; ${lines.join('; ')}` };
    },
  },
  {
    name: 'par-fapi2/private-key-jwt-client-auth',
    clause: 'RFC 7523 §2.2, §3; OpenID Connect Core 1.0 §9',
    title: 'A client registered with private_key_jwt completes the code flow authenticating with a signed assertion.',
    async run(ctx) {
      const jwtClient = ctx.config.jwtClient;
      if (!jwtClient) throw new Skip('needs a client registered with private_key_jwt and its private key (--jwt-client-id/--jwt-key)');
      const d = await ctx.discovery();
      if (!(strings(d.token_endpoint_auth_methods_supported) && d.token_endpoint_auth_methods_supported.includes('private_key_jwt')))
        throw new Skip('private_key_jwt is not offered');
      const a = await ctx.code({}, jwtClient);
      const { tokens, response } = await ctx.redeem(a.code, a.verifier, jwtClient);
      expect(typeof tokens.id_token === 'string', 'no ID token', describe(response));
      return { evidence: describe(response) };
    },
  },
  {
    name: 'par-fapi2/dpop-sender-constrained',
    clause: 'RFC 9449 §5, §7.1; FAPI 2.0 Security Profile, sender-constrained access tokens',
    title:
      'Where DPoP is offered: a code redeemed with a DPoP proof gives a DPoP-bound token; userinfo refuses it as a Bearer token and with a proof of another key, and accepts it with the right proof.',
    async run(ctx) {
      const d = await ctx.discovery();
      if (!strings(d.dpop_signing_alg_values_supported) || d.dpop_signing_alg_values_supported.length === 0)
        throw new Skip(
          'DPoP is not offered (no dpop_signing_alg_values_supported); sender-constraining by mTLS is not checked by this suite',
        );
      if (!d.dpop_signing_alg_values_supported.includes('ES256'))
        throw new Skip(`DPoP is offered only with ${d.dpop_signing_alg_values_supported.join(', ')}; this suite signs proofs with ES256`);
      const client = ctx.requireClient();
      const tokenEndpoint = await ctx.endpoint('token_endpoint');
      const userinfoEndpoint = await ctx.endpoint('userinfo_endpoint');
      const key = await dpopKey();
      const a = await ctx.code();
      const res = await withDpop(key, 'POST', tokenEndpoint, (proof) =>
        ctx.tokenRequest(
          { grant_type: 'authorization_code', code: a.code, redirect_uri: client.redirectUri, code_verifier: a.verifier },
          { headers: { dpop: proof } },
        ),
      );
      const tokens = res.json as TokenSet | undefined;
      expect(res.status === 200 && tokens?.access_token, 'a code redeemed with a DPoP proof was refused', describe(res));
      expect(
        /^dpop$/i.test(tokens.token_type),
        `the access token is ${tokens.token_type}, not DPoP-bound, although a proof was sent`,
        describe(res),
      );
      const introspected = typeof d.introspection_endpoint === 'string' ? await ctx.introspect(tokens.access_token, 'access_token') : null;
      const jkt = (introspected?.json as { cnf?: { jkt?: string } } | undefined)?.cnf?.jkt;
      if (introspected)
        expect(
          jkt === (await calculateJwkThumbprint(key.publicJwk)),
          'the token is not bound to the proof key (cnf.jkt)',
          describe(introspected),
        );
      const get = (headers: Record<string, string>) => request(userinfoEndpoint, { headers, timeoutMs: ctx.config.timeoutMs });
      const asBearer = await get({ authorization: `Bearer ${tokens.access_token}` });
      expect(asBearer.status === 401 || asBearer.status === 400, 'the DPoP-bound token is accepted as a Bearer token', describe(asBearer));
      const other = await dpopKey();
      const wrongKey = await withDpop(
        other,
        'GET',
        userinfoEndpoint,
        (proof) => get({ authorization: `DPoP ${tokens.access_token}`, dpop: proof }),
        tokens.access_token,
      );
      expect(
        wrongKey.status === 401 || wrongKey.status === 400,
        'the DPoP-bound token is accepted with a proof of another key',
        describe(wrongKey),
      );
      const right = await withDpop(
        key,
        'GET',
        userinfoEndpoint,
        (proof) => get({ authorization: `DPoP ${tokens.access_token}`, dpop: proof }),
        tokens.access_token,
      );
      expect(right.status === 200, 'the DPoP-bound token is refused with the right proof', describe(right));
      return {
        evidence: `token_type ${tokens.token_type}${jkt ? `, cnf.jkt ${jkt}` : ''}; as Bearer ${asBearer.status}; other key ${wrongKey.status}; right proof ${right.status} (${shortUrl(userinfoEndpoint)})`,
      };
    },
  },
];
