/**
 * Trust Marks over HTTP: a national trust anchor that is also the Trust Mark Issuer (its entity
 * configuration carries trust_mark_issuers and the three Trust Mark endpoints; it serves them from
 * its live trust-marks.json, plus its fetch endpoint), and the gd province holding its real-name-op
 * mark through a TrustMarkHolder and publishing it in its entity configuration. Each on a free
 * loopback port; keys are ES256 test keys.
 *
 * The entity configurations are signed here (signEntityConfiguration does not yet take
 * trust_marks / trust_mark_issuers), with exactly the claims the wiring adds.
 */
import test from 'ava';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import Koa from 'koa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, type Listener } from '../../infra/http-server.ts';
import { publicJwk, type PrivateJwk } from '../../infra/entity-keys.ts';
import { createLogger } from '../../infra/log.ts';
import { ENTITY_CONFIGURATION_PATH, ENTITY_STATEMENT_TYP } from '../../federation/entity-configuration.ts';
import { parseTopology, type Topology } from '../../federation/topology.ts';
import { httpStatementFetcher, resolveTrustChain, validateTrustChain } from '../../federation/trust-chain.ts';
import { watchAuthorityConfig } from '../../federation/authority-config.ts';
import { authorityEndpoints, federationEntityEndpoints, isFederationEndpointPath } from '../../federation/authority-endpoints.ts';
import {
  GOVERNMENT_PORTAL,
  issueTrustMark,
  REAL_NAME_OP,
  requireTrustMark,
  TRUST_MARK_STATUS_RESPONSE_TYP,
  trustAnchorTrustMarkConfig,
  trustMarkIssuerKeyResolver,
  verifyEntityTrustMarks,
  type TrustMarkEntry,
} from '../../federation/trust-marks.ts';
import {
  isTrustMarkEndpointPath,
  TrustMarkIssuer,
  trustMarkConfigPath,
  trustMarkIssuerMetadata,
  trustMarkIssuersClaim,
  watchTrustMarkConfig,
  type TrustMarkIssuerConfig,
} from '../../federation/trust-mark-issuer.ts';
import { TrustMarkHolder } from '../../federation/trust-mark-holder.ts';
import { freePort } from '../helpers/test-federation.ts';

async function newKey(kid: string): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

/** An entity configuration with the claims the wiring adds (trust_marks, trust_mark_issuers). */
async function signEntityConfiguration(input: {
  entityId: string;
  key: PrivateJwk;
  metadata: Record<string, Record<string, unknown>>;
  authorityHints: string[];
  trustMarks?: TrustMarkEntry[];
  trustMarkIssuers?: Record<string, string[]>;
}): Promise<string> {
  return new SignJWT({
    jwks: { keys: [publicJwk(input.key)] },
    metadata: input.metadata,
    ...(input.authorityHints.length ? { authority_hints: input.authorityHints } : {}),
    ...(input.trustMarks?.length ? { trust_marks: input.trustMarks } : {}),
    ...(input.trustMarkIssuers ? { trust_mark_issuers: input.trustMarkIssuers } : {}),
  })
    .setProtectedHeader({ alg: input.key.alg, kid: input.key.kid, typ: ENTITY_STATEMENT_TYP })
    .setIssuer(input.entityId)
    .setSubject(input.entityId)
    .setIssuedAt()
    .setExpirationTime('1d')
    .sign(await importJWK(input.key, input.key.alg));
}

