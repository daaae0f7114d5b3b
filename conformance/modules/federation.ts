/**
 * Plan federation: the target as an entity of an OpenID Federation 1.0 federation: its entity
 * configuration, its superior's subordinate statement about it, the trust chain to the anchor
 * (validated by this project's trust-chain library), the anchor's resolve endpoint compared with
 * what the library computes, and negative checks.
 */
import { isDeepStrictEqual } from 'node:util';
import { compactVerify, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { TrustChainError } from '../../federation/federation-errors.ts';
import { httpStatementFetcher, resolveTrustChain, validateTrustChain, type TrustChain } from '../../federation/trust-chain.ts';
import { trustAnchorTrustMarkConfig, trustMarkIssuerKeyResolver, verifyEntityTrustMarks } from '../../federation/trust-marks.ts';
import type { ConformanceContext } from '../context.ts';
import { randomToken } from '../context.ts';
import { describe, request, shortJson, shortUrl, type HttpResponse } from '../http.ts';
import { expect, Fail, Skip, type ConformanceModule } from '../types.ts';
import { LOOPBACK_HOSTS } from '../../infra/loopback.ts';

const ENTITY_STATEMENT_TYP = 'entity-statement+jwt';
const ENTITY_STATEMENT_MEDIA_TYPE = 'application/entity-statement+jwt';
const RESOLVE_RESPONSE_TYP = 'resolve-response+jwt';

/** http Entity Identifiers are accepted only when every one involved is on a loopback address. */
export function httpAllowedFor(...ids: string[]): boolean {
  return (
    ids.every((id) => {
      const u = URL.parse(id);
      return !!u && (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname)));
    }) && ids.some((id) => id.startsWith('http:'))
  );
}

export interface FetchedStatement {
  jwt: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown> & {
    iss?: string;
    sub?: string;
    jwks?: { keys: JWK[] };
    authority_hints?: string[];
    metadata?: Record<string, Record<string, unknown>>;
  };
  response: HttpResponse;
}

const now = () => Math.floor(Date.now() / 1000);

/** GETs a statement and checks what every entity statement must be (§3, §3.2): media type, typ, alg, kid, times. */
async function fetchStatement(ctx: ConformanceContext, url: string, what: string): Promise<FetchedStatement> {
  const response = await request(url, { headers: { accept: ENTITY_STATEMENT_MEDIA_TYPE }, timeoutMs: ctx.config.timeoutMs });
  expect(response.status === 200, `${what} is not served (HTTP ${response.status})`, describe(response));
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  expect(
    type === ENTITY_STATEMENT_MEDIA_TYPE,
    `${what} is served as ${type || 'no content type'}, not ${ENTITY_STATEMENT_MEDIA_TYPE}`,
    describe(response),
  );
  const jwt = response.text.trim();
  let header: Record<string, unknown>;
  let claims: FetchedStatement['claims'];
  try {
    header = decodeProtectedHeader(jwt) as Record<string, unknown>;
    claims = decodeJwt(jwt) as FetchedStatement['claims'];
  } catch (err) {
    throw new Fail(`${what} is not a JWT: ${(err as Error).message}`, describe(response));
  }
  expect(
    header.typ === ENTITY_STATEMENT_TYP,
    `${what} has typ ${JSON.stringify(header.typ)}, not ${ENTITY_STATEMENT_TYP}`,
    shortJson(header),
  );
  expect(
    typeof header.alg === 'string' && header.alg !== 'none' && !/^HS/.test(header.alg),
    `${what} has alg ${JSON.stringify(header.alg)}`,
    shortJson(header),
  );
  expect(typeof header.kid === 'string' && header.kid.length > 0, `${what} has no kid`, shortJson(header));
  const t = now();
  expect(
    typeof claims.iat === 'number' && claims.iat <= t + 60,
    `${what}: iat ${claims.iat} is missing or in the future`,
    shortJson({ iat: claims.iat, now: t }),
  );
  expect(
    typeof claims.exp === 'number' && claims.exp > t,
    `${what}: exp ${claims.exp} is missing or past`,
    shortJson({ exp: claims.exp, now: t }),
  );
  expect(claims.jwks && Array.isArray(claims.jwks.keys) && claims.jwks.keys.length > 0, `${what} has no jwks`, shortJson(claims));
  return { jwt, header, claims, response };
}

