/**
 * The `gov-id` command as a separate process (the bin `npx gov-id …` runs, in the project folder,
 * with this process's environment, so DATABASE_URL and REDIS_URL are inherited). The admin commands run
 * against a test federation whose topology was written to a file: `--topology FILE --data DIR`
 * make the CLI agree with the host on ports and on the master key.
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { isIdNumber, parsePhone } from '../../infra/identifiers.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, latestOtp, oidc, redeem, registerOnPage, REDIRECT_URI, type RelyingParty } from '../helpers/flows.ts';
import { runCli } from '../helpers/integration-extra.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';

let fed: TestFederation;
let scratch: string;
test.before(async () => {
  fed = await startTestFederation(['gd', 'registries']);
  scratch = mkdtempSync(join(tmpdir(), 'gov-id-cli-scratch-'));
});
test.after.always(async () => {
  await fed?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** `gov-id ARGS --topology FILE --data DIR` against the test federation. */
const cli = (...args: string[]) => runCli([...args, '--topology', fed.topologyFile, '--data', fed.config.dataDir]);
/** `admin client add` at gd with REDIRECT_URI registered, and `more` options. */
const addGdClient = (...more: string[]) => cli('admin', 'client', 'add', '--entity', 'gd', '--redirect-uri', REDIRECT_URI, ...more);

function json<T>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

interface Described {
  id: string;
  kind: string;
  platform: string;
  tier: string;
  province: string | null;
  mode: string | null;
  region: string | null;
  superior: string | null;
  url: string;
  issuer: string | null;
}

