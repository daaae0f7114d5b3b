/**
 * federation/authority-endpoints.ts over HTTP: a national trust anchor, the gd intermediate and
 * the gz leaf, each on a free loopback port serving its entity configuration, the two authorities
 * also their fetch, list and resolve endpoints from their live configuration files. Keys are
 * ES256 test keys; the topology is a small one built for these ports.
 */
import test from 'ava';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import Koa from 'koa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, type Listener } from '../../infra/http-server.ts';
import { publicJwk, type PrivateJwk } from '../../infra/entity-keys.ts';
import { createLogger } from '../../infra/log.ts';
import { entityConfigurationMiddleware } from '../../federation/entity-configuration.ts';
import { parseTopology, type Topology } from '../../federation/topology.ts';
import { validateTrustChain } from '../../federation/trust-chain.ts';
import {
  defaultMetadataPolicy,
  loadAuthorityConfig,
  saveAuthorityConfig,
  watchAuthorityConfig,
} from '../../federation/authority-config.ts';
import {
  authorityEndpoints,
  federationEntityEndpoints,
  isFederationEndpointPath,
  topologyTrustAnchor,
} from '../../federation/authority-endpoints.ts';
import { federationCommand, FederationCommandError } from '../../cli/federation-command.ts';
import { freePort } from '../helpers/test-federation.ts';

async function newKey(kid: string): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

const GZ_OP_METADATA = {
  id_token_signing_alg_values_supported: ['ES256', 'RS256', 'PS256'],
  token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
  subject_types_supported: ['public', 'pairwise'],
};

let topology: Topology;
let dataDir: string;
let N: string, GD: string, GZ: string, REGISTRIES: string;
const keys: Record<string, PrivateJwk> = {};
const listeners: Listener[] = [];
const log = createLogger({}, 'error');

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gov-id-federation-endpoints-'));
  const name = { 'zh-CN': '测试', en: 'test' };
  // registries is in the topology (so national's default configuration lists it) but not started.
  topology = parseTopology({
    name: 'fed-endpoints',
    host: '127.0.0.1',
    national: { name, port: await freePort() },
    services: { code: 'registries', name, port: await freePort() },
    provinces: [{ code: 'gd', mode: 'separate', name, port: await freePort(), cities: [{ code: 'gz', name, port: await freePort() }] }],
  });
  [N, GD, GZ, REGISTRIES] = ['national', 'gd', 'gz', 'registries'].map((id) => topology.get(id).url) as [string, string, string, string];
  for (const id of ['national', 'gd', 'gz']) keys[id] = await newKey(`${id}-key-1`);

  // gd narrows gz's ID token algorithms to ES256 (national allows ES256 and RS256 for everything below it).
  const gdConfig = loadAuthorityConfig(dataDir, topology, 'gd');
  gdConfig.subordinates[0]!.metadata_policy = { openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256'] } } };
  gdConfig.subordinates[0]!.metadata = { federation_entity: { contacts: ['ops@gd.example'] } };
  saveAuthorityConfig(dataDir, topology, 'gd', gdConfig);

  const serve = async (id: string, metadata: Record<string, Record<string, unknown>>, authority: boolean) => {
    const entity = topology.get(id);
    const app = new Koa();
    const superior = entity.superior ? topology.get(entity.superior).url : null;
    const federationEntity = { organization_name: id, ...(authority ? federationEntityEndpoints(entity.url) : {}) };
    app.use(
      entityConfigurationMiddleware(() => ({
        entityId: entity.url,
        keys: [keys[id]!],
        metadata: { ...metadata, federation_entity: federationEntity },
        authorityHints: superior ? [superior] : [],
      })),
    );
    if (authority) {
      app.use(
        authorityEndpoints({
          entityId: entity.url,
          keys: () => [keys[id]!],
          config: watchAuthorityConfig(dataDir, topology, id, { log, checkIntervalMs: 0 }),
          // national trusts its own keys; gd fetches national's entity configuration.
          trustAnchors:
            id === 'national' ? [{ entityId: N, jwks: { keys: [publicJwk(keys.national!)] } }] : [topologyTrustAnchor(topology)],
          allowHttpEntityIds: true,
          log,
        }),
      );
    }
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = 'the application';
    });
    listeners.push(await listen(app.callback(), entity.port, topology.host));
  };
  await serve('national', { openid_provider: { issuer: N } }, true);
  await serve('gd', { openid_provider: { issuer: GD } }, true);
  await serve('gz', { openid_provider: { issuer: GZ, ...GZ_OP_METADATA } }, false);
});

