/**
 * federation/trust-chain.ts: Trust Chain resolution and validation (OpenID Federation 1.0 §3,
 * §4, §6, §10) over a three-level federation national (anchor) → gd (province, intermediate)
 * → gz (city OP, leaf) whose statements are signed here with ES256 test keys and served by an
 * in-memory StatementFetcher. Each bad input is rejected with the statement and check named.
 */
import test, { type ExecutionContext } from 'ava';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrustChainError, type TrustChainCheck } from '../../federation/federation-errors.ts';
import type { MetadataPolicy } from '../../federation/metadata-policy.ts';
import { TrustedOps } from '../../federation/trusted-op.ts';
import {
  httpStatementFetcher,
  resolveTrustChain,
  TrustChainCache,
  validateTrustChain,
  type ResolveOptions,
  type StatementFetcher,
  type TrustChain,
} from '../../federation/trust-chain.ts';

const NOW = Math.floor(Date.now() / 1000);
const TYP = 'entity-statement+jwt';

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}
async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

interface Entity {
  id: string;
  key: Key;
  jwks: { keys: JWK[] };
  fetchEndpoint: string;
}
async function entity(id: string): Promise<Entity> {
  const key = await newKey(`${new URL(id).hostname}-1`);
  return { id, key, jwks: { keys: [key.jwk] }, fetchEndpoint: `${id}/fetch` };
}

type Claims = Record<string, unknown>;
interface Published {
  claims: Claims;
  signer: Key;
  header?: Record<string, unknown>;
  /** Replaces the signed JWT outright. */
  raw?: string;
}

async function sign(p: Published): Promise<string> {
  if (p.raw !== undefined) return p.raw;
  return new SignJWT(p.claims).setProtectedHeader({ alg: 'ES256', kid: p.signer.kid, typ: TYP, ...p.header }).sign(p.signer.privateKey);
}

const NATIONAL = 'https://national.gov.cn';
const GD = 'https://gd.gov.cn';
const GZ = 'https://gz.gd.gov.cn';

const TA_POLICY: MetadataPolicy = {
  openid_provider: {
    id_token_signing_alg_values_supported: { subset_of: ['ES256', 'RS256', 'PS256'], superset_of: ['ES256'] },
    token_endpoint_auth_methods_supported: { subset_of: ['private_key_jwt', 'client_secret_basic'] },
    subject_types_supported: { value: ['pairwise'] },
    contacts: { add: ['ops@national.gov.cn'] },
  },
};
const GD_POLICY: MetadataPolicy = {
  openid_provider: {
    token_endpoint_auth_methods_supported: { subset_of: ['private_key_jwt'], essential: true },
    contacts: { add: ['ops@gd.gov.cn'] },
  },
};

/** A federation whose statements a test may change before publishing. */
async function federation() {
  const [national, gd, gz] = await Promise.all([entity(NATIONAL), entity(GD), entity(GZ)]);
  const times = { iat: NOW - 60, exp: NOW + 3600 };
  const statements: Record<'nationalEC' | 'gdEC' | 'gzEC' | 'nationalAboutGd' | 'gdAboutGz', Published> = {
    nationalEC: {
      signer: national.key,
      claims: {
        iss: NATIONAL,
        sub: NATIONAL,
        ...times,
        jwks: national.jwks,
        metadata: { federation_entity: { federation_fetch_endpoint: national.fetchEndpoint, organization_name: '国家政务服务平台' } },
      },
    },
    gdEC: {
      signer: gd.key,
      claims: {
        iss: GD,
        sub: GD,
        ...times,
        jwks: gd.jwks,
        authority_hints: [NATIONAL],
        metadata: { federation_entity: { federation_fetch_endpoint: gd.fetchEndpoint } },
      },
    },
    gzEC: {
      signer: gz.key,
      claims: {
        iss: GZ,
        sub: GZ,
        ...times,
        exp: NOW + 1800,
        jwks: gz.jwks,
        authority_hints: [GD],
        metadata: {
          openid_provider: {
            issuer: GZ,
            authorization_endpoint: `${GZ}/auth`,
            organization_name: 'gz',
            contacts: ['ops@gz.gd.gov.cn'],
            id_token_signing_alg_values_supported: ['ES256', 'RS256', 'HS256'],
            token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
            subject_types_supported: ['public', 'pairwise'],
          },
          federation_entity: { organization_name: '广州市' },
        },
      },
    },
    nationalAboutGd: {
      signer: national.key,
      claims: { iss: NATIONAL, sub: GD, ...times, jwks: gd.jwks, metadata_policy: structuredClone(TA_POLICY) },
    },
    gdAboutGz: {
      signer: gd.key,
      claims: {
        iss: GD,
        sub: GZ,
        ...times,
        jwks: gz.jwks,
        metadata_policy: structuredClone(GD_POLICY),
        metadata: {
          openid_provider: { organization_name: '广州市政务服务数据管理局' },
          openid_relying_party: { client_name: 'not an RP' },
        },
      },
    },
  };
  return { national, gd, gz, statements, anchors: [{ entityId: NATIONAL, jwks: national.jwks }] };
}
type Federation = Awaited<ReturnType<typeof federation>>;