test('gov-id topology prints every entity of the demo as JSON, each with its platform', async (t) => {
  // The default topology, whatever the environment names.
  const r = await runCli(['topology'], { GOV_ID_TOPOLOGY: '' });
  t.is(r.code, 0, r.stderr);
  const entities = json<Described[]>(r.stdout);
  t.true(Array.isArray(entities));
  const byId = new Map(entities.map((e) => [e.id, e]));
  for (const id of ['national', 'gd', 'gz', 'sz', 'js', 'zj', 'registries']) t.true(byId.has(id), `${id} is listed`);
  for (const e of entities) {
    for (const key of ['id', 'kind', 'platform', 'tier', 'province', 'mode', 'region', 'url'] as const)
      t.true(key in e, `${e.id} has ${key}`);
    t.regex(e.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    t.true(['op', 'portal', 'services'].includes(e.kind), e.id);
  }
  for (const id of ['national', 'gd', 'gz', 'sz', 'js', 'zj']) {
    const e = byId.get(id)!;
    t.is(e.kind, 'op', id);
    t.is(e.issuer, e.url, `${id} has its issuer`);
    t.is(e.platform, id, "an OP's platform is itself");
  }
  t.like(byId.get('registries'), { kind: 'services', platform: 'national', issuer: null, url: 'http://127.0.0.1:7900' });
  t.like(byId.get('national'), { tier: 'national', province: null, mode: null, region: '100000', url: 'http://127.0.0.1:7000' });
  t.like(byId.get('gd'), { tier: 'province', province: 'gd', mode: 'separate', region: '440000', url: 'http://127.0.0.1:7100' });
  t.like(byId.get('gz'), { tier: 'city', province: 'gd', mode: 'separate', region: '440100' });
  t.like(byId.get('sz'), { tier: 'city', province: 'gd', mode: 'separate' });
  t.like(byId.get('js'), { tier: 'province', province: 'js', mode: 'hybrid' });
  t.like(byId.get('zj'), { tier: 'province', province: 'zj', mode: 'unified' });
  // Cities of the hybrid province have portals (fronts signing in at js, where their accounts live) and services entities.
  t.like(byId.get('nj'), {
    kind: 'portal',
    platform: 'nj',
    tier: 'city',
    province: 'js',
    mode: 'hybrid',
    issuer: null,
    url: 'http://127.0.0.1:7201',
  });
  t.like(byId.get('wx'), {
    kind: 'portal',
    platform: 'wx',
    tier: 'city',
    province: 'js',
    mode: 'hybrid',
    issuer: null,
    url: 'http://127.0.0.1:7202',
  });
  // Every platform has its portal and its services entity, placed by its build mode.
  const parts = (kind: string) =>
    entities
      .filter((e) => e.kind === kind)
      .map((e) => `${e.platform}:${e.id}`)
      .sort();
  t.deepEqual(parts('portal'), [
    'gd:gd-portal',
    'gz:gz-portal',
    'js:js-portal',
    'national:national-portal',
    'nj:nj',
    'sz:sz-portal',
    'wx:wx',
    'zj:zj-portal',
  ]);
  t.deepEqual(parts('services'), [
    'gd:gd-services',
    'gz:gz-services',
    'js:js-services',
    'national:registries',
    'nj:nj-services',
    'sz:sz-services',
    'wx:wx-services',
    'zj:zj-services',
  ]);
  t.like(byId.get('zj-services'), { platform: 'zj', tier: 'province', region: '330000', superior: 'zj', url: 'http://127.0.0.1:7320' });
  t.like(byId.get('gd-portal'), { platform: 'gd', superior: 'gd', url: 'http://127.0.0.1:7110' });
  t.like(byId.get('gz-services'), { platform: 'gz', superior: 'gd', url: 'http://127.0.0.1:7121' });
});

test('gov-id topology --topology FILE describes that file', async (t) => {
  const r = await runCli(['topology', '--topology', fed.topologyFile]);
  t.is(r.code, 0, r.stderr);
  const entities = json<Described[]>(r.stdout);
  for (const e of fed.topology.entities) t.is(entities.find((d) => d.id === e.id)?.url, e.url, e.id);
});

test('admin person add, client add and outbox drive a real registration', async (t) => {
  const added = await cli('admin', 'person', 'add', '--name', '李四');
  t.is(added.code, 0, added.stderr);
  const person = json<{ name: string; id_number: string; phone: string }>(added.stdout);
  t.is(person.name, '李四');
  t.true(isIdNumber(person.id_number), person.id_number);
  t.notThrows(() => parsePhone(person.phone));

  const client = await cli(
    'admin',
    'client',
    'add',
    '--entity',
    'gd',
    '--redirect-uri',
    'http://127.0.0.1:9/cb',
    '--redirect-uri',
    REDIRECT_URI,
    '--name',
    '测试门户',
  );
  t.is(client.code, 0, client.stderr);
  const creds = json<{ client_id: string; client_secret?: string }>(client.stdout);
  t.truthy(creds.client_id);
  t.truthy(creds.client_secret, 'a confidential client by default');

  // The client works, and the person the CLI added passes the real-name check.
  const issuer = fed.url('gd');
  const config = await oidc.discovery(
    new URL(issuer),
    creds.client_id,
    { client_secret: creds.client_secret! },
    oidc.ClientSecretBasic(creds.client_secret!),
    { execute: [oidc.allowInsecureRequests] },
  );
  const rp: RelyingParty = { clientId: creds.client_id, clientSecret: creds.client_secret, config, issuer };
  const ua = new UserAgent();
  const auth = await authorize(rp, ua);
  t.true(auth.page.html.includes('测试门户'), 'the login page names the client');
  const tokens = await redeem(rp, await registerOnPage(fed, ua, auth.page, person, 'Cli-pass-2024'), auth);
  t.is(tokens.claims()!.name, '李四');

  // The code the registration sent is in the outbox, as the CLI shows it.
  const outbox = await cli('admin', 'outbox', '--to', person.phone);
  t.is(outbox.code, 0, outbox.stderr);
  const messages = json<{ to: string; body: string; sender: string }[]>(outbox.stdout);
  t.true(messages.length >= 1);
  t.is(messages[0]!.to, person.phone);
  t.is(messages[0]!.sender, issuer);
  t.true(messages[0]!.body.includes(`验证码 ${await latestOtp(fed, person.phone)}`), messages[0]!.body);
});

test('admin client add --public gives no secret; --scope and --require-par are kept', async (t) => {
  const pub = await addGdClient('--public');
  t.is(pub.code, 0, pub.stderr);
  const p = json<{ client_id: string; client_secret?: string }>(pub.stdout);
  t.truthy(p.client_id);
  t.is(p.client_secret, undefined);

  const par = await addGdClient('--require-par', '--scope', 'openid profile id_number');
  t.is(par.code, 0, par.stderr);
  const { client_id } = json<{ client_id: string }>(par.stdout);
  const res = await fetch(
    `${fed.url('gd')}/auth?${new URLSearchParams({ client_id, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`,
    { redirect: 'manual' },
  );
  t.is(new URL(res.headers.get('location') ?? 'http://x/').searchParams.get('error'), 'invalid_request', 'the client must use PAR');
});

/** Writes a JWK Set to a file of the scratch folder, for --jwks. */
function jwksFile(name: string, keys: unknown[]): string {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify({ keys }));
  return file;
}