test.after.always(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const get = (url: string) => fetch(url, { redirect: 'error' });
const jwks = (id: string) => createLocalJWKSet({ keys: [publicJwk(keys[id]!)] });
const anchors = () => [{ entityId: N, jwks: { keys: [publicJwk(keys.national!)] as JWK[] } }];

async function jsonError(
  t: { is: (a: unknown, b: unknown, m?: string) => void },
  res: Response,
  status: number,
  error: string,
): Promise<string> {
  const body = (await res.json()) as { error: string; error_description: string };
  t.is(res.status, status, body.error_description);
  t.is(res.headers.get('content-type')?.split(';')[0], 'application/json');
  t.is(body.error, error, body.error_description);
  return body.error_description;
}

test.serial('an authority publishes its federation endpoints in its entity configuration', async (t) => {
  const res = await get(`${GD}/.well-known/openid-federation`);
  const claims = decodeJwt(await res.text());
  t.deepEqual((claims.metadata as any).federation_entity, {
    organization_name: 'gd',
    federation_fetch_endpoint: `${GD}/federation/fetch`,
    federation_list_endpoint: `${GD}/federation/list`,
    federation_resolve_endpoint: `${GD}/federation/resolve`,
  });
  t.true(isFederationEndpointPath('/federation/fetch?sub=x'));
  t.true(isFederationEndpointPath('/federation/resolve'));
  t.false(isFederationEndpointPath('/federation/other'));
  t.false(isFederationEndpointPath('/auth?x=/federation/fetch'));
});

test.serial("fetch returns a statement signed by the authority that carries the leaf's keys and policy", async (t) => {
  const res = await get(`${GD}/federation/fetch?sub=${encodeURIComponent(GZ)}`);
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/entity-statement+jwt');
  const { payload, protectedHeader } = await jwtVerify(await res.text(), jwks('gd'), {
    issuer: GD,
    subject: GZ,
    typ: 'entity-statement+jwt',
  });
  t.is(protectedHeader.kid, 'gd-key-1');
  t.is(protectedHeader.alg, 'ES256');
  t.deepEqual(payload.jwks, { keys: [publicJwk(keys.gz!)] });
  t.false(JSON.stringify(payload.jwks).includes('"d"'));
  t.deepEqual(payload.metadata_policy, {
    ...defaultMetadataPolicy(),
    // the authority-wide subset_of [ES256, RS256] combined with gz's own subset_of [ES256]
    openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256'] } },
  });
  t.deepEqual(payload.constraints, { max_path_length: 0 });
  t.deepEqual(payload.metadata, { federation_entity: { contacts: ['ops@gd.example'] } });
  t.is(payload.source_endpoint, `${GD}/federation/fetch`);
  t.is(payload.exp! - payload.iat!, 24 * 3600);

  // national about gd: a province may have one intermediate below national.
  const gd = await jwtVerify(await (await get(`${N}/federation/fetch?sub=${encodeURIComponent(GD)}`)).text(), jwks('national'), {
    issuer: N,
    subject: GD,
  });
  t.deepEqual(gd.payload.constraints, { max_path_length: 1 });
  t.deepEqual(gd.payload.jwks, { keys: [publicJwk(keys.gd!)] });
});

test.serial('fetch errors: unknown sub 404 not_found, missing or self sub 400 invalid_request, POST refused', async (t) => {
  t.regex(
    await jsonError(t, await get(`${GD}/federation/fetch?sub=${encodeURIComponent('https://unknown.example')}`), 404, 'not_found'),
    /is not a subordinate of/,
  );
  t.regex(await jsonError(t, await get(`${GD}/federation/fetch`), 400, 'invalid_request'), /sub is missing/);
  t.regex(await jsonError(t, await get(`${GD}/federation/fetch?sub=${encodeURIComponent(GD)}`), 400, 'invalid_request'), /issuer itself/);
  t.regex(await jsonError(t, await get(`${GD}/federation/fetch?sub=a&sub=b`), 400, 'invalid_request'), /once/);
  const post = await fetch(`${GD}/federation/fetch`, {
    method: 'POST',
    body: `sub=${encodeURIComponent(GZ)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  await jsonError(t, post, 405, 'invalid_request');
  // The subordinate is not reachable: its keys are unknown.
  t.regex(
    await jsonError(t, await get(`${N}/federation/fetch?sub=${encodeURIComponent(REGISTRIES)}`), 503, 'temporarily_unavailable'),
    /keys of/,
  );
  // Other paths are left to the application.
  t.is(await (await get(`${GD}/federation/other`)).text(), 'the application');
});

test.serial('list lists the immediate subordinates, with the entity_type and intermediate filters', async (t) => {
  const list = async (url: string) => {
    const res = await get(url);
    t.is(res.status, 200);
    t.is(res.headers.get('content-type')?.split(';')[0], 'application/json');
    return res.json();
  };
  t.deepEqual(await list(`${N}/federation/list`), [REGISTRIES, GD]);
  t.deepEqual(await list(`${GD}/federation/list`), [GZ]);
  // Entity types come from the subordinates' entity configurations (registries is not running: left out).
  t.deepEqual(await list(`${N}/federation/list?entity_type=openid_provider`), [GD]);
  t.deepEqual(await list(`${GD}/federation/list?entity_type=openid_relying_party`), []);
  t.deepEqual(await list(`${GD}/federation/list?entity_type=openid_relying_party&entity_type=openid_provider`), [GZ]);
  t.deepEqual(await list(`${N}/federation/list?intermediate=true`), [GD]);
  t.deepEqual(await list(`${GD}/federation/list?intermediate=true`), []);
  await jsonError(t, await get(`${GD}/federation/list?trust_marked=true`), 400, 'unsupported_parameter');
  await jsonError(t, await get(`${GD}/federation/list?intermediate=maybe`), 400, 'invalid_request');
});

test.serial('resolve returns signed metadata with the policies applied and a trust chain that validates', async (t) => {
  const res = await get(`${GD}/federation/resolve?sub=${encodeURIComponent(GZ)}&trust_anchor=${encodeURIComponent(N)}`);
  t.is(res.status, 200, res.status === 200 ? '' : await res.clone().text());
  t.is(res.headers.get('content-type'), 'application/resolve-response+jwt');
  const { payload, protectedHeader } = await jwtVerify(await res.text(), jwks('gd'), {
    issuer: GD,
    subject: GZ,
    typ: 'resolve-response+jwt',
  });
  t.is(protectedHeader.kid, 'gd-key-1');
  const metadata = payload.metadata as Record<string, Record<string, unknown>>;
  t.deepEqual(metadata.openid_provider!.id_token_signing_alg_values_supported, ['ES256']);
  t.deepEqual(metadata.openid_provider!.token_endpoint_auth_methods_supported, GZ_OP_METADATA.token_endpoint_auth_methods_supported);
  // gd's metadata about gz overrides gz's own federation_entity parameters of the same name.
  t.deepEqual(metadata.federation_entity, { organization_name: 'gz', contacts: ['ops@gd.example'] });

  const chain = payload.trust_chain as string[];
  // gz's entity configuration, gd about gz, national about gd, national's entity configuration.
  t.deepEqual(
    chain.map((s) => [decodeJwt(s).iss, decodeJwt(s).sub]),
    [
      [GZ, GZ],
      [GD, GZ],
      [N, GD],
      [N, N],
    ],
  );
  const validated = await validateTrustChain(chain, { trustAnchors: anchors(), allowHttpEntityIds: true });
  t.deepEqual(validated.metadata, metadata);
  t.is(payload.exp, Math.min(...chain.map((s) => decodeJwt(s).exp!)));
  t.true(payload.iat! <= Math.floor(Date.now() / 1000));
  t.false('trust_marks' in payload);

  // entity_type picks the entity types returned.
  const only = decodeJwt(
    await (
      await get(`${GD}/federation/resolve?sub=${encodeURIComponent(GZ)}&trust_anchor=${encodeURIComponent(N)}&entity_type=openid_provider`)
    ).text(),
  );
  t.deepEqual(Object.keys(only.metadata as object), ['openid_provider']);

  // national resolves too, with its own keys as the anchor's; and resolves itself.
  const fromNational = await get(`${N}/federation/resolve?sub=${encodeURIComponent(GZ)}&trust_anchor=${encodeURIComponent(N)}`);
  t.is(fromNational.status, 200);
  t.deepEqual((await jwtVerify(await fromNational.text(), jwks('national'), { typ: 'resolve-response+jwt' })).payload.metadata, metadata);
  const self = decodeJwt(
    await (await get(`${N}/federation/resolve?sub=${encodeURIComponent(N)}&trust_anchor=${encodeURIComponent(N)}`)).text(),
  );
  t.is((self.trust_chain as string[]).length, 1);
});

test.serial("resolve errors use the specification's codes and name the statement and check", async (t) => {
  const resolve = (sub: string, anchor?: string) =>
    get(
      `${GD}/federation/resolve?sub=${encodeURIComponent(sub)}${anchor === undefined ? '' : `&trust_anchor=${encodeURIComponent(anchor)}`}`,
    );
  t.regex(
    await jsonError(t, await get(`${GD}/federation/resolve?trust_anchor=${encodeURIComponent(N)}`), 400, 'invalid_request'),
    /sub is missing/,
  );
  t.regex(await jsonError(t, await resolve(GZ), 400, 'invalid_request'), /trust_anchor is missing/);
  t.regex(
    await jsonError(t, await resolve(GZ, 'https://other-anchor.example'), 404, 'invalid_trust_anchor'),
    /is not a trust anchor of this resolver/,
  );
  t.regex(
    await jsonError(t, await resolve(REGISTRIES, N), 404, 'not_found'),
    /^entity configuration of http:\/\/127\.0\.0\.1:\d+: fetch_failed/,
  );

  // A policy the leaf's metadata does not comply with: invalid_metadata, taking effect at once.
  const config = loadAuthorityConfig(dataDir, topology, 'gd');
  const strict = structuredClone(config);
  strict.subordinates[0]!.metadata_policy = { openid_provider: { op_policy_uri: { essential: true } } };
  saveAuthorityConfig(dataDir, topology, 'gd', strict);
  try {
    const description = await jsonError(t, await resolve(GZ, N), 400, 'invalid_metadata');
    t.regex(
      description,
      new RegExp(
        `^entity configuration of ${GZ}: policy_violation: openid_provider\\.op_policy_uri\\.essential: essential parameter is missing`,
      ),
    );
  } finally {
    saveAuthorityConfig(dataDir, topology, 'gd', config);
  }
  t.is((await resolve(GZ, N)).status, 200);
});

test.serial('a subordinate removed from the configuration disappears from list, fetch and resolve without a restart', async (t) => {
  const ctx = { topology, dataDir };
  await federationCommand('remove-subordinate', { entity: 'gd', subject: 'gz' }, ctx);
  t.deepEqual(await (await get(`${GD}/federation/list`)).json(), []);
  await jsonError(t, await get(`${GD}/federation/fetch?sub=${encodeURIComponent(GZ)}`), 404, 'not_found');
  const description = await jsonError(
    t,
    await get(`${GD}/federation/resolve?sub=${encodeURIComponent(GZ)}&trust_anchor=${encodeURIComponent(N)}`),
    400,
    'invalid_trust_chain',
  );
  t.regex(description, new RegExp(`^subordinate statement ${GD}→${GZ}: fetch_failed: HTTP 404`));

  // Added back, with a policy from a file: served again at once.
  const policyFile = join(dataDir, 'gz-policy.json');
  writeFileSync(policyFile, JSON.stringify({ openid_provider: { subject_types_supported: { subset_of: ['pairwise'] } } }));
  await federationCommand('add-subordinate', { entity: 'gd', subject: GZ, policy: policyFile }, ctx);
  t.deepEqual(await (await get(`${GD}/federation/list`)).json(), [GZ]);
  const res = await get(`${GD}/federation/resolve?sub=${encodeURIComponent(GZ)}&trust_anchor=${encodeURIComponent(N)}`);
  t.is(res.status, 200);
  const md = (decodeJwt(await res.text()).metadata as Record<string, Record<string, unknown>>).openid_provider!;
  t.deepEqual(md.subject_types_supported, ['pairwise']);
  t.deepEqual(md.id_token_signing_alg_values_supported, ['ES256', 'RS256']); // gz's own narrowing went with the removal
});

test.serial("gov-id federation show-chain resolves an entity's chain against the running federation", async (t) => {
  const out = (await federationCommand('show-chain', { entity: 'gz' }, { topology, dataDir })) as {
    subject: string;
    trust_anchor: string;
    statements: { kind: string; iss: string; sub: string; kid: string; exp: number; entity?: string }[];
    metadata: Record<string, Record<string, unknown>>;
  };
  t.is(out.subject, GZ);
  t.is(out.trust_anchor, N);
  t.deepEqual(
    out.statements.map((s) => [s.kind, s.iss, s.sub, s.kid]),
    [
      ['entity configuration', GZ, GZ, 'gz-key-1'],
      ['subordinate statement', GD, GZ, 'gd-key-1'],
      ['subordinate statement', N, GD, 'national-key-1'],
      ['entity configuration', N, N, 'national-key-1'],
    ],
  );
  t.true(out.statements.every((s) => s.exp > Date.now() / 1000));
  t.truthy(out.metadata.openid_provider);

  // A trust anchor that is not running: a clear error.
  const err = await t.throwsAsync(federationCommand('show-chain', { entity: 'gz', 'trust-anchor': REGISTRIES }, { topology, dataDir }), {
    instanceOf: FederationCommandError,
  });
  t.regex(err!.message, /cannot get the keys of trust anchor .*is the federation running/);
  // An entity that cannot be reached: the failed statement and check are named.
  const err2 = await t.throwsAsync(federationCommand('show-chain', { entity: 'registries' }, { topology, dataDir }), {
    instanceOf: FederationCommandError,
  });
  t.is(
    err2!.message.split(' (')[0],
    `no valid trust chain from ${REGISTRIES} to ${N}: entity configuration of ${REGISTRIES}: fetch_failed: fetch failed`,
  );
  // Any running entity may be named as the anchor: gd is then the anchor of gz's chain.
  const underGd = (await federationCommand('show-chain', { entity: GZ, 'trust-anchor': GD }, { topology, dataDir })) as {
    statements: unknown[];
  };
  t.is(underGd.statements.length, 3);
});

test.serial("resolve at gd needs national's keys: fetched from its entity configuration", async (t) => {
  const header = decodeProtectedHeader(await (await get(`${N}/.well-known/openid-federation`)).text());
  t.is(header.kid, 'national-key-1');
  const anchor = topologyTrustAnchor(topology);
  t.is(anchor.entityId, N);
  const fetched = typeof anchor.jwks === 'function' ? await anchor.jwks() : anchor.jwks;
  t.deepEqual(fetched, { keys: [publicJwk(keys.national!)] });
});