interface MemoryFetcher extends StatementFetcher {
  calls: string[];
  ecs: Map<string, string | (() => Promise<string>)>;
  subordinates: Map<string, string | (() => Promise<string>)>;
}

function memoryFetcher(): MemoryFetcher {
  const ecs = new Map<string, string | (() => Promise<string>)>();
  const subordinates = new Map<string, string | (() => Promise<string>)>();
  const calls: string[] = [];
  const answer = async (v: string | (() => Promise<string>) | undefined, what: string) => {
    if (v === undefined) throw new Error(`404 ${what}`);
    return typeof v === 'string' ? v : v();
  };
  return {
    calls,
    ecs,
    subordinates,
    entityConfiguration: (id) => {
      calls.push(`ec ${id}`);
      return answer(ecs.get(id), id);
    },
    subordinateStatement: (endpoint, issuer, subject) => {
      calls.push(`fetch ${issuer} ${subject}`);
      return answer(subordinates.get(`${endpoint} ${subject}`), `${endpoint}?sub=${subject}`);
    },
  };
}

/** Signs every statement and serves them from memory. */
async function publish(fed: Federation, fetcher = memoryFetcher()) {
  const s = fed.statements;
  const jwt = {
    nationalEC: await sign(s.nationalEC),
    gdEC: await sign(s.gdEC),
    gzEC: await sign(s.gzEC),
    nationalAboutGd: await sign(s.nationalAboutGd),
    gdAboutGz: await sign(s.gdAboutGz),
  };
  fetcher.ecs.set(NATIONAL, jwt.nationalEC);
  fetcher.ecs.set(GD, jwt.gdEC);
  fetcher.ecs.set(GZ, jwt.gzEC);
  fetcher.subordinates.set(`${fed.national.fetchEndpoint} ${GD}`, jwt.nationalAboutGd);
  fetcher.subordinates.set(`${fed.gd.fetchEndpoint} ${GZ}`, jwt.gdAboutGz);
  return { jwt, fetcher };
}

function options(fed: Federation, fetcher: StatementFetcher, extra: Partial<ResolveOptions> = {}): ResolveOptions {
  return { trustAnchors: fed.anchors, fetcher, now: () => NOW, ...extra };
}

async function rejects(
  t: ExecutionContext,
  promise: Promise<unknown>,
  check: TrustChainCheck,
  statement?: string,
): Promise<TrustChainError> {
  const err = await t.throwsAsync(promise, { instanceOf: TrustChainError });
  t.is(err?.check, check, err?.message);
  if (statement !== undefined) t.is(err?.statement, statement, err?.message);
  return err!;
}

const EC_GZ = `entity configuration of ${GZ}`;
const EC_GD = `entity configuration of ${GD}`;
const EC_NATIONAL = `entity configuration of ${NATIONAL}`;
const SS_GD_GZ = `subordinate statement ${GD}→${GZ}`;
const SS_NATIONAL_GD = `subordinate statement ${NATIONAL}→${GD}`;

// -------------------------------------------------------------------------------------------
// A valid chain
// -------------------------------------------------------------------------------------------

const EXPECTED_OP_METADATA = {
  issuer: GZ,
  authorization_endpoint: `${GZ}/auth`,
  organization_name: '广州市政务服务数据管理局',
  contacts: ['ops@gz.gd.gov.cn', 'ops@national.gov.cn', 'ops@gd.gov.cn'],
  id_token_signing_alg_values_supported: ['ES256', 'RS256'],
  token_endpoint_auth_methods_supported: ['private_key_jwt'],
  subject_types_supported: ['pairwise'],
};

function assertValidChain(t: ExecutionContext, chain: TrustChain, jwt: Awaited<ReturnType<typeof publish>>['jwt']) {
  t.is(chain.subject, GZ);
  t.is(chain.trustAnchor, NATIONAL);
  t.deepEqual(chain.statements, [jwt.gzEC, jwt.gdAboutGz, jwt.nationalAboutGd, jwt.nationalEC]);
  t.is(chain.expiresAt, NOW + 1800, 'the minimum exp');
  t.deepEqual(chain.metadata, { openid_provider: EXPECTED_OP_METADATA, federation_entity: { organization_name: '广州市' } });
}

test('a three-level chain resolves, with the superior metadata and the merged policy applied', async (t) => {
  const fed = await federation();
  const { jwt, fetcher } = await publish(fed);
  const chain = await resolveTrustChain(GZ, options(fed, fetcher, { entityType: 'openid_provider' }));
  assertValidChain(t, chain, jwt);
  t.false('openid_relying_party' in chain.metadata, 'superior metadata applies only to entity types the subject has');
  t.deepEqual(fetcher.calls, [`ec ${GZ}`, `ec ${GD}`, `fetch ${GD} ${GZ}`, `ec ${NATIONAL}`, `fetch ${NATIONAL} ${GD}`]);
});