let topology: Topology;
let dataDir: string;
let N: string, GD: string;
const keys: Record<string, PrivateJwk> = {};
const listeners: Listener[] = [];
const log = createLogger({}, 'error');
let gdHolder: TrustMarkHolder;
let issuer: TrustMarkIssuer;

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gov-id-trust-mark-endpoints-'));
  const name = { 'zh-CN': '测试', en: 'test' };
  topology = parseTopology({
    name: 'trust-marks',
    host: '127.0.0.1',
    national: { name, port: await freePort() },
    services: { code: 'registries', name, port: await freePort() },
    provinces: [{ code: 'gd', mode: 'separate', name, port: await freePort(), cities: [{ code: 'gz', name, port: await freePort() }] }],
  });
  [N, GD] = ['national', 'gd'].map((id) => topology.get(id).url) as [string, string];
  for (const id of ['national', 'gd']) keys[id] = await newKey(`${id}-key-1`);

  // national: trust anchor, federation authority, Trust Mark Issuer (and an OP holding its own mark).
  issuer = new TrustMarkIssuer({
    entityId: N,
    keys: () => [keys.national!],
    config: watchTrustMarkConfig(dataDir, topology, { log, checkIntervalMs: 0 }),
    log,
  });
  const nationalHolder = new TrustMarkHolder({
    entityId: N,
    issuer: N,
    issuerKeys: issuer.jwks(),
    obtain: (type, sub) => issuer.issue(type, sub),
    log,
  });
  await nationalHolder.refresh();
  const national = new Koa();
  national.use(issuer.middleware());
  national.use(
    authorityEndpoints({
      entityId: N,
      keys: () => [keys.national!],
      config: watchAuthorityConfig(dataDir, topology, 'national', { log, checkIntervalMs: 0 }),
      trustAnchors: [{ entityId: N, jwks: { keys: [publicJwk(keys.national!)] } }],
      allowHttpEntityIds: true,
      log,
    }),
  );
  national.use(async (ctx, next) => {
    if (ctx.path !== ENTITY_CONFIGURATION_PATH) return next();
    ctx.type = 'application/entity-statement+jwt';
    ctx.body = await signEntityConfiguration({
      entityId: N,
      key: keys.national!,
      metadata: {
        openid_provider: { issuer: N },
        federation_entity: { organization_name: 'national', ...federationEntityEndpoints(N), ...trustMarkIssuerMetadata(N) },
      },
      authorityHints: [],
      trustMarks: nationalHolder.trustMarks(),
      trustMarkIssuers: trustMarkIssuersClaim(N),
    });
  });
  listeners.push(await listen(national.callback(), topology.get('national').port, '127.0.0.1'));

  // gd: holds its marks from national over HTTP (endpoint and keys discovered from national's entity configuration).
  gdHolder = new TrustMarkHolder({ entityId: GD, issuer: N, log });
  const gd = new Koa();
  gd.use(async (ctx, next) => {
    if (ctx.path !== ENTITY_CONFIGURATION_PATH) return next();
    ctx.type = 'application/entity-statement+jwt';
    ctx.body = await signEntityConfiguration({
      entityId: GD,
      key: keys.gd!,
      metadata: {
        openid_provider: { issuer: GD, id_token_signing_alg_values_supported: ['ES256'] },
        federation_entity: { organization_name: 'gd', ...federationEntityEndpoints(GD) },
      },
      authorityHints: [N],
      trustMarks: gdHolder.trustMarks(),
    });
  });
  listeners.push(await listen(gd.callback(), topology.get('gd').port, '127.0.0.1'));
});

