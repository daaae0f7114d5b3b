/**
 * federation/authority-config.ts and the file-editing commands of cli/federation-command.ts: the
 * defaults derived from the demo topology, validation errors that name the field, atomic saves,
 * and live reloading (a valid edit is taken, an invalid one refused while the last good
 * configuration stays in force).
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../infra/errors.ts';
import type { Logger } from '../../infra/log.ts';
import { loadTopology } from '../../federation/topology.ts';
import { validatePolicy } from '../../federation/metadata-policy.ts';
import {
  authorityConfigPath,
  authorityEntity,
  AuthorityConfigWatcher,
  defaultAuthorityConfig,
  effectivePolicy,
  loadAuthorityConfig,
  parseAuthorityConfig,
  readAuthorityConfigFile,
  saveAuthorityConfig,
  watchAuthorityConfig,
  type AuthorityConfig,
} from '../../federation/authority-config.ts';
import { federationCommand, FederationCommandError } from '../../cli/federation-command.ts';

const topology = loadTopology();
const url = (id: string) => topology.get(id).url;
const GD = url('gd');
const GZ = url('gz');

const tempDirs: string[] = [];
test.after.always(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gov-id-unit-authority-'));
  tempDirs.push(dir);
  return dir;
}

interface Logged {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}
function captureLog(): { log: Logger; lines: Logged[] } {
  const lines: Logged[] = [];
  const make = (): Logger => ({
    debug: (msg, fields) => void lines.push({ level: 'debug', msg, fields }),
    info: (msg, fields) => void lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
    child: () => make(),
  });
  return { log: make(), lines };
}

function refusal(raw: unknown, authorityEntityId?: string): ConfigurationError {
  try {
    parseAuthorityConfig(raw, 'gd.json', authorityEntityId);
  } catch (err) {
    if (err instanceof ConfigurationError) return err;
    throw err;
  }
  throw new Error('the configuration was accepted');
}

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

/** gd's entities in the demo: its portal and services entity, its cities' OPs, portals and services entities. */
const GD_SUBORDINATES = ['gd-portal', 'gd-services', 'gz', 'gz-portal', 'gz-services', 'sz', 'sz-portal', 'sz-services'];

test("national's default subordinates are its portal, its services entity and the provinces", (t) => {
  const config = defaultAuthorityConfig(topology, 'national');
  t.deepEqual(
    config.subordinates.map((s) => s.entity_id),
    ['national-portal', 'registries', 'gd', 'js', 'zj'].map(url),
  );
  // A province may have one intermediate (itself) below national; the services entity is a leaf.
  t.deepEqual(config.subordinates.find((s) => s.entity_id === GD)!.constraints, { max_path_length: 1 });
  t.deepEqual(config.subordinates.find((s) => s.entity_id === url('registries'))!.constraints, { max_path_length: 0 });
  t.notThrows(() => parseAuthorityConfig(config, 'default', url('national')));
});

test("a province's default subordinates are its platform's portal and services entity and its cities' entities, all leaves", (t) => {
  t.deepEqual(
    defaultAuthorityConfig(topology, 'gd').subordinates,
    GD_SUBORDINATES.map((id) => ({ entity_id: url(id), constraints: { max_path_length: 0 } })),
  );
  // Hybrid: the cities' fronts and services entities; unified: the province's own portal and services entity.
  t.deepEqual(
    defaultAuthorityConfig(topology, 'js').subordinates.map((s) => s.entity_id),
    ['js-portal', 'js-services', 'nj', 'nj-services', 'wx', 'wx-services'].map(url),
  );
  t.deepEqual(
    defaultAuthorityConfig(topology, 'zj').subordinates.map((s) => s.entity_id),
    ['zj-portal', 'zj-services'].map(url),
  );
});

test('the default policy is small and spec-legal, and applies to every subordinate', (t) => {
  const config = defaultAuthorityConfig(topology, 'gd');
  t.notThrows(() => validatePolicy(config.metadata_policy!));
  t.deepEqual(config.metadata_policy!.openid_relying_party!.grant_types, { subset_of: ['authorization_code', 'refresh_token'] });
  // token_endpoint_auth_method is one string: one_of, not subset_of.
  t.deepEqual(config.metadata_policy!.openid_relying_party!.token_endpoint_auth_method, {
    one_of: ['private_key_jwt', 'client_secret_basic'],
  });
  t.deepEqual(config.metadata_policy!.openid_provider!.id_token_signing_alg_values_supported, { subset_of: ['ES256', 'RS256'] });
  t.deepEqual(effectivePolicy(config, config.subordinates[0]!), config.metadata_policy);
});