test('validateTrustChain accepts the resolved statements, with or without the anchor configuration', async (t) => {
  const fed = await federation();
  const { jwt } = await publish(fed);
  const opts = { trustAnchors: fed.anchors, now: () => NOW };
  assertValidChain(t, await validateTrustChain([jwt.gzEC, jwt.gdAboutGz, jwt.nationalAboutGd, jwt.nationalEC], opts), jwt);
  // §4: the anchor's entity configuration MAY be omitted; the anchor's statement is then verified with the configured keys.
  const short = await validateTrustChain([jwt.gzEC, jwt.gdAboutGz, jwt.nationalAboutGd], opts);
  t.is(short.trustAnchor, NATIONAL);
  t.deepEqual(short.metadata.openid_provider, EXPECTED_OP_METADATA);
});

test('the trust anchor itself resolves to a chain of its own entity configuration', async (t) => {
  const fed = await federation();
  const { jwt, fetcher } = await publish(fed);
  const chain = await resolveTrustChain(NATIONAL, options(fed, fetcher));
  t.deepEqual(chain.statements, [jwt.nationalEC]);
  t.is(chain.trustAnchor, NATIONAL);
  t.is(chain.metadata.federation_entity!.organization_name, '国家政务服务平台');
});

test('every authority hint is tried until one validates (a broken hint first)', async (t) => {
  const fed = await federation();
  fed.statements.gzEC.claims.authority_hints = ['https://gone.gov.cn', GD];
  const { fetcher } = await publish(fed);
  const chain = await resolveTrustChain(GZ, options(fed, fetcher));
  t.is(chain.trustAnchor, NATIONAL);
});

test('trust marks of the subject are passed through after a syntax check', async (t) => {
  const fed = await federation();
  const mark = await new SignJWT({ iss: NATIONAL, sub: GZ, trust_mark_type: 'https://national.gov.cn/marks/level3', iat: NOW })
    .setProtectedHeader({ alg: 'ES256', kid: fed.national.key.kid, typ: 'trust-mark+jwt' })
    .sign(fed.national.key.privateKey);
  fed.statements.gzEC.claims.trust_marks = [{ trust_mark_type: 'https://national.gov.cn/marks/level3', trust_mark: mark }];
  const { fetcher } = await publish(fed);
  t.deepEqual((await resolveTrustChain(GZ, options(fed, fetcher))).trustMarks, [
    { trust_mark_type: 'https://national.gov.cn/marks/level3', trust_mark: mark },
  ]);

  fed.statements.gzEC.claims.trust_marks = [{ trust_mark_type: 'https://national.gov.cn/marks/other', trust_mark: mark }];
  const again = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, again.fetcher)), 'trust_marks', EC_GZ);
});

// -------------------------------------------------------------------------------------------
// Bad statements
// -------------------------------------------------------------------------------------------

test('an expired subordinate statement is rejected (check expired)', async (t) => {
  const fed = await federation();
  fed.statements.gdAboutGz.claims.exp = NOW - 61;
  const { fetcher } = await publish(fed);
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'expired', SS_GD_GZ);
  t.regex(err.message, /^subordinate statement https:\/\/gd\.gov\.cn→https:\/\/gz\.gd\.gov\.cn: expired: /);
});

test('expiry allows at most 60 s of clock skew', async (t) => {
  const fed = await federation();
  fed.statements.nationalEC.claims.exp = NOW - 30;
  const { fetcher } = await publish(fed);
  t.is((await resolveTrustChain(GZ, options(fed, fetcher))).expiresAt, NOW - 30);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher, { clockSkewSeconds: 10 })), 'expired', EC_NATIONAL);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher, { clockSkewSeconds: 3600, now: () => NOW + 61 })), 'expired');
});

test('a statement issued in the future is rejected', async (t) => {
  const fed = await federation();
  fed.statements.gzEC.claims.iat = NOW + 120;
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'not_yet_valid', EC_GZ);
});

test('a bad signature is rejected (check signature)', async (t) => {
  const fed = await federation();
  // Same kid as gd's real key, different key material.
  fed.statements.gdAboutGz.signer = { ...(await newKey(fed.gd.key.kid)) };
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'signature', SS_GD_GZ);
});

test('a tampered payload is rejected (check signature)', async (t) => {
  const fed = await federation();
  const { jwt } = await publish(fed);
  const [h, p, s] = jwt.gdAboutGz.split('.');
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
  delete claims.metadata_policy;
  const tampered = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  await rejects(
    t,
    validateTrustChain([jwt.gzEC, tampered, jwt.nationalAboutGd, jwt.nationalEC], { trustAnchors: fed.anchors, now: () => NOW }),
    'signature',
    SS_GD_GZ,
  );
});

