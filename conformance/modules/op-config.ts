/**
 * Plan op-config: the OP's published configuration (discovery document and keys), checked
 * without logging anyone in.
 */
import { importJWK, type JWK } from 'jose';
import { describe, shortJson } from '../http.ts';
import { expect, Fail, type ConformanceModule } from '../types.ts';
import { LOOPBACK_HOSTS } from '../../infra/loopback.ts';

/** https, or http on a loopback address (development deployments). */
export function secureUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const u = URL.parse(value);
  return !!u && !u.hash && (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname)));
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

export const opConfigModules: ConformanceModule[] = [
  {
    name: 'op-config/discovery-fetch',
    clause: 'OpenID Connect Discovery 1.0 §4; RFC 8414 §3',
    title: 'GET {issuer}/.well-known/openid-configuration answers 200 with a JSON object (application/json).',
    async run(ctx) {
      const res = await ctx.discoveryResponse();
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
      expect(type === 'application/json', `the content type is ${type || 'missing'}, not application/json`, describe(res));
      return { evidence: `GET ${ctx.discoveryUrl} → 200 ${type}, ${Object.keys(res.json as object).length} members` };
    },
  },
  {
    name: 'op-config/discovery-issuer-match',
    clause: 'OpenID Connect Discovery 1.0 §4.3; RFC 8414 §3.3',
    title: 'The issuer in the discovery document is exactly the issuer the document was fetched for.',
    async run(ctx) {
      const d = await ctx.discovery();
      expect(
        d.issuer === ctx.config.issuer,
        'the issuer in the discovery document differs from the issuer URL',
        `expected ${JSON.stringify(ctx.config.issuer)}, got ${JSON.stringify(d.issuer)}`,
      );
      return { evidence: `issuer ${JSON.stringify(d.issuer)}` };
    },
  },
  {
    name: 'op-config/discovery-required-metadata',
    clause: 'OpenID Connect Discovery 1.0 §3; RFC 8414 §2',
    title:
      'Every REQUIRED member is present and well-formed; endpoints are https (http only on loopback); RECOMMENDED members missing give a warning.',
    async run(ctx) {
      const d = await ctx.discovery();
      const problems: string[] = [];
      for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
        if (!secureUrl(d[name]))
          problems.push(`${name} ${d[name] === undefined ? 'missing' : `${JSON.stringify(d[name])} is not an https URL`}`);
      }
      for (const name of [
        'userinfo_endpoint',
        'pushed_authorization_request_endpoint',
        'revocation_endpoint',
        'introspection_endpoint',
        'end_session_endpoint',
        'registration_endpoint',
      ]) {
        if (d[name] !== undefined && !secureUrl(d[name])) problems.push(`${name} ${JSON.stringify(d[name])} is not an https URL`);
      }
      for (const name of ['response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported']) {
        if (!strings(d[name]) || (d[name] as string[]).length === 0)
          problems.push(`${name} ${d[name] === undefined ? 'missing' : 'is not a non-empty array of strings'}`);
      }
      if (problems.length) throw new Fail(`required metadata: ${problems.join('; ')}`, `GET ${ctx.discoveryUrl}`);
      const missing = ['userinfo_endpoint', 'scopes_supported', 'claims_supported'].filter((n) => d[n] === undefined);
      if (strings(d.scopes_supported) && !d.scopes_supported.includes('openid'))
        return { warn: 'scopes_supported does not list openid (Discovery §3: it MUST when the member is present)' };
      if (missing.length) return { warn: `RECOMMENDED metadata missing: ${missing.join(', ')}` };
      return {
        evidence:
          'authorization_endpoint, token_endpoint, jwks_uri, response_types_supported, subject_types_supported, id_token_signing_alg_values_supported present',
      };
    },
  },
  {
    name: 'op-config/jwks',
    clause: 'RFC 7517 §4–5; OpenID Connect Core 1.0 §10.1',
    title: 'jwks_uri serves a JWK Set of public keys only, with unique kids, every key importable.',
    async run(ctx) {
      const { keys, response } = await ctx.jwks();
      expect(keys.length > 0, 'the JWK Set is empty', describe(response));
      const kids = new Set<string>();
      for (const [i, key] of keys.entries()) {
        const label = `keys[${i}]${key.kid ? ` (kid ${key.kid})` : ''}`;
        expect(typeof key.kty === 'string', `${label} has no kty`);
        const priv = PRIVATE_MEMBERS.filter((m) => m in key);
        expect(priv.length === 0, `${label} publishes private key material (${priv.join(', ')})`, describe(response));
        if (keys.length > 1)
          expect(typeof key.kid === 'string' && key.kid.length > 0, `${label} has no kid although the set has several keys (Core §10.1)`);
        if (key.kid) {
          expect(!kids.has(key.kid), `kid ${key.kid} appears twice`);
          kids.add(key.kid);
        }
        try {
          await importJWK(key as JWK, key.alg ?? algFor(key));
        } catch (err) {
          throw new Fail(`${label} cannot be imported: ${(err as Error).message}`, shortJson(key));
        }
      }
      return {
        evidence: `${keys.length} public keys: ${keys.map((k) => `${k.kty}${k.crv ? `/${k.crv}` : ''}${k.alg ? ` ${k.alg}` : ''}`).join(', ')}`,
      };
    },
  },
  {
    name: 'op-config/id-token-algs',
    clause: 'OpenID Connect Core 1.0 §2, §10.1; FAPI 2.0 Security Profile, cryptography and secrets',
    title: 'id_token_signing_alg_values_supported includes ES256 and never none, and the JWK Set has a P-256 key to verify ES256.',
    async run(ctx) {
      const d = await ctx.discovery();
      const algs = d.id_token_signing_alg_values_supported;
      expect(
        strings(algs),
        'id_token_signing_alg_values_supported is missing',
        `id_token_signing_alg_values_supported: ${JSON.stringify(algs)}`,
      );
      expect(!algs.includes('none'), 'unsigned ID tokens (alg none) are advertised', JSON.stringify(algs));
      expect(!algs.some((a) => /^HS/.test(a)), 'symmetric ID token algorithms (HS*) are advertised', JSON.stringify(algs));
      expect(algs.includes('ES256'), 'ES256 is not among the ID token algorithms', JSON.stringify(algs));
      const { keys } = await ctx.jwks();
      const es256 = keys.find((k) => k.kty === 'EC' && k.crv === 'P-256' && (k.use ?? 'sig') === 'sig' && (k.alg ?? 'ES256') === 'ES256');
      expect(
        es256,
        'ES256 is advertised but the JWK Set has no P-256 signing key',
        keys.map((k) => `${k.kty}/${k.crv ?? ''}/${k.alg ?? ''}`).join(', '),
      );
      return { evidence: `${JSON.stringify(algs)}; ES256 key ${es256.kid ?? '(no kid)'}` };
    },
  },
  {
    name: 'op-config/response-types-code-only',
    clause: 'RFC 9700 §2.1.2, §2.4; FAPI 2.0 Security Profile, authorization server requirements',
    title: 'Only the code response type is offered: no implicit or hybrid response types, no implicit or password grant.',
    async run(ctx) {
      const d = await ctx.discovery();
      const types = d.response_types_supported;
      expect(strings(types), 'response_types_supported is missing', JSON.stringify(types));
      const others = types.filter((t) => t !== 'code');
      expect(
        others.length === 0,
        `implicit or hybrid response types are offered: ${others.join(', ')}`,
        `response_types_supported: ${JSON.stringify(types)}`,
      );
      expect(types.includes('code'), 'the code response type is not offered', JSON.stringify(types));
      const grants = strings(d.grant_types_supported) ? d.grant_types_supported : [];
      const bad = grants.filter((g) => g === 'implicit' || g === 'password');
      expect(
        bad.length === 0,
        `grant types RFC 9700 forbids are offered: ${bad.join(', ')}`,
        `grant_types_supported: ${JSON.stringify(grants)}`,
      );
      return {
        evidence: `response_types_supported ${JSON.stringify(types)}; grant_types_supported ${JSON.stringify(d.grant_types_supported ?? null)}`,
      };
    },
  },
  {
    name: 'op-config/pkce-s256-only',
    clause: 'RFC 7636 §4.2; RFC 9700 §2.1.1, §4.8; RFC 8414 §2',
    title: 'code_challenge_methods_supported lists S256 and not plain.',
    async run(ctx) {
      const d = await ctx.discovery();
      const methods = d.code_challenge_methods_supported;
      expect(
        strings(methods),
        'code_challenge_methods_supported is not published (RFC 9700 §2.1.1: PKCE support must be detectable)',
        JSON.stringify(methods),
      );
      expect(methods.includes('S256'), 'S256 is not offered', JSON.stringify(methods));
      expect(!methods.includes('plain'), 'the plain method is offered', `code_challenge_methods_supported: ${JSON.stringify(methods)}`);
      return { evidence: `code_challenge_methods_supported ${JSON.stringify(methods)}` };
    },
  },
  {
    name: 'op-config/iss-parameter-supported',
    clause: 'RFC 9207 §3',
    title: 'authorization_response_iss_parameter_supported is true (mix-up defence).',
    async run(ctx) {
      const d = await ctx.discovery();
      expect(
        d.authorization_response_iss_parameter_supported === true,
        'authorization_response_iss_parameter_supported is not true',
        `authorization_response_iss_parameter_supported: ${JSON.stringify(d.authorization_response_iss_parameter_supported)}`,
      );
      return { evidence: 'authorization_response_iss_parameter_supported: true' };
    },
  },
  {
    name: 'op-config/par-advertised',
    clause: 'RFC 9126 §5; FAPI 2.0 Security Profile, authorization code flow',
    title: 'pushed_authorization_request_endpoint is advertised as an https URL.',
    async run(ctx) {
      const d = await ctx.discovery();
      const par = d.pushed_authorization_request_endpoint;
      expect(
        secureUrl(par),
        par === undefined ? 'no pushed_authorization_request_endpoint' : 'pushed_authorization_request_endpoint is not an https URL',
        `pushed_authorization_request_endpoint: ${JSON.stringify(par)}`,
      );
      return {
        evidence: `pushed_authorization_request_endpoint ${par}${d.require_pushed_authorization_requests === true ? ' (required for all clients)' : ''}`,
      };
    },
  },
];

export function algFor(key: JWK): string {
  if (key.kty === 'EC') return key.crv === 'P-384' ? 'ES384' : key.crv === 'P-521' ? 'ES512' : 'ES256';
  if (key.kty === 'OKP') return 'EdDSA';
  if (key.kty === 'RSA') return 'RS256';
  return 'HS256';
}