test('only national and the provinces are federation authorities', (t) => {
  t.is(authorityEntity(topology, 'gd').url, GD);
  t.is(authorityEntity(topology, GD).id, 'gd');
  const err = t.throws(() => authorityEntity(topology, 'gz'), { instanceOf: ConfigurationError })!;
  t.regex(err.message, /^--entity: gz is a city op, not a federation authority.*national, gd, js, zj$/);
  t.throws(() => authorityEntity(topology, 'registries'), { message: /not a federation authority/ });
  t.throws(() => authorityEntity(topology, 'nowhere'), { message: /no entity "nowhere"/ });
});

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const cases: [string, unknown, string, RegExp][] = [
  ['missing subordinates', {}, 'subordinates', /must be an array \(missing\)/],
  ['subordinates not an array', { subordinates: {} }, 'subordinates', /must be an array/],
  [
    'entity_id with a trailing slash',
    { subordinates: [{ entity_id: GZ + '/' }] },
    'subordinates[0].entity_id',
    /must not end with a slash/,
  ],
  ['entity_id not a URL', { subordinates: [{ entity_id: 'gz' }] }, 'subordinates[0].entity_id', /must be a URL/],
  [
    'entity_id with a query',
    { subordinates: [{ entity_id: 'https://gz.gd.gov.cn?x=1' }] },
    'subordinates[0].entity_id',
    /query or a fragment/,
  ],
  ['http entity_id off loopback', { subordinates: [{ entity_id: 'http://gz.gd.gov.cn' }] }, 'subordinates[0].entity_id', /must use https/],
  [
    'entity_id of another scheme',
    { subordinates: [{ entity_id: 'ftp://gz.gd.gov.cn' }] },
    'subordinates[0].entity_id',
    /must be an https URL/,
  ],
  [
    'an operator value of the wrong type',
    { subordinates: [{ entity_id: GZ, metadata_policy: { openid_relying_party: { grant_types: { subset_of: 'authorization_code' } } } }] },
    'subordinates[0].metadata_policy.openid_relying_party.grant_types.subset_of',
    /^subset_of must be an array$/,
  ],
  [
    'operators that cannot be combined (authority-wide)',
    {
      metadata_policy: { openid_provider: { id_token_signing_alg_values_supported: { one_of: ['ES256'], subset_of: ['ES256'] } } },
      subordinates: [],
    },
    'metadata_policy.openid_provider.id_token_signing_alg_values_supported',
    /one_of cannot be combined with subset_of/,
  ],
  ['an empty policy', { subordinates: [{ entity_id: GZ, metadata_policy: {} }] }, 'subordinates[0].metadata_policy', /must not be empty/],
  [
    'a subordinate policy that conflicts with the authority-wide one',
    {
      metadata_policy: { openid_provider: { subject_types_supported: { value: ['public'] } } },
      subordinates: [{ entity_id: GZ, metadata_policy: { openid_provider: { subject_types_supported: { value: ['pairwise'] } } } }],
    },
    'subordinates[0].metadata_policy.openid_provider.subject_types_supported.value',
    /cannot be combined with the authority-wide metadata_policy/,
  ],
  [
    'a negative max_path_length',
    { subordinates: [{ entity_id: GZ, constraints: { max_path_length: -1 } }] },
    'subordinates[0].constraints.max_path_length',
    /must be 0 or more/,
  ],
  [
    'a fractional max_path_length',
    { subordinates: [{ entity_id: GZ, constraints: { max_path_length: 1.5 } }] },
    'subordinates[0].constraints.max_path_length',
    /whole number/,
  ],
  [
    'a misspelt constraint',
    { subordinates: [{ entity_id: GZ, constraints: { max_path_lenght: 1 } }] },
    'subordinates[0].constraints.max_path_lenght',
    /is not a field/,
  ],
  [
    'a bad naming constraint',
    { subordinates: [{ entity_id: GZ, constraints: { naming_constraints: { permitted: ['https://gd.gov.cn'] } } }] },
    'subordinates[0].constraints.naming_constraints.permitted[0]',
    /must be a host name/,
  ],
  [
    'federation_entity in allowed_entity_types',
    { subordinates: [{ entity_id: GZ, constraints: { allowed_entity_types: ['openid_provider', 'federation_entity'] } }] },
    'subordinates[0].constraints.allowed_entity_types',
    /must not list federation_entity/,
  ],
  [
    'trust_marks on a subordinate',
    { subordinates: [{ entity_id: GZ, trust_marks: [] }] },
    'subordinates[0].trust_marks',
    /own entity configuration/,
  ],
  ['an unknown top-level field', { subordinates: [], subordinate: [] }, 'subordinate', /is not a field of the authority configuration/],
  [
    'a null metadata value',
    { subordinates: [{ entity_id: GZ, metadata: { openid_provider: { contacts: null } } }] },
    'subordinates[0].metadata.openid_provider.contacts',
    /must not be null/,
  ],
  [
    'a federation endpoint in metadata',
    { subordinates: [{ entity_id: GZ, metadata: { federation_entity: { federation_fetch_endpoint: GZ + '/fetch' } } }] },
    'subordinates[0].metadata.federation_entity.federation_fetch_endpoint',
    /published by the entity in its own entity configuration/,
  ],
  [
    'a private key member in pinned keys',
    { subordinates: [{ entity_id: GZ, jwks: { keys: [{ kty: 'EC', kid: 'k1', crv: 'P-256', x: 'x', y: 'y', d: 'secret' }] } }] },
    'subordinates[0].jwks.keys[0].d',
    /pin only the public key/,
  ],
  [
    'a pinned key without kid',
    { subordinates: [{ entity_id: GZ, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] } }] },
    'subordinates[0].jwks.keys[0].kid',
    /must be a string/,
  ],
  [
    'a subordinate listed twice',
    { subordinates: [{ entity_id: GZ }, { entity_id: url('sz') }, { entity_id: GZ }] },
    'subordinates[2].entity_id',
    /listed twice \(also subordinates\[0\]\)/,
  ],
];