test('a signature verified once is remembered for that statement and key only: a tampered copy or another key with its kid still fails', async (t) => {
  const fed = await federation();
  const { jwt } = await publish(fed);
  const opts = { trustAnchors: fed.anchors, now: () => NOW };
  const chain = [jwt.gzEC, jwt.gdAboutGz, jwt.nationalAboutGd, jwt.nationalEC];
  assertValidChain(t, await validateTrustChain(chain, opts), jwt);
  assertValidChain(t, await validateTrustChain(chain, opts), jwt);
  // The same signature over other claims.
  const [h, p, sig] = jwt.gdAboutGz.split('.');
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
  claims.exp += 1;
  const tampered = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
  await rejects(t, validateTrustChain([jwt.gzEC, tampered, jwt.nationalAboutGd, jwt.nationalEC], opts), 'signature', SS_GD_GZ);
  // The same statements, the anchor configured with other key material under the same kid.
  const impostor = await newKey(fed.national.key.kid);
  await rejects(
    t,
    validateTrustChain(chain, { ...opts, trustAnchors: [{ entityId: NATIONAL, jwks: { keys: [impostor.jwk] } }] }),
    'signature',
    EC_NATIONAL,
  );
  assertValidChain(t, await validateTrustChain(chain, opts), jwt);
});

test('an entity configuration signed with a key its superior did not list is rejected (check key_not_in_superior)', async (t) => {
  const fed = await federation();
  const second = await newKey('gz-2');
  // gz publishes both keys and signs with the second; gd's statement about gz lists only the first.
  fed.statements.gzEC.claims.jwks = { keys: [fed.gz.key.jwk, second.jwk] };
  fed.statements.gzEC.signer = second;
  const { fetcher } = await publish(fed);
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'key_not_in_superior', EC_GZ);
  t.regex(err.message, /gz-2/);
});

test('an intermediate statement signed with a key the anchor did not list is rejected (check key_not_in_superior)', async (t) => {
  const fed = await federation();
  const second = await newKey('gd-2');
  fed.statements.gdEC.claims.jwks = { keys: [fed.gd.key.jwk, second.jwk] };
  fed.statements.gdAboutGz.signer = second;
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'key_not_in_superior', SS_GD_GZ);
});

test('a wrong typ is rejected (check typ)', async (t) => {
  const fed = await federation();
  fed.statements.gzEC.header = { typ: 'JWT' };
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'typ', EC_GZ);

  delete fed.statements.gzEC.header;
  fed.statements.nationalAboutGd.header = { typ: undefined };
  const again = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, again.fetcher)), 'typ', SS_NATIONAL_GD);
});

test('alg none is rejected (check alg)', async (t) => {
  const fed = await federation();
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  fed.statements.gzEC.raw = `${b64({ alg: 'none', kid: 'gz', typ: TYP })}.${b64(fed.statements.gzEC.claims)}.`;
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'malformed');
  fed.statements.gzEC.raw = `${b64({ alg: 'none', kid: 'gz', typ: TYP })}.${b64(fed.statements.gzEC.claims)}.c2ln`;
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'alg', EC_GZ);
});

test('iss/sub mismatches are rejected (check iss_sub)', async (t) => {
  const fed = await federation();
  // gd's fetch endpoint answers with a statement about another entity.
  fed.statements.gdAboutGz.claims.sub = 'https://sz.gd.gov.cn';
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'iss_sub', `subordinate statement ${GD}→https://sz.gd.gov.cn`);

  // A presented chain whose links do not connect.
  const good = await publish(await federation());
  const other = await federation();
  other.statements.nationalAboutGd.claims.sub = 'https://js.gov.cn';
  const wrong = await publish(other);
  await rejects(
    t,
    validateTrustChain([good.jwt.gzEC, good.jwt.gdAboutGz, wrong.jwt.nationalAboutGd, good.jwt.nationalEC], {
      trustAnchors: fed.anchors,
      now: () => NOW,
    }),
    'iss_sub',
    `subordinate statement ${NATIONAL}→https://js.gov.cn`,
  );
});

test('an entity configuration served for another entity is rejected (check iss_sub)', async (t) => {
  const fed = await federation();
  const { jwt, fetcher } = await publish(fed);
  fetcher.ecs.set(GD, jwt.gzEC);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'iss_sub', EC_GD);
});

test("a presented chain whose first superior is not among the subject's authority_hints is rejected", async (t) => {
  const fed = await federation();
  fed.statements.gzEC.claims.authority_hints = ['https://sz.gd.gov.cn'];
  const { jwt } = await publish(fed);
  await rejects(
    t,
    validateTrustChain([jwt.gzEC, jwt.gdAboutGz, jwt.nationalAboutGd, jwt.nationalEC], { trustAnchors: fed.anchors, now: () => NOW }),
    'authority_hints',
    EC_GZ,
  );
});

test('a loop in authority_hints is detected and not followed (check loop)', async (t) => {
  const fed = await federation();
  fed.statements.gdEC.claims.authority_hints = [GZ]; // gd names its own subordinate as superior
  const { fetcher } = await publish(fed);
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'loop', EC_GD);
  t.regex(err.message, /gz\.gd\.gov\.cn/);
  t.is(fetcher.calls.filter((c) => c === `ec ${GZ}`).length, 1, 'no statement is fetched twice');
});