test('admin client add --jwks registers a private_key_jwt client: no secret, it authenticates with its key alone, the audit names the method but no key', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const added = await addGdClient('--jwks', jwksFile('client-keys', [{ ...(await exportJWK(publicKey)), kid: 'client-1' }]));
  t.is(added.code, 0, added.stderr);
  const creds = json<{ client_id: string; client_secret?: string }>(added.stdout);
  t.deepEqual(Object.keys(creds), ['client_id'], 'no secret');

  const grant = (key: CryptoKey) =>
    oidc
      .discovery(new URL(fed.url('gd')), creds.client_id, {}, oidc.PrivateKeyJwt(key), { execute: [oidc.allowInsecureRequests] })
      .then((config) => oidc.clientCredentialsGrant(config));
  t.truthy((await grant(privateKey)).access_token, 'an assertion signed with the registered key authenticates the client');
  const other = await generateKeyPair('ES256');
  const refused = await t.throwsAsync(grant(other.privateKey));
  t.is((refused as { error?: string } | undefined)?.error, 'invalid_client', 'an assertion signed with another key does not');

  const audit = await cli('audit', 'list', '--entity', 'gd', '--limit', '50');
  t.is(audit.code, 0, audit.stderr);
  const entry = json<{ event: string; clientId: string | null; detail: unknown }[]>(audit.stdout).find(
    (e) => e.event === 'client.registered' && e.clientId === creds.client_id,
  );
  t.deepEqual(entry?.detail, { redirect_uris: [REDIRECT_URI], public: false, token_endpoint_auth_method: 'private_key_jwt' });
});

test('admin client add --jwks refuses private key material, a weak or broken key, an unknown algorithm, a key without kid', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const ec = { ...(await exportJWK(publicKey)), kid: 'client-1' };
  const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const refusals: [string, unknown[], RegExp][] = [
    [
      'private',
      [{ ...(await exportJWK(privateKey)), kid: 'client-1' }],
      /jwks\.keys\.0\.d: private key material: register the public key only/,
    ],
    ['symmetric', [{ kty: 'oct', k: 'c2VjcmV0', kid: 'client-1', alg: 'HS256' }], /jwks\.keys\.0\.k: private key material/],
    ['weak-rsa', [{ ...weakRsa, kid: 'client-1', alg: 'PS256' }], /jwks\.keys\.0\.n: an RSA key of 1024 bits: at least 2048 are required/],
    ['off-curve', [{ ...ec, x: ec.y }], /jwks\.keys\.0: not a valid EC public key/],
    ['unknown-alg', [{ ...ec, alg: 'HS256' }], /jwks\.keys\.0\.alg: an EC P-256 key signs with ES256/],
    ['rsa-no-alg', [{ ...weakRsa, kid: 'client-1' }], /jwks\.keys\.0\.alg: an RSA key names its algorithm: RS256 or PS256/],
    ['no-kid', [{ ...ec, kid: undefined }], /jwks\.keys\.0\.kid: a key needs a kid/],
    ['too-many', [1, 2, 3, 4].map((i) => ({ ...ec, kid: `client-${i}` })), /jwks\.keys: Too big/],
  ];
  for (const [name, keys, message] of refusals) {
    const r = await addGdClient('--jwks', jwksFile(name, keys));
    t.is(r.code, 2, name);
    t.regex(r.stderr, /gd refused: 400 invalid_request /, name);
    t.regex(r.stderr, message, `${name}: ${r.stderr}`);
    t.is(r.stdout, '', name);
  }
  const pub = await addGdClient('--public', '--jwks', jwksFile('public', [ec]));
  t.is(pub.code, 2);
  t.regex(pub.stderr, /jwks: a public client has no keys/);
  const missing = await addGdClient('--jwks', join(scratch, 'no-such-keys.json'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--jwks .*no-such-keys\.json: ENOENT/);
});