/** Verifies a statement with the key of `keys` named by its kid. */
async function verifyWith(st: FetchedStatement, keys: JWK[], what: string, whose: string): Promise<void> {
  const key = keys.find((k) => k.kid === st.header.kid);
  expect(
    key,
    `${what} is signed with key ${st.header.kid}, which is not in ${whose}`,
    `kids in ${whose}: ${keys.map((k) => k.kid).join(', ')}`,
  );
  try {
    await compactVerify(st.jwt, await importKey(key, st.header.alg as string));
  } catch (err) {
    throw new Fail(`${what}: the signature does not verify with key ${key.kid} of ${whose}: ${(err as Error).message}`);
  }
}

async function importKey(jwk: JWK, alg: string) {
  const pub = { ...jwk };
  for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) delete (pub as Record<string, unknown>)[m];
  return importJWK(pub, alg);
}

const ecUrl = (id: string) => `${id.replace(/\/$/, '')}/.well-known/openid-federation`;

/** The target's entity configuration, checked (prerequisite "entity-configuration"). */
function entityConfiguration(ctx: ConformanceContext): Promise<FetchedStatement> {
  return ctx.prereq('entity-configuration', async () => {
    const id = ctx.config.entityId;
    const st = await fetchStatement(ctx, ecUrl(id), `the entity configuration of ${id}`);
    expect(
      st.claims.iss === id && st.claims.sub === id,
      'iss and sub of the entity configuration are not the Entity Identifier',
      shortJson({ iss: st.claims.iss, sub: st.claims.sub, expected: id }),
    );
    await verifyWith(st, st.claims.jwks!.keys, 'the entity configuration', 'its own jwks');
    return st;
  });
}

/**
 * An entity's configuration and those of its superiors, up the first authority hint of each to
 * an entity without hints (at most 8 levels): [the entity, its superior, …, the top].
 */
export async function superiors(
  ctx: ConformanceContext,
  entityId: string,
  own?: FetchedStatement,
): Promise<{ id: string; statement: FetchedStatement }[]> {
  const path = [
    { id: entityId, statement: own ?? (await fetchStatement(ctx, ecUrl(entityId), `the entity configuration of ${entityId}`)) },
  ];
  for (let depth = 0; depth < 8; depth++) {
    const hints = path.at(-1)!.statement.claims.authority_hints;
    if (!Array.isArray(hints) || hints.length === 0) break;
    path.push({ id: hints[0]!, statement: await fetchStatement(ctx, ecUrl(hints[0]!), `the entity configuration of ${hints[0]}`) });
  }
  return path;
}

/** The trust anchor: --trust-anchor, or the end of the first authority_hints path (prerequisite "trust-anchor"). */
export function trustAnchor(
  ctx: ConformanceContext,
): Promise<{ entityId: string; jwks: { keys: JWK[] }; configuration: FetchedStatement; pinned: boolean; path: string[] }> {
  return ctx.prereq('trust-anchor', async () => {
    let id = ctx.config.trustAnchor;
    let path = [ctx.config.entityId];
    if (!id) {
      path = (await superiors(ctx, ctx.config.entityId, await entityConfiguration(ctx))).map((e) => e.id);
      id = path.at(-1)!;
    }
    const configuration = await fetchStatement(ctx, ecUrl(id), `the trust anchor's entity configuration (${id})`);
    const jwks = ctx.config.trustAnchorJwks ?? (configuration.claims.jwks as { keys: JWK[] });
    return { entityId: id, jwks, configuration, pinned: Boolean(ctx.config.trustAnchorJwks), path };
  });
}