test('a two-entity loop between intermediates is detected (check loop)', async (t) => {
  const fed = await federation();
  const sz = await entity('https://sz.gd.gov.cn');
  fed.statements.gdEC.claims.authority_hints = [sz.id];
  const { fetcher } = await publish(fed);
  fetcher.ecs.set(
    sz.id,
    await sign({
      signer: sz.key,
      claims: {
        iss: sz.id,
        sub: sz.id,
        iat: NOW,
        exp: NOW + 60,
        jwks: sz.jwks,
        authority_hints: [GD],
        metadata: { federation_entity: { federation_fetch_endpoint: sz.fetchEndpoint } },
      },
    }),
  );
  fetcher.subordinates.set(
    `${sz.fetchEndpoint} ${GD}`,
    await sign({ signer: sz.key, claims: { iss: sz.id, sub: GD, iat: NOW, exp: NOW + 60, jwks: fed.gd.jwks } }),
  );
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'loop', `entity configuration of ${sz.id}`);
});

test('a chain longer than maxPathLength is rejected (check max_path_length)', async (t) => {
  const fed = await federation();
  const { jwt, fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher, { maxPathLength: 0 })), 'max_path_length');
  t.truthy(await resolveTrustChain(GZ, options(fed, fetcher, { maxPathLength: 1 })));
  await rejects(
    t,
    validateTrustChain([jwt.gzEC, jwt.gdAboutGz, jwt.nationalAboutGd, jwt.nationalEC], {
      trustAnchors: fed.anchors,
      now: () => NOW,
      maxPathLength: 0,
    }),
    'max_path_length',
  );
});

test('a max_path_length constraint is enforced (check max_path_length)', async (t) => {
  const fed = await federation();
  fed.statements.nationalAboutGd.claims.constraints = { max_path_length: 0 };
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'max_path_length', SS_NATIONAL_GD);

  fed.statements.nationalAboutGd.claims.constraints = { max_path_length: 1 };
  fed.statements.gdAboutGz.claims.constraints = { max_path_length: 0 };
  t.truthy(await resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)));
});

test('a chain to an anchor that is not configured is rejected (check unknown_trust_anchor)', async (t) => {
  const fed = await federation();
  const { jwt, fetcher } = await publish(fed);
  const elsewhere = await entity('https://other-federation.example');
  const anchors = [{ entityId: elsewhere.id, jwks: elsewhere.jwks }];
  await rejects(t, resolveTrustChain(GZ, { ...options(fed, fetcher), trustAnchors: anchors }), 'unknown_trust_anchor', EC_NATIONAL);
  await rejects(
    t,
    validateTrustChain([jwt.gzEC, jwt.gdAboutGz, jwt.nationalAboutGd, jwt.nationalEC], { trustAnchors: anchors, now: () => NOW }),
    'unknown_trust_anchor',
    EC_NATIONAL,
  );
});

test('the anchor configuration must verify with the configured anchor keys, not only its own', async (t) => {
  const fed = await federation();
  const { fetcher } = await publish(fed);
  const impostor = await newKey(fed.national.key.kid);
  await rejects(
    t,
    resolveTrustChain(GZ, { ...options(fed, fetcher), trustAnchors: [{ entityId: NATIONAL, jwks: { keys: [impostor.jwk] } }] }),
    'signature',
    EC_NATIONAL,
  );
});

test('conflicting policies of two superiors are rejected (check policy_conflict)', async (t) => {
  const fed = await federation();
  (fed.statements.nationalAboutGd.claims.metadata_policy as MetadataPolicy).openid_provider!.organization_name = { value: '国家' };
  (fed.statements.gdAboutGz.claims.metadata_policy as MetadataPolicy).openid_provider!.organization_name = { value: '广东' };
  const { fetcher } = await publish(fed);
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'policy_conflict', SS_GD_GZ);
  t.regex(err.message, /organization_name\.value/);
});

test('a subordinate policy that widens a superior one_of to nothing is a conflict', async (t) => {
  const fed = await federation();
  (fed.statements.nationalAboutGd.claims.metadata_policy as MetadataPolicy).openid_provider!.userinfo_signing_alg = { one_of: ['ES256'] };
  (fed.statements.gdAboutGz.claims.metadata_policy as MetadataPolicy).openid_provider!.userinfo_signing_alg = { one_of: ['RS256'] };
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'policy_conflict', SS_GD_GZ);
});

test('an illegal policy is rejected (check policy_illegal)', async (t) => {
  const fed = await federation();
  (fed.statements.gdAboutGz.claims.metadata_policy as MetadataPolicy).openid_provider!.response_types_supported = {
    one_of: ['code'],
    subset_of: ['code'],
  };
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'policy_illegal', SS_GD_GZ);
});