test('an unknown entity exits with code 2 and names it', async (t) => {
  const r = await cli('admin', 'client', 'add', '--entity', 'nowhere', '--redirect-uri', 'http://127.0.0.1:9/cb');
  t.is(r.code, 2);
  t.regex(r.stderr, /nowhere/);
  t.is(r.stdout, '');
  const notOp = await cli('admin', 'client', 'add', '--entity', 'registries', '--redirect-uri', 'http://127.0.0.1:9/cb');
  t.is(notOp.code, 2);
  t.regex(notOp.stderr, /registries is not an OP/);
});

test('a bad topology file exits with code 2 and names the field', async (t) => {
  const valid = JSON.parse(readFileSync(fed.topologyFile, 'utf8')) as {
    national: { port: unknown };
    provinces: { cities?: { port?: number }[] }[];
  };

  const badPort = join(scratch, 'bad-port.json');
  writeFileSync(badPort, JSON.stringify({ ...valid, national: { ...valid.national, port: 'seven thousand' } }));
  const r1 = await runCli(['topology', '--topology', badPort]);
  t.is(r1.code, 2);
  t.true(r1.stderr.includes('national.port'), r1.stderr);
  t.true(r1.stderr.includes(badPort), 'the file is named');

  const noCityPort = structuredClone(valid);
  delete noCityPort.provinces[0]!.cities![1]!.port;
  const badCity = join(scratch, 'bad-city.json');
  writeFileSync(badCity, JSON.stringify(noCityPort));
  const r2 = await runCli(['topology', '--topology', badCity]);
  t.is(r2.code, 2);
  t.true(r2.stderr.includes('provinces[0].cities[1].port'), r2.stderr);

  const notJson = join(scratch, 'not-json.json');
  writeFileSync(notJson, '{ "name": ');
  const r3 = await runCli(['topology', '--topology', notJson]);
  t.is(r3.code, 2);
  t.regex(r3.stderr, /not valid JSON/);

  const r4 = await runCli(['topology', '--topology', join(scratch, 'missing.json')]);
  t.is(r4.code, 2);
  t.regex(r4.stderr, /missing\.json.*cannot read/);

  // The same errors stop admin commands before anything is sent.
  const r5 = await runCli(['admin', 'person', 'add', '--topology', badPort, '--data', fed.config.dataDir]);
  t.is(r5.code, 2);
  t.true(r5.stderr.includes('national.port'));
});

test('admin client add refuses an http redirect URI that is not on loopback', async (t) => {
  for (const uri of ['http://portal.example.gov.cn/callback', 'http://10.0.0.8/cb']) {
    const r = await cli('admin', 'client', 'add', '--entity', 'gd', '--redirect-uri', uri);
    t.is(r.code, 2, uri);
    t.regex(r.stderr, /redirect_uris/, uri);
    t.regex(r.stderr, /https/, `${uri}: the message says what is allowed: ${r.stderr}`);
    t.is(r.stdout, '');
  }
  const fragment = await cli('admin', 'client', 'add', '--entity', 'gd', '--redirect-uri', 'https://portal.example.gov.cn/cb#x');
  t.is(fragment.code, 2);
  t.regex(fragment.stderr, /fragment/);
  const none = await cli('admin', 'client', 'add', '--entity', 'gd');
  t.is(none.code, 2);
  t.regex(none.stderr, /redirect_uris/);
  const ok = await cli('admin', 'client', 'add', '--entity', 'gd', '--redirect-uri', 'https://portal.example.gov.cn/callback');
  t.is(ok.code, 0, ok.stderr);
});

test('usage errors exit with code 2; an entity that is not running is reported as such', async (t) => {
  const noTo = await cli('admin', 'outbox');
  t.is(noTo.code, 2);
  t.regex(noTo.stderr, /--to PHONE/);
  const unknown = await cli('frobnicate');
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command: frobnicate/);
  const badFlag = await cli('topology', '--no-such-flag');
  t.is(badFlag.code, 2);

  // zj is in the topology but this test federation does not run it.
  const down = await cli('admin', 'client', 'add', '--entity', 'zj', '--redirect-uri', REDIRECT_URI);
  t.is(down.code, 2);
  t.regex(down.stderr, /zj is not reachable/);
});

test('admin commands with another master key are refused', async (t) => {
  if (process.env.GOV_ID_MASTER_KEY) return t.pass('the master key comes from the environment here');
  const otherData = mkdtempSync(join(scratch, 'other-data-'));
  const r = await runCli(['admin', 'person', 'add', '--topology', fed.topologyFile, '--data', otherData]);
  t.is(r.code, 2);
  t.regex(r.stderr, /401/);
});