test.after.always(async () => {
  gdHolder?.stop();
  await Promise.all(listeners.map((l) => l.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

const get = (url: string) => fetch(url, { redirect: 'error' });
const status = (trustMark: string) =>
  fetch(`${N}/federation/trust-mark/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ trust_mark: trustMark }),
  });
const markUrl = (type: string, sub: string) => `${N}/federation/trust-mark?${new URLSearchParams({ trust_mark_type: type, sub })}`;

async function jsonError(t: import('ava').ExecutionContext, res: Response, httpStatus: number, code: string): Promise<string> {
  t.is(res.status, httpStatus);
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as { error: string; error_description: string };
  t.is(body.error, code, body.error_description);
  return body.error_description;
}

async function statusOf(t: import('ava').ExecutionContext, trustMark: string): Promise<string> {
  const res = await status(trustMark);
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/trust-mark-status-response+jwt');
  const jwt = await res.text();
  const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet({ keys: [publicJwk(keys.national!)] }), {
    issuer: N,
    typ: TRUST_MARK_STATUS_RESPONSE_TYP,
  });
  t.is(protectedHeader.kid, 'national-key-1');
  t.is(payload.trust_mark, trustMark);
  t.is(typeof payload.iat, 'number');
  return payload.status as string;
}

test.serial("national's entity configuration names itself as the issuer of both types and publishes the three endpoints", async (t) => {
  const claims = decodeJwt(await (await get(N + ENTITY_CONFIGURATION_PATH)).text());
  t.deepEqual(claims.trust_mark_issuers, { [REAL_NAME_OP]: [N], [GOVERNMENT_PORTAL]: [N] });
  const fe = (claims.metadata as Record<string, Record<string, unknown>>).federation_entity!;
  t.is(fe.federation_trust_mark_endpoint, `${N}/federation/trust-mark`);
  t.is(fe.federation_trust_mark_status_endpoint, `${N}/federation/trust-mark/status`);
  t.is(fe.federation_trust_mark_list_endpoint, `${N}/federation/trust-mark/list`);
  // national, an OP, holds its own real-name-op mark (obtained without HTTP).
  t.deepEqual(
    (claims.trust_marks as TrustMarkEntry[]).map((m) => m.trust_mark_type),
    [REAL_NAME_OP],
  );
  t.true(isTrustMarkEndpointPath('/federation/trust-mark/status'));
  t.true(isTrustMarkEndpointPath('/federation/trust-mark?sub=x'));
  t.false(isTrustMarkEndpointPath('/federation/trust-marks'));
  t.false(isFederationEndpointPath('/federation/trust-mark')); // the host must route these paths too
});

test.serial('the trust mark endpoint gives gd its real-name-op mark (loa3), and 404 for marks it does not have', async (t) => {
  const res = await get(markUrl(REAL_NAME_OP, GD));
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/trust-mark+jwt');
  const jwt = await res.text();
  t.deepEqual(decodeProtectedHeader(jwt), { alg: 'ES256', kid: 'national-key-1', typ: 'trust-mark+jwt' });
  const claims = decodeJwt(jwt);
  t.like(claims, { iss: N, sub: GD, trust_mark_type: REAL_NAME_OP, max_loa: 'loa3' });
  t.is(claims.exp! - claims.iat!, 24 * 3600);
  t.is(decodeJwt(await (await get(markUrl(REAL_NAME_OP, topology.get('gz').url))).text()).max_loa, 'loa2');

  t.regex(await jsonError(t, await get(markUrl(GOVERNMENT_PORTAL, GD)), 404, 'not_found'), /does not have the trust mark/);
  t.regex(await jsonError(t, await get(markUrl('https://other.example/x', GD)), 404, 'not_found'), /does not issue trust marks of type/);
  t.regex(
    await jsonError(t, await get(`${N}/federation/trust-mark?trust_mark_type=${encodeURIComponent(REAL_NAME_OP)}`), 400, 'invalid_request'),
    /required parameter sub/,
  );
  t.regex(
    await jsonError(t, await get(`${markUrl(REAL_NAME_OP, GD)}&sub=${encodeURIComponent(GD)}`), 400, 'invalid_request'),
    /given once/,
  );
  t.is((await fetch(markUrl(REAL_NAME_OP, GD), { method: 'POST' })).status, 405);
});

test.serial('the list endpoint names the entities holding an active mark of a type', async (t) => {
  const all = (await (await get(`${N}/federation/trust-mark/list?trust_mark_type=${encodeURIComponent(REAL_NAME_OP)}`)).json()) as string[];
  t.deepEqual(
    all.sort(),
    topology
      .ops()
      .map((e) => e.url)
      .sort(),
  );
  t.deepEqual(
    await (
      await get(`${N}/federation/trust-mark/list?trust_mark_type=${encodeURIComponent(REAL_NAME_OP)}&sub=${encodeURIComponent(GD)}`)
    ).json(),
    [GD],
  );
  t.deepEqual(await (await get(`${N}/federation/trust-mark/list?trust_mark_type=${encodeURIComponent(GOVERNMENT_PORTAL)}`)).json(), []);
  await jsonError(t, await get(`${N}/federation/trust-mark/list`), 400, 'invalid_request');
});

test.serial(
  "gd's holder fetches its mark; gd's entity configuration carries it, and the trust chain passes it through verified",
  async (t) => {
    t.deepEqual(gdHolder.trustMarks(), []);
    const round = await gdHolder.refresh();
    t.true(round.ok, round.errors.join('; '));
    t.deepEqual(round.changed, [REAL_NAME_OP]);
    t.deepEqual(
      gdHolder.trustMarks().map((m) => m.trust_mark_type),
      [REAL_NAME_OP],
    );
    // A second round keeps the mark it holds (nothing changed): the entity configuration stays stable.
    const held = gdHolder.trustMarks()[0]!.trust_mark;
    t.deepEqual((await gdHolder.refresh()).changed, []);
    t.is(gdHolder.trustMarks()[0]!.trust_mark, held);

    const anchor = { entityId: N, jwks: { keys: [publicJwk(keys.national!)] } };
    const fetcher = httpStatementFetcher();
    const chain = await resolveTrustChain(GD, { trustAnchors: [anchor], fetcher, allowHttpEntityIds: true });
    t.deepEqual(chain.trustMarks, [{ trust_mark_type: REAL_NAME_OP, trust_mark: held }]);
    t.deepEqual(
      (await validateTrustChain(chain.statements, { trustAnchors: [anchor], allowHttpEntityIds: true })).trustMarks,
      chain.trustMarks,
    );

    // A verifier checks the marks against the anchor's trust_mark_issuers, with the issuer's keys.
    const trustAnchor = trustAnchorTrustMarkConfig(decodeJwt(chain.statements.at(-1)!));
    const issuerKeys = trustMarkIssuerKeyResolver({ trustAnchor: anchor, fetcher, allowHttpEntityIds: true });
    const { valid, rejected } = await verifyEntityTrustMarks(chain.subject, chain.trustMarks, { trustAnchor, issuerKeys });
    t.deepEqual(rejected, []);
    t.is(valid.get(REAL_NAME_OP)!.max_loa, 'loa3');
    t.is((await requireTrustMark(chain.subject, chain.trustMarks, REAL_NAME_OP, { trustAnchor, issuerKeys, minLoa: 'loa3' })).iss, N);
  },
);

test.serial('status: active, then revoked by an edit of trust-marks.json without a restart; the holder drops the mark', async (t) => {
  const mark = await (await get(markUrl(REAL_NAME_OP, GD))).text();
  t.is(await statusOf(t, mark), 'active');

  const file = trustMarkConfigPath(dataDir);
  const config = JSON.parse(readFileSync(file, 'utf8')) as TrustMarkIssuerConfig;
  config.marks = config.marks.map((m) => (m.sub === GD ? { ...m, revoked: true } : m));
  writeFileSync(file, JSON.stringify(config, null, 2));

  t.is(await statusOf(t, mark), 'revoked');
  await jsonError(t, await get(markUrl(REAL_NAME_OP, GD)), 404, 'not_found');
  t.false(
    (
      (await (await get(`${N}/federation/trust-mark/list?trust_mark_type=${encodeURIComponent(REAL_NAME_OP)}`)).json()) as string[]
    ).includes(GD),
  );
  t.deepEqual((await gdHolder.refresh()).changed, [REAL_NAME_OP]);
  t.deepEqual(gdHolder.trustMarks(), []);
  t.false('trust_marks' in decodeJwt(await (await get(GD + ENTITY_CONFIGURATION_PATH)).text()));

  // Granted again (the admin lowers the level): the old mark is superseded, a new one is served.
  config.marks = config.marks.map((m) => (m.sub === GD ? { trust_mark_type: REAL_NAME_OP, sub: GD, max_loa: 'loa2' } : m));
  writeFileSync(file, JSON.stringify(config, null, 2));
  t.is(await statusOf(t, mark), 'revoked');
  const lowered = await (await get(markUrl(REAL_NAME_OP, GD))).text();
  t.is(decodeJwt(lowered).max_loa, 'loa2');
  t.is(await statusOf(t, lowered), 'active');
  await gdHolder.refresh();
  t.is(decodeJwt(gdHolder.trustMarks()[0]!.trust_mark).max_loa, 'loa2');
});

test.serial('status: expired and invalid marks, marks of another issuer (404), and bad requests', async (t) => {
  const expired = await issueTrustMark({
    issuer: N,
    subject: topology.get('gz').url,
    trustMarkType: REAL_NAME_OP,
    keys: [keys.national!],
    maxLoa: 'loa2',
    now: Math.floor(Date.now() / 1000) - 2 * 86400,
  });
  t.is(await statusOf(t, expired), 'expired');
  const forged = await issueTrustMark({
    issuer: N,
    subject: topology.get('gz').url,
    trustMarkType: REAL_NAME_OP,
    keys: [await newKey('national-key-1')],
    maxLoa: 'loa3',
  });
  t.is(await statusOf(t, forged), 'invalid');
  const foreign = await issueTrustMark({
    issuer: GD,
    subject: topology.get('gz').url,
    trustMarkType: REAL_NAME_OP,
    keys: [keys.gd!],
    maxLoa: 'loa3',
  });
  t.regex(await jsonError(t, await status(foreign), 404, 'not_found'), /not issued by/);
  t.regex(await jsonError(t, await status('not-a-jwt'), 400, 'invalid_request'), /not a JWT/);
  t.regex(
    await jsonError(
      t,
      await fetch(`${N}/federation/trust-mark/status`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      }),
      400,
      'invalid_request',
    ),
    /required parameter trust_mark/,
  );
  t.regex(
    await jsonError(
      t,
      await fetch(`${N}/federation/trust-mark/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      400,
      'invalid_request',
    ),
    /x-www-form-urlencoded/,
  );
  const getStatus = await get(`${N}/federation/trust-mark/status?trust_mark=${expired}`);
  t.is(getStatus.status, 405);
  t.is(getStatus.headers.get('allow'), 'POST');
});

test.serial("a holder never delays its entity's start: the issuer is down, the holder retries, the mark arrives", async (t) => {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}/federation/trust-mark`;
  const holder = new TrustMarkHolder({
    entityId: topology.get('gz').url,
    issuer: N,
    trustMarkEndpoint: endpoint,
    issuerKeys: issuer.jwks(),
    retryMs: 50,
    log,
  });
  const started = Date.now();
  holder.start();
  t.true(Date.now() - started < 50);
  t.deepEqual(holder.trustMarks(), []);
  await holder.firstAttempt; // failed: nothing listens on the port
  t.deepEqual(holder.trustMarks(), []);

  const late = new Koa();
  late.use(issuer.middleware());
  const listener = await listen(late.callback(), port, '127.0.0.1');
  try {
    const deadline = Date.now() + 10_000;
    while (holder.trustMarks().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    t.deepEqual(
      holder.trustMarks().map((m) => m.trust_mark_type),
      [REAL_NAME_OP],
    );
    t.is(decodeJwt(holder.trustMarks()[0]!.trust_mark).max_loa, 'loa2');
  } finally {
    holder.stop();
    await listener.close();
  }
});