/** The trust chain resolved by the library (prerequisite "trust-chain"). */
function chain(
  ctx: ConformanceContext,
): Promise<{ chain: TrustChain; allowHttp: boolean; anchor: Awaited<ReturnType<typeof trustAnchor>> }> {
  return ctx.prereq('trust-chain', async () => {
    const anchor = await trustAnchor(ctx);
    const allowHttp = httpAllowedFor(ctx.config.entityId, anchor.entityId);
    try {
      const resolved = await resolveTrustChain(ctx.config.entityId, {
        trustAnchors: [{ entityId: anchor.entityId, jwks: anchor.jwks }],
        fetcher: httpStatementFetcher(),
        allowHttpEntityIds: allowHttp,
      });
      return { chain: resolved, allowHttp, anchor };
    } catch (err) {
      if (err instanceof TrustChainError)
        throw new Fail(
          `no valid trust chain to ${anchor.entityId}: ${err.message}`,
          err.alternatives.map((e) => e.message).join(' | ') || undefined,
        );
      throw err;
    }
  });
}

/** A compact JWS with its signature corrupted. */
const flipSignature = (jwt: string) => {
  const [h, p, s] = jwt.split('.');
  const sig = Buffer.from(s!, 'base64url');
  sig[0] = sig[0]! ^ 0xff;
  return `${h}.${p}.${sig.toString('base64url')}`;
};