for (const [title, raw, field, reason] of cases) {
  test(`refused, naming the field: ${title}`, (t) => {
    const err = refusal(raw);
    t.is(err.path, `gd.json: ${field}`, err.message);
    t.regex(err.message.slice(err.path.length + 2), reason);
  });
}

test('refused: the authority as its own subordinate', (t) => {
  const err = refusal({ subordinates: [{ entity_id: GD }] }, GD);
  t.is(err.path, 'gd.json: subordinates[0].entity_id');
  t.regex(err.message, /is this authority itself/);
});

test('a full subordinate entry is accepted and kept as written', (t) => {
  const raw: AuthorityConfig = {
    comment: 'Guangdong',
    metadata_policy: { openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256', 'RS256'] } } },
    subordinates: [
      {
        entity_id: 'https://gz.gd.gov.cn',
        comment: 'Guangzhou',
        metadata_policy: {
          openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256'] }, contacts: { add: ['ops@gz.gd.gov.cn'] } },
        },
        constraints: { max_path_length: 0, naming_constraints: { permitted: ['.gd.gov.cn'] }, allowed_entity_types: ['openid_provider'] },
        metadata: { federation_entity: { organization_name: '广州市政务服务网' } },
        jwks: { keys: [{ kty: 'EC', kid: 'gz-1', crv: 'P-256', x: 'x', y: 'y', alg: 'ES256', use: 'sig' }] },
      },
    ],
  };
  t.deepEqual(parseAuthorityConfig(structuredClone(raw), 'gd.json', GD), raw);
  t.deepEqual(effectivePolicy(raw, raw.subordinates[0]!), {
    openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256'] }, contacts: { add: ['ops@gz.gd.gov.cn'] } },
  });
});

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

test('loadAuthorityConfig creates the file from the defaults when it is absent, then reads it', (t) => {
  const dataDir = tempDir();
  const file = authorityConfigPath(dataDir, 'gd');
  t.is(file, join(dataDir, 'federation', 'gd.json'));
  const created = loadAuthorityConfig(dataDir, topology, 'gd');
  t.deepEqual(created, defaultAuthorityConfig(topology, 'gd'));
  t.deepEqual(JSON.parse(readFileSync(file, 'utf8')), created);
  writeFileSync(file, JSON.stringify({ subordinates: [{ entity_id: GZ }] }));
  t.deepEqual(loadAuthorityConfig(dataDir, topology, 'gd'), { subordinates: [{ entity_id: GZ }] });
});

test('a file that is not JSON is refused with the file named', (t) => {
  const dataDir = tempDir();
  const file = authorityConfigPath(dataDir, 'gd');
  loadAuthorityConfig(dataDir, topology, 'gd');
  writeFileSync(file, '{ "subordinates": [ ');
  const err = t.throws(() => readAuthorityConfigFile(file, GD), { instanceOf: ConfigurationError })!;
  t.is(err.path, file);
  t.regex(err.message, /not valid JSON/);
});

test('saveAuthorityConfig validates first and replaces the file atomically', (t) => {
  const dataDir = tempDir();
  const file = authorityConfigPath(dataDir, 'gd');
  const original = loadAuthorityConfig(dataDir, topology, 'gd');
  const before = readFileSync(file, 'utf8');
  const inodeBefore = statSync(file).ino;

  // Invalid: refused with the field named; the file is untouched and no temporary file is left.
  const bad = { ...original, subordinates: [{ entity_id: GZ, constraints: { max_path_length: -2 } }] };
  const err = t.throws(() => saveAuthorityConfig(dataDir, topology, 'gd', bad as AuthorityConfig), { instanceOf: ConfigurationError })!;
  t.is(err.path, `${file}: subordinates[0].constraints.max_path_length`);
  t.is(readFileSync(file, 'utf8'), before);
  t.deepEqual(readdirSync(join(dataDir, 'federation')), ['gd.json']);

  // Valid: written through a temporary file renamed over the old one (a new inode), nothing left behind.
  const next: AuthorityConfig = { ...original, subordinates: [original.subordinates[0]!] };
  t.deepEqual(saveAuthorityConfig(dataDir, topology, 'gd', next), next);
  t.deepEqual(JSON.parse(readFileSync(file, 'utf8')), next);
  t.not(statSync(file).ino, inodeBefore);
  t.deepEqual(readdirSync(join(dataDir, 'federation')), ['gd.json']);
});

// ---------------------------------------------------------------------------------------------
// Live reloading
// ---------------------------------------------------------------------------------------------

test('a running authority picks up an edit, looking at the file at most once per second', (t) => {
  const dataDir = tempDir();
  let now = 1_000_000;
  const { log, lines } = captureLog();
  const watcher = watchAuthorityConfig(dataDir, topology, 'gd', { log, now: () => now });
  t.deepEqual(
    watcher.current().subordinates.map((s) => s.entity_id),
    GD_SUBORDINATES.map(url),
  );
  t.is(watcher.version, 0);

  const edited = { ...watcher.current(), subordinates: [{ entity_id: GZ }] };
  saveAuthorityConfig(dataDir, topology, 'gd', edited);
  now += 500; // within the second: the file is not looked at
  t.is(watcher.current().subordinates.length, GD_SUBORDINATES.length);
  now += 500;
  t.deepEqual(watcher.current().subordinates, [{ entity_id: GZ }]);
  t.is(watcher.version, 1);
  t.true(lines.some((l) => l.level === 'info' && l.msg === 'authority configuration reloaded'));

  // Unchanged file: nothing reloaded.
  now += 5000;
  watcher.current();
  t.is(watcher.version, 1);
});

test('an invalid edit is refused with a logged error and the last good configuration stays in force', (t) => {
  const dataDir = tempDir();
  const { log, lines } = captureLog();
  const watcher = new AuthorityConfigWatcher({
    file: authorityConfigPath(dataDir, 'gd'),
    authorityEntityId: GD,
    defaults: () => defaultAuthorityConfig(topology, 'gd'),
    log,
    checkIntervalMs: 0,
  });
  const good = watcher.current();

  // A hand edit with a mistake in a policy.
  const raw = JSON.parse(readFileSync(watcher.file, 'utf8'));
  raw.subordinates[0].metadata_policy = { openid_provider: { id_token_signing_alg_values_supported: { subset_of: 'ES256' } } };
  writeFileSync(watcher.file, JSON.stringify(raw, null, 2));
  t.deepEqual(watcher.current(), good);
  t.is(watcher.version, 0);
  const errors = lines.filter((l) => l.level === 'error');
  t.is(errors.length, 1);
  t.regex(
    String(errors[0]!.fields?.reason),
    /subordinates\[0\]\.metadata_policy\.openid_provider\.id_token_signing_alg_values_supported\.subset_of: subset_of must be an array/,
  );

  // Asking again does not log the same refusal again.
  watcher.current();
  t.is(lines.filter((l) => l.level === 'error').length, 1);

  // Half-written JSON is refused too.
  writeFileSync(watcher.file, '{ "subordinates": [');
  t.deepEqual(watcher.current(), good);
  t.regex(String(lines.filter((l) => l.level === 'error')[1]?.fields?.reason), /not valid JSON/);

  // The corrected file is taken.
  raw.subordinates[0].metadata_policy = { openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256'] } } };
  writeFileSync(watcher.file, JSON.stringify(raw, null, 2));
  t.deepEqual(watcher.current().subordinates[0]!.metadata_policy, raw.subordinates[0].metadata_policy);
  t.is(watcher.version, 1);

  // A deleted file: the last good configuration stays.
  const last = watcher.current();
  unlinkSync(watcher.file);
  t.deepEqual(watcher.current(), last);
  t.regex(lines.at(-1)!.msg, /missing/);
});

test('an authority whose file is invalid at start does not start', (t) => {
  const dataDir = tempDir();
  loadAuthorityConfig(dataDir, topology, 'gd');
  writeFileSync(authorityConfigPath(dataDir, 'gd'), JSON.stringify({ subordinates: [{ entity_id: 'gz' }] }));
  t.throws(() => watchAuthorityConfig(dataDir, topology, 'gd'), {
    instanceOf: ConfigurationError,
    message: /subordinates\[0\]\.entity_id: must be a URL/,
  });
});

// ---------------------------------------------------------------------------------------------
// gov-id federation list | add-subordinate | remove-subordinate | set-policy
// ---------------------------------------------------------------------------------------------

type Summary = {
  authority: string;
  file: string;
  metadata_policy: unknown;
  subordinates: { entity_id: string; entity?: string; metadata_policy: unknown; own_metadata_policy?: unknown; constraints: unknown }[];
  warnings?: string[];
};

async function commandError(t: ExecutionContext, promise: Promise<unknown>): Promise<FederationCommandError> {
  return (await t.throwsAsync(promise, { instanceOf: FederationCommandError })) as FederationCommandError;
}

test('federation list shows the subordinates with the policy in force', async (t) => {
  const dataDir = tempDir();
  const out = (await federationCommand('list', { entity: 'gd' }, { topology, dataDir })) as Summary;
  t.is(out.authority, 'gd');
  t.is(out.file, authorityConfigPath(dataDir, 'gd'));
  t.deepEqual(
    out.subordinates.map((s) => [s.entity, s.entity_id]),
    GD_SUBORDINATES.map((id) => [id, url(id)]),
  );
  t.deepEqual(out.subordinates[0]!.metadata_policy, defaultAuthorityConfig(topology, 'gd').metadata_policy);
  const err = await commandError(t, federationCommand('list', { entity: 'gz' }, { topology, dataDir }));
  t.regex(err.message, /gz is a city op, not a federation authority/);
  t.is(err.name, 'FederationCommandError');
  await commandError(t, federationCommand('list', {}, { topology, dataDir }));
  t.regex(
    (await commandError(t, federationCommand('frobnicate', {}, { topology, dataDir }))).message,
    /unknown federation command "frobnicate"/,
  );
});

test('federation add-subordinate, set-policy and remove-subordinate edit the file, validated', async (t) => {
  const dataDir = tempDir();
  const ctx = { topology, dataDir };
  const policyFile = join(dataDir, 'policy.json');
  const rp = 'https://portal.gz.gov.cn';

  writeFileSync(policyFile, JSON.stringify({ openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } }));
  let out = (await federationCommand('add-subordinate', { entity: 'gd', subject: rp, policy: policyFile }, ctx)) as Summary;
  const added = out.subordinates.find((s) => s.entity_id === rp)!;
  t.deepEqual(added.own_metadata_policy, { openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } });
  // Combined with the authority-wide default: the intersection.
  t.deepEqual((added.metadata_policy as any).openid_relying_party.grant_types, { subset_of: ['authorization_code'] });
  t.deepEqual(
    loadAuthorityConfig(dataDir, topology, 'gd').subordinates.map((s) => s.entity_id),
    [...GD_SUBORDINATES.map(url), rp],
  );

  t.regex(
    (await commandError(t, federationCommand('add-subordinate', { entity: 'gd', subject: rp }, ctx))).message,
    /already a subordinate of gd/,
  );
  t.regex(
    (await commandError(t, federationCommand('add-subordinate', { entity: 'gd', subject: 'https://x.cn/' }, ctx))).message,
    /--subject: https:\/\/x\.cn\/ must not end with a slash/,
  );
  t.regex((await commandError(t, federationCommand('add-subordinate', { entity: 'gd', subject: 'gd' }, ctx))).message, /is gd itself/);

  // A topology entity by ID, placed under another authority than its topology superior: a warning.
  out = (await federationCommand('add-subordinate', { entity: 'gd', subject: 'zj' }, ctx)) as Summary;
  t.true(out.subordinates.some((s) => s.entity_id === url('zj')));
  t.regex(out.warnings![0]!, /zj's superior in the topology is national/);
  await federationCommand('remove-subordinate', { entity: 'gd', subject: 'zj' }, ctx);

  // set-policy: a bad policy file names the field and the reason, and changes nothing.
  const before = readFileSync(authorityConfigPath(dataDir, 'gd'), 'utf8');
  writeFileSync(
    policyFile,
    JSON.stringify({ openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256'], one_of: ['ES256'] } } }),
  );
  let err = await commandError(t, federationCommand('set-policy', { entity: 'gd', subject: GZ, policy: policyFile }, ctx));
  t.is(
    err.message,
    `--policy ${policyFile}: openid_provider.id_token_signing_alg_values_supported: one_of cannot be combined with subset_of`,
  );
  writeFileSync(policyFile, '{ not json');
  err = await commandError(t, federationCommand('set-policy', { entity: 'gd', subject: GZ, policy: policyFile }, ctx));
  t.regex(err.message, /not valid JSON/);
  // Valid alone, but in conflict with the authority-wide policy: refused by the configuration's validation.
  writeFileSync(policyFile, JSON.stringify({ openid_relying_party: { token_endpoint_auth_method: { value: 'none' } } }));
  err = await commandError(t, federationCommand('set-policy', { entity: 'gd', subject: GZ, policy: policyFile }, ctx));
  t.regex(
    err.message,
    /subordinates\[2\]\.metadata_policy\.openid_relying_party\.token_endpoint_auth_method: cannot be combined with the authority-wide metadata_policy/,
  );
  t.is(readFileSync(authorityConfigPath(dataDir, 'gd'), 'utf8'), before);

  writeFileSync(policyFile, JSON.stringify({ openid_provider: { id_token_signing_alg_values_supported: { subset_of: ['ES256'] } } }));
  out = (await federationCommand('set-policy', { entity: 'gd', subject: GZ, policy: policyFile }, ctx)) as Summary;
  const gz = (summary: Summary) => summary.subordinates.find((s) => s.entity_id === GZ)!;
  t.deepEqual((gz(out).metadata_policy as any).openid_provider, {
    id_token_signing_alg_values_supported: { subset_of: ['ES256'] },
  });

  // {} removes a policy; without --subject, set-policy sets the authority-wide one.
  writeFileSync(policyFile, '{}');
  out = (await federationCommand('set-policy', { entity: 'gd', subject: GZ, policy: policyFile }, ctx)) as Summary;
  t.is(gz(out).own_metadata_policy, undefined);
  out = (await federationCommand('set-policy', { entity: 'gd', policy: policyFile }, ctx)) as Summary;
  t.is(out.metadata_policy, null);
  t.is(gz(out).metadata_policy, null);

  out = (await federationCommand('remove-subordinate', { entity: 'gd', subject: rp }, ctx)) as Summary;
  t.false(out.subordinates.some((s) => s.entity_id === rp));
  t.regex(
    (await commandError(t, federationCommand('remove-subordinate', { entity: 'gd', subject: rp }, ctx))).message,
    /is not a subordinate of gd/,
  );
  t.regex(
    (await commandError(t, federationCommand('set-policy', { entity: 'gd', subject: rp, policy: policyFile }, ctx))).message,
    /add it first/,
  );
  t.regex((await commandError(t, federationCommand('set-policy', { entity: 'gd', subject: GZ }, ctx))).message, /needs --policy/);
});