test('an unsupported critical policy operator is rejected (check policy_illegal)', async (t) => {
  const fed = await federation();
  fed.statements.nationalAboutGd.claims.metadata_policy_crit = ['regexp'];
  (fed.statements.nationalAboutGd.claims.metadata_policy as MetadataPolicy).openid_provider!.issuer = { regexp: '^https://' };
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'policy_illegal', SS_NATIONAL_GD);
  // Not critical: ignored.
  delete fed.statements.nationalAboutGd.claims.metadata_policy_crit;
  t.truthy(await resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)));
});

test('metadata that violates the resolved policy is rejected (check policy_violation)', async (t) => {
  const fed = await federation();
  (fed.statements.gzEC.claims.metadata as Record<string, Record<string, unknown>>).openid_provider!.id_token_signing_alg_values_supported =
    ['RS256'];
  const { fetcher } = await publish(fed);
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'policy_violation', EC_GZ);
  t.regex(err.message, /superset_of/);
});

test('an oversize statement is rejected before it is parsed (check too_large)', async (t) => {
  const fed = await federation();
  (fed.statements.gzEC.claims.metadata as Record<string, Record<string, unknown>>).openid_provider!.op_policy_uri =
    `https://gz.gd.gov.cn/${'x'.repeat(70 * 1024)}`;
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'too_large', EC_GZ);

  const small = await publish(await federation());
  await rejects(t, resolveTrustChain(GZ, options(fed, small.fetcher, { maxJwtBytes: 1000 })), 'too_large', EC_GZ);
  await rejects(
    t,
    validateTrustChain([small.jwt.gzEC], { trustAnchors: fed.anchors, now: () => NOW, maxJwtBytes: 100 }),
    'too_large',
    'statement 0 of the trust chain',
  );
});

test('a fetcher that never answers times out quickly (check fetch_timeout) and is aborted', async (t) => {
  const fed = await federation();
  const { fetcher } = await publish(fed);
  let signal: AbortSignal | undefined;
  const hanging: StatementFetcher = {
    entityConfiguration: (_id, s) => {
      signal = s;
      return new Promise<string>(() => {});
    },
    subordinateStatement: fetcher.subordinateStatement,
  };
  const started = Date.now();
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, hanging, { timeoutMs: 50 })), 'fetch_timeout', EC_GZ);
  t.true(Date.now() - started < 1000, 'rejects promptly');
  t.is(err.url, `${GZ}/.well-known/openid-federation`);
  t.true(signal?.aborted, 'the fetcher was told to give up');
});

test('a superior whose fetch endpoint never answers times out (check fetch_timeout with the URL)', async (t) => {
  const fed = await federation();
  const { fetcher } = await publish(fed);
  fetcher.subordinates.set(`${fed.gd.fetchEndpoint} ${GZ}`, () => new Promise<string>(() => {}));
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, fetcher, { timeoutMs: 50 })), 'fetch_timeout', SS_GD_GZ);
  t.is(err.url, `${GD}/fetch?sub=${encodeURIComponent(GZ)}`);
});

test('fetch errors are passed through (check fetch_failed with the URL)', async (t) => {
  const fed = await federation();
  const { fetcher } = await publish(fed);
  fetcher.ecs.delete(NATIONAL);
  const err = await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'fetch_failed', EC_NATIONAL);
  t.is(err.url, `${NATIONAL}/.well-known/openid-federation`);
  t.regex(String((err.cause as Error).message), /404/);
});

test('a superior without a fetch endpoint is rejected (check no_fetch_endpoint)', async (t) => {
  const fed = await federation();
  fed.statements.gdEC.claims.metadata = { federation_entity: {} };
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher)), 'no_fetch_endpoint', EC_GD);
});

test('naming constraints: permitted and excluded host subtrees (check constraints)', async (t) => {
  const fed = await federation();
  // ".gd.gov.cn" does not match gd.gov.cn itself (RFC 5280 URI rules): permit both.
  fed.statements.nationalAboutGd.claims.constraints = { naming_constraints: { permitted: ['gd.gov.cn', '.gd.gov.cn'] } };
  t.truthy(await resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)));

  fed.statements.nationalAboutGd.claims.constraints = { naming_constraints: { permitted: ['.gd.gov.cn'] } };
  const err1 = await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'constraints', SS_NATIONAL_GD);
  t.regex(err1.message, /https:\/\/gd\.gov\.cn is not within/);

  fed.statements.nationalAboutGd.claims.constraints = {
    naming_constraints: { permitted: ['gd.gov.cn', '.gd.gov.cn'], excluded: ['gz.gd.gov.cn'] },
  };
  const err2 = await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'constraints', SS_NATIONAL_GD);
  t.regex(err2.message, /gz\.gd\.gov\.cn is excluded/);

  fed.statements.nationalAboutGd.claims.constraints = {};
  fed.statements.gdAboutGz.claims.constraints = { naming_constraints: { permitted: ['.js.gov.cn'] } };
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'constraints', SS_GD_GZ);
});

test('malformed constraints are rejected (check constraints)', async (t) => {
  const fed = await federation();
  fed.statements.gdAboutGz.claims.constraints = { max_path_length: -1 };
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'constraints', SS_GD_GZ);
  fed.statements.gdAboutGz.claims.constraints = { allowed_entity_types: ['federation_entity'] };
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'constraints', SS_GD_GZ);
});