export const federationModules: ConformanceModule[] = [
  {
    name: 'federation/entity-configuration',
    clause: 'OpenID Federation 1.0 §3, §3.2, §9',
    title:
      "GET {entity}/.well-known/openid-federation is an entity-statement+jwt, self-signed with a key of its own jwks, iss = sub = the Entity Identifier, valid now; an OP's metadata names its issuer.",
    async run(ctx) {
      const st = await entityConfiguration(ctx);
      const op = st.claims.metadata?.openid_provider;
      if (ctx.config.entityId === ctx.config.issuer) {
        expect(op && typeof op === 'object', 'the entity configuration has no openid_provider metadata', shortJson(st.claims.metadata));
        expect(op.issuer === undefined || op.issuer === ctx.config.issuer, 'openid_provider.issuer is not the issuer', shortJson(op));
      }
      return {
        evidence: `${describe(st.response)}; kid ${st.header.kid}, alg ${st.header.alg}, exp +${(st.claims.exp as number) - now()}s, metadata ${Object.keys(st.claims.metadata ?? {}).join(', ')}, authority_hints ${JSON.stringify(st.claims.authority_hints ?? [])}`,
      };
    },
  },
  {
    name: 'federation/subordinate-statement',
    clause: 'OpenID Federation 1.0 §3.1.3, §3.2, §8.1',
    title:
      'Each authority hint leads to a superior whose fetch endpoint returns a subordinate statement about the entity, signed by the superior, carrying the key that signed the entity configuration.',
    async run(ctx) {
      const ec = await entityConfiguration(ctx);
      const hints = ec.claims.authority_hints;
      if (!Array.isArray(hints) || hints.length === 0)
        throw new Skip('the entity has no authority_hints: it is a trust anchor (its own configuration is the whole chain)');
      const lines: string[] = [];
      for (const hint of hints.slice(0, 5)) {
        const superior = await fetchStatement(ctx, ecUrl(hint), `the entity configuration of the superior ${hint}`);
        expect(
          superior.claims.iss === hint && superior.claims.sub === hint,
          `the superior's entity configuration is not about ${hint}`,
          shortJson({ iss: superior.claims.iss, sub: superior.claims.sub }),
        );
        await verifyWith(superior, superior.claims.jwks!.keys, `the entity configuration of ${hint}`, 'its own jwks');
        const fetchEndpoint = superior.claims.metadata?.federation_entity?.federation_fetch_endpoint;
        expect(
          typeof fetchEndpoint === 'string' && URL.canParse(fetchEndpoint),
          `the superior ${hint} publishes no federation_fetch_endpoint`,
          shortJson(superior.claims.metadata?.federation_entity),
        );
        const url = new URL(fetchEndpoint);
        url.searchParams.set('sub', ctx.config.entityId);
        const st = await fetchStatement(ctx, url.toString(), `the subordinate statement ${hint}→${ctx.config.entityId}`);
        expect(
          st.claims.iss === hint && st.claims.sub === ctx.config.entityId,
          'the subordinate statement has the wrong iss/sub',
          shortJson({ iss: st.claims.iss, sub: st.claims.sub }),
        );
        expect(!('authority_hints' in st.claims), 'the subordinate statement carries authority_hints (only entity configurations may)');
        await verifyWith(st, superior.claims.jwks!.keys, 'the subordinate statement', `the jwks of ${hint}`);
        const kids = st.claims.jwks!.keys.map((k) => k.kid);
        expect(
          kids.includes(ec.header.kid as string),
          `the superior vouches for keys ${kids.join(', ')}, not for ${ec.header.kid}, which signs the entity configuration`,
          shortUrl(url),
        );
        lines.push(`${describe(st.response)} (kid ${st.header.kid}; vouches for ${kids.join(', ')})`);
      }
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'federation/trust-chain',
    clause: 'OpenID Federation 1.0 §4, §6, §10',
    title:
      'A trust chain from the entity to the anchor (--trust-anchor, or the end of authority_hints) resolves and validates: signatures, constraints and metadata policy.',
    async run(ctx) {
      const { chain: c, anchor, allowHttp } = await chain(ctx);
      expect(c.trustAnchor === anchor.entityId, 'the chain ends at another anchor', c.trustAnchor);
      const kinds = c.statements.map((jwt) => {
        const { iss, sub } = decodeJwt(jwt);
        return iss === sub ? `EC ${iss}` : `${iss}→${sub}`;
      });
      return {
        evidence: `${c.statements.length} statements: ${kinds.join(' | ')}; expires +${c.expiresAt - now()}s; anchor keys ${anchor.pinned ? 'pinned (--trust-anchor-jwks)' : 'from its entity configuration'}${allowHttp ? '; http Entity Identifiers allowed (loopback)' : ''}`,
        details: { metadata: c.metadata },
      };
    },
  },
  {
    name: 'federation/trust-marks',
    clause: 'OpenID Federation 1.0 §7.3, §8.4',
    title:
      "Every trust mark in the entity configuration validates (an issuer the anchor recognizes for its type, signed by it, about the entity, unexpired), the issuer's status endpoint says active, and refuses to call a tampered mark active.",
    async run(ctx) {
      const ec = await entityConfiguration(ctx);
      const marks = ec.claims.trust_marks;
      if (!Array.isArray(marks) || marks.length === 0) throw new Skip('the entity publishes no trust marks');
      const { anchor, allowHttp } = await chain(ctx);
      const issuerKeys = trustMarkIssuerKeyResolver({
        trustAnchor: { entityId: anchor.entityId, jwks: anchor.jwks },
        fetcher: httpStatementFetcher(),
        allowHttpEntityIds: allowHttp,
      });
      const { valid, rejected } = await verifyEntityTrustMarks(ctx.config.entityId, marks, {
        issuerKeys,
        trustAnchor: trustAnchorTrustMarkConfig(anchor.configuration.claims),
      });
      expect(rejected.length === 0, `trust marks refused: ${rejected.map((e) => e.message).join('; ')}`, `${marks.length} published`);
      const lines: string[] = [];
      for (const entry of marks as { trust_mark_type: string; trust_mark: string }[]) {
        const claims = valid.get(entry.trust_mark_type);
        if (!claims || lines.some((l) => l.startsWith(`${entry.trust_mark_type}:`))) continue;
        const issuer = await fetchStatement(ctx, ecUrl(claims.iss), `the entity configuration of the trust mark issuer ${claims.iss}`);
        const statusEndpoint = issuer.claims.metadata?.federation_entity?.federation_trust_mark_status_endpoint;
        if (typeof statusEndpoint !== 'string') {
          lines.push(`${entry.trust_mark_type}: valid, issued by ${claims.iss} (no status endpoint)`);
          continue;
        }
        const keys = (await issuerKeys(claims.iss))!.keys;
        const ask = async (jwt: string) => {
          const res = await request(statusEndpoint, { form: { trust_mark: jwt }, timeoutMs: ctx.config.timeoutMs });
          if (res.status !== 200) return { res, status: null as string | null };
          const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
          expect(type === 'application/trust-mark-status-response+jwt', `the status response is ${type}`, describe(res));
          const st = {
            jwt: res.text.trim(),
            header: decodeProtectedHeader(res.text.trim()) as Record<string, unknown>,
            claims: decodeJwt(res.text.trim()) as FetchedStatement['claims'],
            response: res,
          };
          expect(
            st.header.typ === 'trust-mark-status-response+jwt',
            `the status response has typ ${JSON.stringify(st.header.typ)}`,
            shortJson(st.header),
          );
          await verifyWith(st, keys, 'the trust mark status response', `the keys of ${claims.iss}`);
          expect(
            st.claims.iss === claims.iss,
            'the status response is not issued by the trust mark issuer',
            shortJson({ iss: st.claims.iss }),
          );
          return { res, status: typeof st.claims.status === 'string' ? st.claims.status : null };
        };
        const real = await ask(entry.trust_mark);
        expect(
          real.status === 'active',
          `the issuer says the ${entry.trust_mark_type} mark is ${real.status ?? `not known (HTTP ${real.res.status})`}`,
          describe(real.res),
        );
        // The same mark about someone else, signature kept: never active.
        const [h, , sig] = entry.trust_mark.split('.');
        const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'https://someone-else.conformance.invalid' })).toString('base64url')}.${sig}`;
        const tampered = await ask(forged);
        expect(tampered.status !== 'active', 'the status endpoint calls a tampered trust mark active', describe(tampered.res));
        lines.push(
          `${entry.trust_mark_type}: valid, issued by ${claims.iss}, status active; tampered: ${tampered.status ?? tampered.res.status}`,
        );
      }
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'federation/historical-keys',
    clause: 'OpenID Federation 1.0 §8.7',
    title:
      'Where the entity publishes a historical keys endpoint (key rotation made visible): a jwk-set+jwt signed with a key of its entity configuration, listing retired public keys, each with kid and exp.',
    async run(ctx) {
      const ec = await entityConfiguration(ctx);
      const endpoint = ec.claims.metadata?.federation_entity?.federation_historical_keys_endpoint;
      if (typeof endpoint !== 'string')
        throw new Skip('the entity publishes no federation_historical_keys_endpoint (retired keys are not visible)');
      const res = await request(endpoint, { timeoutMs: ctx.config.timeoutMs });
      expect(res.status === 200, `the historical keys endpoint answered ${res.status}`, describe(res));
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
      expect(
        type === 'application/jwk-set+jwt',
        `the historical keys are served as ${type || 'no content type'}, not application/jwk-set+jwt`,
        describe(res),
      );
      const jwt = res.text.trim();
      const st = {
        jwt,
        header: decodeProtectedHeader(jwt) as Record<string, unknown>,
        claims: decodeJwt(jwt) as FetchedStatement['claims'],
        response: res,
      };
      expect(st.header.typ === 'jwk-set+jwt', `typ is ${JSON.stringify(st.header.typ)}, not jwk-set+jwt`, shortJson(st.header));
      await verifyWith(st, ec.claims.jwks!.keys, 'the historical keys', 'the jwks of the entity configuration');
      expect(st.claims.iss === ctx.config.entityId, 'the historical keys are not issued by the entity', shortJson({ iss: st.claims.iss }));
      const keys = (st.claims as { keys?: unknown }).keys;
      expect(Array.isArray(keys), 'no keys array', shortJson(st.claims));
      for (const [i, key] of (keys as Record<string, unknown>[]).entries()) {
        expect(typeof key.kid === 'string' && key.kid.length > 0, `historical key ${i} has no kid`, shortJson(key));
        const priv = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].filter((m) => m in key);
        expect(priv.length === 0, `historical key ${key.kid} publishes private key material (${priv.join(', ')})`);
        expect(typeof key.exp === 'number', `historical key ${key.kid} has no exp (when it stopped being valid)`, shortJson(key));
      }
      return {
        evidence: `${describe(res)}; ${(keys as unknown[]).length} retired keys${(keys as { kid: string; exp: number }[]).map((k) => `, ${k.kid} until ${new Date(k.exp * 1000).toISOString()}`).join('')}`,
      };
    },
  },
  {
    name: 'federation/resolve-matches-library',
    clause: 'OpenID Federation 1.0 §8.3',
    title:
      "The anchor's resolve endpoint returns a resolve-response+jwt signed by the anchor, about the entity, whose metadata equals the metadata the library resolves.",
    async run(ctx) {
      const { chain: c, anchor } = await chain(ctx);
      const endpoint = anchor.configuration.claims.metadata?.federation_entity?.federation_resolve_endpoint;
      if (typeof endpoint !== 'string') throw new Skip(`the trust anchor ${anchor.entityId} offers no federation_resolve_endpoint`);
      const url = new URL(endpoint);
      url.searchParams.set('sub', ctx.config.entityId);
      url.searchParams.set('trust_anchor', anchor.entityId);
      const res = await request(url.toString(), { timeoutMs: ctx.config.timeoutMs });
      expect(res.status === 200, `the resolve endpoint answered ${res.status}`, describe(res));
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
      expect(
        type === 'application/resolve-response+jwt',
        `the resolve response is ${type}, not application/resolve-response+jwt`,
        describe(res),
      );
      const jwt = res.text.trim();
      const header = decodeProtectedHeader(jwt);
      expect(header.typ === RESOLVE_RESPONSE_TYP, `the resolve response has typ ${JSON.stringify(header.typ)}`, shortJson(header));
      const st = { jwt, header: header as Record<string, unknown>, claims: decodeJwt(jwt) as FetchedStatement['claims'], response: res };
      await verifyWith(st, anchor.jwks.keys, 'the resolve response', "the anchor's jwks");
      expect(
        st.claims.iss === anchor.entityId && st.claims.sub === ctx.config.entityId,
        'the resolve response has the wrong iss/sub',
        shortJson({ iss: st.claims.iss, sub: st.claims.sub }),
      );
      expect(typeof st.claims.exp === 'number' && st.claims.exp > now(), 'the resolve response is expired', String(st.claims.exp));
      expect(
        isDeepStrictEqual(st.claims.metadata, c.metadata),
        'the resolved metadata differs from what the trust-chain library computes',
        `endpoint ${shortJson(st.claims.metadata)} vs library ${shortJson(c.metadata)}`,
      );
      return { evidence: `${describe(res)}; metadata (${Object.keys(c.metadata).join(', ')}) equal to the library's` };
    },
  },
  {
    name: 'federation/resolve-refuses-unknown',
    clause: 'OpenID Federation 1.0 §8.3.2, §8.9',
    title:
      "The anchor's resolve endpoint refuses a subject that is in no federation, and a trust anchor it does not know, with a 4xx JSON error.",
    async run(ctx) {
      const anchor = await trustAnchor(ctx);
      const endpoint = anchor.configuration.claims.metadata?.federation_entity?.federation_resolve_endpoint;
      if (typeof endpoint !== 'string') throw new Skip(`the trust anchor ${anchor.entityId} offers no federation_resolve_endpoint`);
      const lines: string[] = [];
      for (const [label, sub, ta] of [
        [
          'unknown subject',
          `https://unknown-${randomToken(6)
            .toLowerCase()
            .replace(/[^a-z0-9]/g, 'x')}.conformance.invalid`,
          anchor.entityId,
        ],
        [
          'unknown trust anchor',
          ctx.config.entityId,
          `https://anchor-${randomToken(6)
            .toLowerCase()
            .replace(/[^a-z0-9]/g, 'x')}.conformance.invalid`,
        ],
      ] as const) {
        const url = new URL(endpoint);
        url.searchParams.set('sub', sub);
        url.searchParams.set('trust_anchor', ta);
        const res = await request(url.toString(), { timeoutMs: ctx.config.timeoutMs });
        expect(res.status !== 200, `${label}: the resolve endpoint answered 200`, describe(res));
        expect(res.status >= 400 && res.status < 500, `${label}: ${res.status} instead of a 4xx error`, describe(res));
        expect(
          typeof (res.json as { error?: unknown } | undefined)?.error === 'string',
          `${label}: the error is not a JSON error response`,
          describe(res),
        );
        lines.push(`${label}: ${describe(res)}`);
      }
      return { evidence: lines.join('; ') };
    },
  },
  {
    name: 'federation/bad-signature-refused',
    clause: 'OpenID Federation 1.0 §3.2, §4.2',
    title:
      "The entity's real chain validates, and the same chain with a statement's signature corrupted, re-signed by an unknown key, unsigned, or with its claims altered is refused by the trust-chain library.",
    async run(ctx) {
      const { chain: c, anchor, allowHttp } = await chain(ctx);
      const opts = { trustAnchors: [{ entityId: anchor.entityId, jwks: anchor.jwks }], allowHttpEntityIds: allowHttp };
      await validateTrustChain(c.statements, opts).catch((err: Error) => {
        throw new Fail(`the resolved chain does not validate as given (baseline): ${err.message}`);
      });
      const [leaf, ...rest] = c.statements;
      const header = decodeProtectedHeader(leaf!);
      const claims = decodeJwt(leaf!);
      const { privateKey } = await generateKeyPair('ES256');
      // Each case with the checks that count as "refused for its signature".
      const signature = ['signature'];
      const cases: [string, string[], string[]][] = [
        ['corrupted signature', [flipSignature(leaf!), ...rest], signature],
        [
          'signed by an unknown key with the same kid',
          [await new SignJWT(claims).setProtectedHeader({ ...header, alg: 'ES256' }).sign(privateKey), ...rest],
          signature,
        ],
        [
          'unsigned (alg none)',
          [`${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${leaf!.split('.')[1]}.`, ...rest],
          ['alg', 'malformed'],
        ],
        [
          'claims altered, signature kept',
          [
            `${leaf!.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, iat: (claims.iat ?? 0) - 1 })).toString('base64url')}.${leaf!.split('.')[2]}`,
            ...rest,
          ],
          signature,
        ],
      ];
      if (rest.length > 1)
        cases.push(['subordinate statement with a corrupted signature', [leaf!, flipSignature(rest[0]!), ...rest.slice(1)], signature]);
      const lines: string[] = [];
      for (const [label, statements, checks] of cases) {
        try {
          await validateTrustChain(statements, opts);
        } catch (err) {
          if (!(err instanceof TrustChainError)) throw err;
          // Refused for its signature, not for something else that happened to be wrong.
          expect(
            checks.includes(err.check),
            `a chain with a ${label} statement was refused, but not for its signature (${err.check})`,
            err.message,
          );
          lines.push(`${label}: ${err.check}`);
          continue;
        }
        throw new Fail(`a chain with a ${label} statement was accepted`);
      }
      return { evidence: `baseline chain valid; ${lines.join('; ')}` };
    },
  },
];