test('allowed_entity_types removes other entity types before policies apply (never federation_entity)', async (t) => {
  const fed = await federation();
  fed.statements.nationalAboutGd.claims.constraints = { allowed_entity_types: ['openid_relying_party'] };
  const { fetcher } = await publish(fed);
  const chain = await resolveTrustChain(GZ, options(fed, fetcher));
  t.deepEqual(Object.keys(chain.metadata), ['federation_entity']);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher, { entityType: 'openid_provider' })), 'entity_type', EC_GZ);
});

test('an unknown critical claim is rejected (check crit)', async (t) => {
  const fed = await federation();
  fed.statements.gdAboutGz.claims.jti = 'abc';
  fed.statements.gdAboutGz.claims.crit = ['jti'];
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'crit', SS_GD_GZ);
});

test('claims in the wrong kind of statement are rejected (check claims)', async (t) => {
  const fed = await federation();
  fed.statements.gzEC.claims.metadata_policy = { openid_provider: { a: { essential: true } } };
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'claims', EC_GZ);
  delete fed.statements.gzEC.claims.metadata_policy;
  fed.statements.gdAboutGz.claims.authority_hints = [NATIONAL];
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'claims', SS_GD_GZ);
});

test('missing required claims and bad key sets are rejected', async (t) => {
  const fed = await federation();
  delete fed.statements.gdAboutGz.claims.exp;
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'claims', SS_GD_GZ);
  fed.statements.gdAboutGz.claims.exp = NOW + 60;
  delete fed.statements.gdAboutGz.claims.jwks;
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'claims', SS_GD_GZ);
  fed.statements.gdAboutGz.claims.jwks = { keys: [fed.gz.key.jwk, fed.gz.key.jwk] };
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'jwks', SS_GD_GZ);
});

test('null metadata values are rejected (check metadata)', async (t) => {
  const fed = await federation();
  (fed.statements.gzEC.claims.metadata as Record<string, Record<string, unknown>>).openid_provider!.logo_uri = null;
  await rejects(t, resolveTrustChain(GZ, options(fed, (await publish(fed)).fetcher)), 'metadata', EC_GZ);
});

test('duplicate JSON member names are rejected (check malformed)', async (t) => {
  const fed = await federation();
  const { jwt } = await publish(fed);
  const [h, p] = jwt.gzEC.split('.');
  const text = Buffer.from(p!, 'base64url').toString().replace('{', '{"iss":"https://evil.example",');
  const dup = `${h}.${Buffer.from(text).toString('base64url')}.c2ln`;
  await rejects(
    t,
    validateTrustChain([dup, jwt.gdAboutGz, jwt.nationalAboutGd, jwt.nationalEC], { trustAnchors: fed.anchors, now: () => NOW }),
    'malformed',
  );
});

test('Entity Identifiers must be https URLs unless the deployment allows http', async (t) => {
  const fed = await federation();
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain('http://gz.gd.gov.cn', options(fed, fetcher)), 'entity_id');
  await rejects(t, resolveTrustChain(`${GZ}?x=1`, options(fed, fetcher)), 'entity_id');
});

test('the number of fetches per resolution is bounded (check fetch_budget)', async (t) => {
  const fed = await federation();
  const { fetcher } = await publish(fed);
  await rejects(t, resolveTrustChain(GZ, options(fed, fetcher, { maxFetches: 3 })), 'fetch_budget');
});

// -------------------------------------------------------------------------------------------
// Over HTTP on loopback (the demo federation profile: http Entity Identifiers allowed)
// -------------------------------------------------------------------------------------------

test('httpStatementFetcher resolves a chain from configuration and fetch endpoints', async (t) => {
  const routes = new Map<string, { type: string; body: string }>();
  const server = createServer((req, res) => {
    const route = routes.get(`${req.headers.host}${req.url}`);
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    res.writeHead(200, { 'content-type': route.type }).end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const [ta, leaf] = [`${base}/national`, `${base}/gz`];
  const [taKey, leafKey] = await Promise.all([newKey('ta'), newKey('leaf')]);
  const times = { iat: NOW, exp: NOW + 600 };
  const ecTa = await sign({
    signer: taKey,
    claims: {
      iss: ta,
      sub: ta,
      ...times,
      jwks: { keys: [taKey.jwk] },
      metadata: { federation_entity: { federation_fetch_endpoint: `${ta}/fetch` } },
    },
  });
  const ecLeaf = await sign({
    signer: leafKey,
    claims: {
      iss: leaf,
      sub: leaf,
      ...times,
      jwks: { keys: [leafKey.jwk] },
      authority_hints: [ta],
      metadata: { openid_provider: { issuer: leaf } },
    },
  });
  const ss = await sign({ signer: taKey, claims: { iss: ta, sub: leaf, ...times, jwks: { keys: [leafKey.jwk] } } });
  const type = 'application/entity-statement+jwt';
  const host = `127.0.0.1:${port}`;
  routes.set(`${host}/national/.well-known/openid-federation`, { type, body: ecTa });
  routes.set(`${host}/gz/.well-known/openid-federation`, { type, body: ecLeaf });
  routes.set(`${host}/national/fetch?sub=${encodeURIComponent(leaf)}`, { type, body: ss });

  const opts = {
    trustAnchors: [{ entityId: ta, jwks: { keys: [taKey.jwk] } }],
    fetcher: httpStatementFetcher(),
    now: () => NOW,
    allowHttpEntityIds: true,
  };
  const chain = await resolveTrustChain(leaf, opts);
  t.deepEqual(chain.statements, [ecLeaf, ss, ecTa]);
  t.deepEqual(chain.metadata, { openid_provider: { issuer: leaf } });

  routes.set(`${host}/gz/.well-known/openid-federation`, { type: 'application/jwt', body: ecLeaf });
  const err = await rejects(t, resolveTrustChain(leaf, opts), 'fetch_failed', `entity configuration of ${leaf}`);
  t.regex(err.message, /content type/);
  routes.delete(`${host}/gz/.well-known/openid-federation`);
  t.regex((await rejects(t, resolveTrustChain(leaf, opts), 'fetch_failed')).message, /HTTP 404/);
});

// -------------------------------------------------------------------------------------------
// TrustChainCache
// -------------------------------------------------------------------------------------------

const chainFor = (subject: string, expiresAt: number): TrustChain => ({
  subject,
  trustAnchor: NATIONAL,
  statements: [],
  expiresAt,
  metadata: {},
});

test('cache: hit, then miss once the chain has expired', (t) => {
  const cache = new TrustChainCache({ maxEntries: 10 });
  const chain = chainFor(GZ, NOW + 100);
  cache.set(GZ, chain);
  t.is(cache.get(GZ, NOW), chain);
  t.is(cache.get(GZ, NOW + 99), chain);
  t.is(cache.get(GZ, NOW + 100), undefined, 'expired at expiresAt');
  t.is(cache.size, 0, 'the expired entry is dropped');
  t.is(cache.get('https://unknown.example', NOW), undefined);
});

test('cache: evicts the least recently used entry beyond maxEntries', (t) => {
  const cache = new TrustChainCache({ maxEntries: 2 });
  cache.set('a', chainFor('a', NOW + 100));
  cache.set('b', chainFor('b', NOW + 100));
  t.truthy(cache.get('a', NOW)); // a is now more recent than b
  cache.set('c', chainFor('c', NOW + 100));
  t.is(cache.size, 2);
  t.truthy(cache.get('a', NOW));
  t.is(cache.get('b', NOW), undefined, 'b was least recently used');
  t.truthy(cache.get('c', NOW));
  cache.set('a', chainFor('a2', NOW + 100)); // replacing refreshes recency
  cache.set('d', chainFor('d', NOW + 100));
  t.is(cache.get('c', NOW), undefined);
  t.is(cache.get('a', NOW)?.subject, 'a2');
  t.throws(() => new TrustChainCache({ maxEntries: 0 }), { instanceOf: RangeError });
});

test('cache: lookups take well under a millisecond', (t) => {
  const cache = new TrustChainCache({ maxEntries: 10_000 });
  for (let i = 0; i < 10_000; i++) cache.set(`https://rp${i}.gd.gov.cn`, chainFor(`rp${i}`, NOW + 3600));
  const lookups = 200_000;
  const started = process.hrtime.bigint();
  let hits = 0;
  for (let i = 0; i < lookups; i++) if (cache.get(`https://rp${i % 10_000}.gd.gov.cn`, NOW)) hits++;
  const perLookupMs = Number(process.hrtime.bigint() - started) / 1e6 / lookups;
  t.is(hits, lookups);
  t.true(perLookupMs < 0.01, `${perLookupMs} ms per lookup`);
});

test('trusted OPs: concurrent first questions about one OP resolve its chain once', async (t) => {
  const fed = await federation();
  const { fetcher } = await publish(fed);
  const ops = new TrustedOps({ trustAnchors: fed.anchors, allowHttpEntityIds: false, fetcher });
  const paths = await Promise.all(Array.from({ length: 8 }, () => ops.pathOf(GZ)));
  for (const path of paths) t.deepEqual(path, [GZ, GD, NATIONAL]);
  t.is(fetcher.calls.filter((c) => c === `ec ${GZ}`).length, 1, fetcher.calls.join('\n'));
  // A failed resolution is shared too, and not remembered: the next question asks again.
  const ghost = 'https://ghost.gd.gov.cn';
  t.deepEqual(await Promise.all([ops.pathOf(ghost), ops.pathOf(ghost)]), [null, null]);
  t.is(fetcher.calls.filter((c) => c === `ec ${ghost}`).length, 1);
  await ops.pathOf(ghost);
  t.is(fetcher.calls.filter((c) => c === `ec ${ghost}`).length, 2);
});
