/**
 * federation/trust-marks.ts (issuing and validating Trust Marks, OpenID Federation 1.0 §7), the
 * Trust Mark Issuer's configuration and status decisions (federation/trust-mark-issuer.ts), and
 * `gov-id federation trust-marks` (cli/trust-mark-command.ts). Keys are ES256 test keys.
 */
import test, { type ExecutionContext } from 'ava';
import { base64url, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicJwk, type PrivateJwk } from '../../infra/entity-keys.ts';
import { FEDERATION_DEFAULTS } from '../../federation/federation-defaults.ts';
import { ConfigurationError } from '../../infra/errors.ts';
import type { Logger } from '../../infra/log.ts';
import { loadTopology } from '../../federation/topology.ts';
import {
  GOVERNMENT_PORTAL,
  govIdTrustMarkType,
  issueTrustMark,
  loaWithin,
  parseMaxLoa,
  REAL_NAME_OP,
  requireTrustMark,
  TRUST_MARK_DELEGATION_TYP,
  TRUST_MARK_TYP,
  TrustMarkError,
  trustAnchorTrustMarkConfig,
  verifyEntityTrustMarks,
  verifyTrustMark,
  type TrustMarkCheck,
  type VerifyTrustMarkOptions,
} from '../../federation/trust-marks.ts';
import {
  defaultTrustMarkConfig,
  parseTrustMarkConfig,
  readTrustMarkConfigFile,
  saveTrustMarkConfig,
  TrustMarkConfigWatcher,
  TrustMarkIssuer,
  trustMarkConfigPath,
  trustMarkIssuersClaim,
  watchTrustMarkConfig,
  type TrustMarkIssuerConfig,
} from '../../federation/trust-mark-issuer.ts';
import { trustMarkCommand, TrustMarkCommandError } from '../../cli/trust-mark-command.ts';

const topology = loadTopology();
const url = (id: string) => topology.get(id).url;
const NATIONAL = url('national');
const GD = url('gd');
const GZ = url('gz');
const NOW = 1_800_000_000;

async function newKey(kid: string): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

let nationalKey: PrivateJwk;
let otherKey: PrivateJwk;
let impostorKey: PrivateJwk; // same kid as national's, different key
test.before(async () => {
  nationalKey = await newKey('national-1');
  otherKey = await newKey('other-1');
  impostorKey = await newKey('national-1');
});

const tempDirs: string[] = [];
test.after.always(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gov-id-unit-trust-marks-'));
  tempDirs.push(dir);
  return dir;
}

const anchor = () => ({ entityId: NATIONAL, trust_mark_issuers: trustMarkIssuersClaim(NATIONAL) });
const verifyOpts = (extra: Partial<VerifyTrustMarkOptions> = {}): VerifyTrustMarkOptions => ({
  issuerKeys: { keys: [publicJwk(nationalKey)] },
  trustAnchor: anchor(),
  now: NOW,
  ...extra,
});

function gzMark(extra: Partial<Parameters<typeof issueTrustMark>[0]> = {}): Promise<string> {
  return issueTrustMark({
    issuer: NATIONAL,
    subject: GZ,
    trustMarkType: REAL_NAME_OP,
    keys: [nationalKey],
    maxLoa: 'loa2',
    now: NOW,
    ...extra,
  });
}

/** Signs arbitrary header and claims (for marks issueTrustMark would not make). */
async function signRaw(header: Record<string, unknown>, claims: Record<string, unknown>, key = nationalKey): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: TRUST_MARK_TYP, ...header })
    .sign(await importJWK(key, 'ES256'));
}

async function rejects(t: ExecutionContext, p: Promise<unknown>, check: TrustMarkCheck, detail?: RegExp): Promise<TrustMarkError> {
  const err = await t.throwsAsync(p, { instanceOf: TrustMarkError });
  t.is(err!.check, check, err!.message);
  if (detail) t.regex(err!.message, detail);
  return err!;
}

// ---------------------------------------------------------------------------------------------
// Issue and verify
// ---------------------------------------------------------------------------------------------

test('a real-name-op mark is a trust-mark+jwt with iss, sub, trust_mark_type, iat, exp and max_loa, and verifies', async (t) => {
  const jwt = await gzMark({ ref: 'https://gov-id.example/docs/real-name-op', logoUri: 'https://gov-id.example/logo.svg' });
  t.deepEqual(decodeProtectedHeader(jwt), { alg: 'ES256', kid: 'national-1', typ: 'trust-mark+jwt' });
  t.deepEqual(decodeJwt(jwt), {
    iss: NATIONAL,
    sub: GZ,
    trust_mark_type: 'https://gov-id.example/trust-marks/real-name-op',
    iat: NOW,
    exp: NOW + FEDERATION_DEFAULTS.trustMarkLifetimeSeconds,
    max_loa: 'loa2',
    logo_uri: 'https://gov-id.example/logo.svg',
    ref: 'https://gov-id.example/docs/real-name-op',
  });
  const claims = await verifyTrustMark(jwt, verifyOpts({ expectedType: REAL_NAME_OP, subject: GZ, expectedIssuer: NATIONAL }));
  t.is(claims.max_loa, 'loa2');
  t.is(claims.sub, GZ);
  // The issuer's keys may also come from a resolver.
  t.is(
    (await verifyTrustMark(jwt, verifyOpts({ issuerKeys: async (iss) => (iss === NATIONAL ? { keys: [publicJwk(nationalKey)] } : null) })))
      .iss,
    NATIONAL,
  );
});

test('a government-portal mark has no max_loa; notAfter caps exp; a mark may have no exp at all', async (t) => {
  const portal = await issueTrustMark({
    issuer: NATIONAL,
    subject: 'https://portal.sz.gov.cn',
    trustMarkType: GOVERNMENT_PORTAL,
    keys: [nationalKey],
    now: NOW,
    notAfter: NOW + 100,
  });
  const claims = await verifyTrustMark(portal, verifyOpts({ expectedType: GOVERNMENT_PORTAL, subject: 'https://portal.sz.gov.cn' }));
  t.is(claims.exp, NOW + 100);
  t.false('max_loa' in claims);
  const forever = await gzMark({ lifetimeSeconds: null });
  t.false('exp' in decodeJwt(forever));
  t.truthy(await verifyTrustMark(forever, verifyOpts({ now: NOW + 10 * 365 * 86400 })));
});

test('the wrong type is refused', async (t) => {
  await rejects(
    t,
    verifyTrustMark(await gzMark(), verifyOpts({ expectedType: GOVERNMENT_PORTAL })),
    'type',
    /trust_mark_type is https:\/\/gov-id\.example\/trust-marks\/real-name-op, expected .*government-portal/,
  );
});

test('a mark about another entity is refused (sub must be the entity whose configuration holds it)', async (t) => {
  await rejects(t, verifyTrustMark(await gzMark(), verifyOpts({ subject: GD })), 'subject', new RegExp(`issued to ${GZ}, not to ${GD}`));
});

test('the wrong issuer is refused: not the expected one, not listed by the trust anchor, or its keys unknown', async (t) => {
  const fromGd = await issueTrustMark({ issuer: GD, subject: GZ, trustMarkType: REAL_NAME_OP, keys: [otherKey], maxLoa: 'loa3', now: NOW });
  await rejects(
    t,
    verifyTrustMark(fromGd, verifyOpts({ issuerKeys: { keys: [publicJwk(otherKey)] }, expectedIssuer: NATIONAL })),
    'issuer',
    /issued by .*, expected/,
  );
  // trust_mark_issuers lists only national for real-name-op.
  await rejects(
    t,
    verifyTrustMark(fromGd, verifyOpts({ issuerKeys: { keys: [publicJwk(otherKey)] } })),
    'untrusted_issuer',
    /is not an issuer of .*real-name-op/,
  );
  // An empty list means anyone may issue that type.
  t.truthy(
    await verifyTrustMark(
      fromGd,
      verifyOpts({
        issuerKeys: { keys: [publicJwk(otherKey)] },
        trustAnchor: { entityId: NATIONAL, trust_mark_issuers: { [REAL_NAME_OP]: [] } },
      }),
    ),
  );
  // A type the anchor does not list is not recognized in this federation.
  const foreign = await issueTrustMark({
    issuer: NATIONAL,
    subject: GZ,
    trustMarkType: 'https://other.example/marks/x',
    keys: [nationalKey],
    now: NOW,
  });
  await rejects(
    t,
    verifyTrustMark(foreign, verifyOpts()),
    'untrusted_issuer',
    /does not recognize trust mark type https:\/\/other\.example\/marks\/x/,
  );
  // The key resolver does not trust the issuer.
  await rejects(t, verifyTrustMark(await gzMark(), verifyOpts({ issuerKeys: async () => null })), 'issuer', /not trusted/);
});

test('an expired mark is refused; 60 seconds of clock skew are allowed; a mark from the future is refused', async (t) => {
  const jwt = await gzMark({ lifetimeSeconds: 3600 });
  t.truthy(await verifyTrustMark(jwt, verifyOpts({ now: NOW + 3600 + 30 })));
  await rejects(t, verifyTrustMark(jwt, verifyOpts({ now: NOW + 3600 + 61 })), 'expired', /expired at /);
  await rejects(t, verifyTrustMark(jwt, verifyOpts({ now: NOW - 120 })), 'not_yet_valid');
});

test('a bad signature is refused: another key under the same kid, an unknown kid, a changed payload', async (t) => {
  await rejects(
    t,
    verifyTrustMark(await gzMark({ keys: [impostorKey] }), verifyOpts()),
    'signature',
    /does not validate with key national-1/,
  );
  await rejects(t, verifyTrustMark(await gzMark({ keys: [otherKey] }), verifyOpts()), 'signature', /signing key other-1 is not among/);
  const [h, , s] = (await gzMark()).split('.');
  const forged = base64url.encode(JSON.stringify({ ...decodeJwt(await gzMark()), max_loa: 'loa3' }));
  await rejects(t, verifyTrustMark(`${h}.${forged}.${s}`, verifyOpts()), 'signature');
  // The signature is checked before the times: a forged expired mark is a bad signature.
  await rejects(t, verifyTrustMark(await gzMark({ keys: [impostorKey] }), verifyOpts({ now: NOW + 10 * 86400 })), 'signature');
});

test('typ, alg and kid headers are enforced, and malformed input is named', async (t) => {
  const claims = { iss: NATIONAL, sub: GZ, trust_mark_type: REAL_NAME_OP, iat: NOW, max_loa: 'loa2' };
  await rejects(
    t,
    verifyTrustMark(await signRaw({ typ: 'entity-statement+jwt' }, claims), verifyOpts()),
    'typ',
    /typ is "entity-statement\+jwt", not trust-mark\+jwt/,
  );
  await rejects(t, verifyTrustMark(await signRaw({ typ: undefined }, claims), verifyOpts()), 'typ');
  const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: TRUST_MARK_TYP, kid: 'national-1' }))}.${base64url.encode(JSON.stringify(claims))}.AAAA`;
  await rejects(t, verifyTrustMark(none, verifyOpts()), 'alg', /alg "none" is not accepted/);
  await rejects(t, verifyTrustMark(await signRaw({ kid: '' }, claims), verifyOpts()), 'kid');
  await rejects(t, verifyTrustMark('not a jwt', verifyOpts()), 'malformed');
  await rejects(t, verifyTrustMark('a.b', verifyOpts()), 'malformed');
  await rejects(
    t,
    verifyTrustMark(await signRaw({}, { ...claims, trust_mark_type: undefined }), verifyOpts()),
    'claims',
    /trust_mark_type is missing/,
  );
  await rejects(t, verifyTrustMark(await signRaw({}, { ...claims, iat: 'yesterday' }), verifyOpts()), 'claims', /iat/);
  await rejects(t, verifyTrustMark(await signRaw({}, { ...claims, ref: 'not a url' }), verifyOpts()), 'claims', /ref is not a URL/);
});

test('max_loa: parsed strictly, required on real-name-op marks, refused on others', async (t) => {
  t.is(parseMaxLoa('loa1'), 'loa1');
  t.is(parseMaxLoa('loa3'), 'loa3');
  for (const bad of ['loa4', 'LOA2', '2', 2, null, undefined, 'urn:gov-id:loa:2']) t.is(parseMaxLoa(bad), null, String(bad));
  t.true(loaWithin('loa2', 'loa3'));
  t.true(loaWithin('loa3', 'loa3'));
  t.false(loaWithin('loa3', 'loa2'));
  const base = { iss: NATIONAL, sub: GZ, trust_mark_type: REAL_NAME_OP, iat: NOW };
  await rejects(t, verifyTrustMark(await signRaw({}, { ...base, max_loa: 'loa4' }), verifyOpts()), 'max_loa', /"loa4"/);
  await rejects(t, verifyTrustMark(await signRaw({}, base), verifyOpts()), 'max_loa', /max_loa is undefined/);
  await t.throwsAsync(issueTrustMark({ issuer: NATIONAL, subject: GZ, trustMarkType: REAL_NAME_OP, keys: [nationalKey] }), {
    message: /needs maxLoa/,
  });
  await t.throwsAsync(
    issueTrustMark({ issuer: NATIONAL, subject: GZ, trustMarkType: GOVERNMENT_PORTAL, keys: [nationalKey], maxLoa: 'loa2' }),
    { message: /only real-name-op/ },
  );
  t.is(govIdTrustMarkType('real-name-op'), REAL_NAME_OP);
  t.is(govIdTrustMarkType(GOVERNMENT_PORTAL), GOVERNMENT_PORTAL);
  t.is(govIdTrustMarkType('real-name'), null);
});

test('delegation: a type with an owner needs a valid delegation from the owner (§7.2.2)', async (t) => {
  const owner = { sub: 'https://owner.gov-id.example', jwks: { keys: [publicJwk(otherKey)] } };
  const ta = {
    entityId: NATIONAL,
    trust_mark_issuers: { [GOVERNMENT_PORTAL]: [NATIONAL] },
    trust_mark_owners: { [GOVERNMENT_PORTAL]: owner },
  };
  const delegation = async (claims: Record<string, unknown>, key = otherKey, typ = TRUST_MARK_DELEGATION_TYP) =>
    new SignJWT({ iss: owner.sub, sub: NATIONAL, trust_mark_type: GOVERNMENT_PORTAL, iat: NOW, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ })
      .sign(await importJWK(key, 'ES256'));
  const mark = (d?: string) =>
    issueTrustMark({
      issuer: NATIONAL,
      subject: GZ,
      trustMarkType: GOVERNMENT_PORTAL,
      keys: [nationalKey],
      now: NOW,
      ...(d ? { delegation: d } : {}),
    });
  await rejects(t, verifyTrustMark(await mark(), verifyOpts({ trustAnchor: ta })), 'delegation', /a delegation is required/);
  t.truthy(await verifyTrustMark(await mark(await delegation({})), verifyOpts({ trustAnchor: ta })));
  await rejects(
    t,
    verifyTrustMark(await mark(await delegation({}, nationalKey)), verifyOpts({ trustAnchor: ta })),
    'delegation',
    /signing key national-1/,
  );
  await rejects(
    t,
    verifyTrustMark(await mark(await delegation({ sub: GD })), verifyOpts({ trustAnchor: ta })),
    'delegation',
    /not for the issuer/,
  );
  await rejects(
    t,
    verifyTrustMark(await mark(await delegation({ exp: NOW - 3600 })), verifyOpts({ trustAnchor: ta })),
    'delegation',
    /expired/,
  );
  await rejects(
    t,
    verifyTrustMark(await mark(await delegation({}, otherKey, TRUST_MARK_TYP)), verifyOpts({ trustAnchor: ta })),
    'delegation',
    /typ/,
  );
});

test("an entity's marks: invalid ones are set aside with the reason; requireTrustMark checks type and level", async (t) => {
  const good = await gzMark();
  const forged = await gzMark({ keys: [impostorKey] });
  const marks = [{ trust_mark_type: REAL_NAME_OP, trust_mark: forged }, { trust_mark_type: REAL_NAME_OP, trust_mark: good }, 'junk'];
  const { valid, rejected } = await verifyEntityTrustMarks(GZ, marks, verifyOpts());
  t.deepEqual([...valid.keys()], [REAL_NAME_OP]);
  t.deepEqual(
    rejected.map((r) => r.check),
    ['signature', 'malformed'],
  );
  t.is((await requireTrustMark(GZ, marks, REAL_NAME_OP, { ...verifyOpts(), minLoa: 'loa2' })).max_loa, 'loa2');
  await rejects(
    t,
    requireTrustMark(GZ, marks, REAL_NAME_OP, { ...verifyOpts(), minLoa: 'loa3' }),
    'max_loa',
    /loa3 is above the max_loa loa2/,
  );
  await rejects(t, requireTrustMark(GZ, marks, GOVERNMENT_PORTAL, verifyOpts()), 'missing', /has no valid government-portal trust mark/);
  const onlyForged = await rejects(t, requireTrustMark(GZ, [marks[0]], REAL_NAME_OP, verifyOpts()), 'missing');
  t.regex(onlyForged.message, /signature/);
  // GD's configuration cannot carry GZ's mark.
  await rejects(t, requireTrustMark(GD, [marks[1]], REAL_NAME_OP, verifyOpts()), 'missing', /subject/);
});

test("trustAnchorTrustMarkConfig reads trust_mark_issuers from the anchor's entity configuration claims", (t) => {
  const config = trustAnchorTrustMarkConfig({ iss: NATIONAL, sub: NATIONAL, trust_mark_issuers: trustMarkIssuersClaim(NATIONAL) });
  t.deepEqual(config, { entityId: NATIONAL, trust_mark_issuers: { [REAL_NAME_OP]: [NATIONAL], [GOVERNMENT_PORTAL]: [NATIONAL] } });
});

// ---------------------------------------------------------------------------------------------
// The issuer's configuration
// ---------------------------------------------------------------------------------------------

test('the default configuration gives every OP real-name-op (loa2 for cities, loa3 above), every portal government-portal, and nothing to others', (t) => {
  const config = defaultTrustMarkConfig(topology);
  t.notThrows(() => parseTrustMarkConfig(config));
  const loa = (id: string) => config.marks.find((m) => m.sub === url(id))?.max_loa;
  t.is(loa('national'), 'loa3');
  t.is(loa('gd'), 'loa3');
  t.is(loa('js'), 'loa3');
  t.is(loa('gz'), 'loa2');
  t.is(loa('sz'), 'loa2');
  const ops = new Set(topology.ops().map((e) => url(e.id)));
  const portals = topology.entities.filter((e) => e.kind === 'portal').map((e) => url(e.id));
  t.deepEqual(portals, ['national-portal', 'gd-portal', 'gz-portal', 'sz-portal', 'js-portal', 'nj', 'wx', 'zj-portal'].map(url));
  t.true(config.marks.filter((m) => ops.has(m.sub)).every((m) => m.trust_mark_type === REAL_NAME_OP));
  t.deepEqual(
    config.marks.filter((m) => m.trust_mark_type === GOVERNMENT_PORTAL).map((m) => m.sub),
    portals,
  );
  t.is(config.marks.length, ops.size + portals.length);
  t.false(config.marks.some((m) => m.sub === url('registries') || m.sub === url('gd-services')));
});

function refusal(raw: unknown): ConfigurationError {
  try {
    parseTrustMarkConfig(raw, 'trust-marks.json');
  } catch (err) {
    if (err instanceof ConfigurationError) return err;
    throw err;
  }
  throw new Error('the configuration was accepted');
}

const rn = (extra: Record<string, unknown> = {}) => ({ trust_mark_type: REAL_NAME_OP, sub: GZ, max_loa: 'loa2', ...extra });
const configCases: [string, unknown, string, RegExp][] = [
  ['missing marks', {}, 'marks', /must be an array \(missing\)/],
  ['a bad max_loa', { marks: [rn({ max_loa: 'loa4' })] }, 'marks[0].max_loa', /must be one of loa1, loa2, loa3/],
  [
    'real-name-op without max_loa',
    { marks: [rn({ max_loa: undefined })] },
    'marks[0].max_loa',
    /needs max_loa, the highest level of assurance/,
  ],
  [
    'max_loa on a portal mark',
    { marks: [{ trust_mark_type: GOVERNMENT_PORTAL, sub: GZ, max_loa: 'loa1' }] },
    'marks[0].max_loa',
    /only real-name-op marks carry max_loa/,
  ],
  [
    'an unknown type',
    { marks: [rn({ trust_mark_type: 'real-name-op' })] },
    'marks[0].trust_mark_type',
    /must be one of the trust mark types this issuer issues/,
  ],
  ['a sub with a trailing slash', { marks: [rn({ sub: GZ + '/' })] }, 'marks[0].sub', /must not end with a slash/],
  ['a plain http sub off loopback', { marks: [rn({ sub: 'http://gz.gd.gov.cn' })] }, 'marks[0].sub', /must use https/],
  ['a misspelt field', { marks: [rn({ max_lao: 'loa2' })] }, 'marks[0].max_lao', /is not a field of the trust mark configuration/],
  ['a stored JWT', { marks: [rn({ trust_mark: 'eyJ' })] }, 'marks[0].trust_mark', /is not stored/],
  ['a date without time zone', { marks: [rn({ expires_at: '2030-01-01' })] }, 'marks[0].expires_at', /with a time zone/],
  ['revoked not a boolean', { marks: [rn({ revoked: 'yes' })] }, 'marks[0].revoked', /must be a boolean/],
  ['the same mark twice', { marks: [rn(), rn({ max_loa: 'loa1' })] }, 'marks[1].sub', /already has a .*real-name-op entry \(marks\[0\]\)/],
];
for (const [title, raw, path, reason] of configCases) {
  test(`configuration refused: ${title}`, (t) => {
    const err = refusal(raw);
    t.is(err.path, `trust-marks.json: ${path}`, err.message);
    t.regex(err.message, reason);
  });
}

test('a configuration file that is not JSON is refused with the file name', (t) => {
  const file = join(tempDir(), 'trust-marks.json');
  writeFileSync(file, '{ "marks": [ }');
  t.throws(() => readTrustMarkConfigFile(file), { instanceOf: ConfigurationError, message: new RegExp(`^${file}: not valid JSON`) });
});

function captureLog(): { log: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const make = (): Logger => ({
    debug: (msg) => void lines.push({ level: 'debug', msg }),
    info: (msg) => void lines.push({ level: 'info', msg }),
    warn: (msg) => void lines.push({ level: 'warn', msg }),
    error: (msg) => void lines.push({ level: 'error', msg }),
    child: () => make(),
  });
  return { log: make(), lines };
}

test('the watcher creates the default file, takes a valid edit and refuses an invalid one', (t) => {
  const dir = tempDir();
  const { log, lines } = captureLog();
  const watcher = watchTrustMarkConfig(dir, topology, { log, checkIntervalMs: 0 });
  t.is(watcher.file, trustMarkConfigPath(dir));
  t.deepEqual(watcher.current(), defaultTrustMarkConfig(topology));
  const edited: TrustMarkIssuerConfig = { marks: [{ trust_mark_type: REAL_NAME_OP, sub: GZ, max_loa: 'loa1', revoked: true }] };
  writeFileSync(watcher.file, JSON.stringify(edited));
  t.deepEqual(watcher.current(), edited);
  t.is(watcher.version, 1);
  writeFileSync(watcher.file, '{ "marks": [ { "trust_mark_type": "x" } ] }');
  t.deepEqual(watcher.current(), edited);
  t.is(watcher.version, 1);
  t.true(lines.some((l) => l.level === 'error' && /refused/.test(l.msg)));
  // At start an invalid file is fatal: there is no last good configuration.
  t.throws(() => new TrustMarkConfigWatcher({ file: watcher.file }), {
    instanceOf: ConfigurationError,
    message: /marks\[0\]\.trust_mark_type/,
  });
});

// ---------------------------------------------------------------------------------------------
// The issuer's decisions
// ---------------------------------------------------------------------------------------------

test('issuer: marks only for active grants; status active, revoked, expired, invalid, or not ours', async (t) => {
  const dir = tempDir();
  let now = NOW;
  saveTrustMarkConfig(dir, {
    marks: [
      { trust_mark_type: REAL_NAME_OP, sub: GZ, max_loa: 'loa2' },
      { trust_mark_type: REAL_NAME_OP, sub: GD, max_loa: 'loa3', expires_at: new Date((NOW + 7200) * 1000).toISOString() },
      { trust_mark_type: GOVERNMENT_PORTAL, sub: 'https://portal.sz.gov.cn', revoked: true },
    ],
  });
  const config = watchTrustMarkConfig(dir, topology, { checkIntervalMs: 0 });
  const issuer = new TrustMarkIssuer({ entityId: NATIONAL, keys: [nationalKey], config, now: () => now });
  const gz = (await issuer.issue(REAL_NAME_OP, GZ))!;
  t.is(decodeJwt(gz).max_loa, 'loa2');
  t.is(decodeJwt((await issuer.issue(REAL_NAME_OP, GD))!).exp, NOW + 7200); // capped by expires_at
  t.is(await issuer.issue(GOVERNMENT_PORTAL, 'https://portal.sz.gov.cn'), null); // revoked
  t.is(await issuer.issue(GOVERNMENT_PORTAL, GZ), null); // never granted
  t.is(await issuer.issue('https://other.example/x', GZ), null);
  t.deepEqual(issuer.list(REAL_NAME_OP), [GZ, GD]);
  t.deepEqual(issuer.list(REAL_NAME_OP, GD), [GD]);
  t.deepEqual(issuer.list(GOVERNMENT_PORTAL), []);
  t.is(issuer.list('https://other.example/x'), null);

  t.is(await issuer.status(gz), 'active');
  t.is(await issuer.status(await gzMark({ keys: [impostorKey] })), 'invalid');
  t.is(
    await issuer.status(
      await issueTrustMark({ issuer: GD, subject: GZ, trustMarkType: REAL_NAME_OP, keys: [otherKey], maxLoa: 'loa2', now: NOW }),
    ),
    null,
  );
  await t.throwsAsync(issuer.status('garbage'), { instanceOf: TrustMarkError });
  t.is(await issuer.status(await gzMark({ now: NOW - 2 * 86400 })), 'expired');
  const gd = (await issuer.issue(REAL_NAME_OP, GD))!;
  now = NOW + 7200; // the grant's expires_at
  t.is(await issuer.status(gd), 'expired');
  t.deepEqual(issuer.list(REAL_NAME_OP), [GZ]);
  now = NOW;

  // A lowered max_loa supersedes the marks issued before; a removed grant revokes them.
  saveTrustMarkConfig(dir, { marks: [{ trust_mark_type: REAL_NAME_OP, sub: GZ, max_loa: 'loa1' }] });
  t.is(await issuer.status(gz), 'revoked');
  t.is(await issuer.status(gd), 'revoked');
});

// ---------------------------------------------------------------------------------------------
// gov-id federation trust-marks
// ---------------------------------------------------------------------------------------------

test("trust-marks list, grant and revoke edit the issuer's file", async (t) => {
  const dataDir = tempDir();
  const ctx = { topology, dataDir, now: () => NOW };
  const listed = (await trustMarkCommand('list', { sub: 'gz' }, ctx)) as {
    file: string;
    marks: Record<string, unknown>[];
    endpoints: Record<string, string>;
  };
  t.is(listed.file, trustMarkConfigPath(dataDir));
  t.deepEqual(listed.marks, [
    { type: 'real-name-op', trust_mark_type: REAL_NAME_OP, sub: GZ, entity: 'gz', max_loa: 'loa2', state: 'active' },
  ]);
  t.is(listed.endpoints.federation_trust_mark_status_endpoint, `${NATIONAL}/federation/trust-mark/status`);

  const upgraded = (await trustMarkCommand('grant', { sub: GZ, type: 'real-name-op', 'max-loa': 'loa3' }, ctx)) as Record<string, any>;
  t.is(upgraded.updated.max_loa, 'loa3');
  const portal = (await trustMarkCommand(
    'grant',
    { subject: 'https://portal.sz.gov.cn', type: 'government-portal', 'expires-at': '2030-01-01T00:00:00+08:00' },
    ctx,
  )) as Record<string, any>;
  t.deepEqual(portal.granted, {
    type: 'government-portal',
    trust_mark_type: GOVERNMENT_PORTAL,
    sub: 'https://portal.sz.gov.cn',
    expires_at: '2030-01-01T00:00:00+08:00',
    state: 'active',
  });
  const revoked = (await trustMarkCommand('revoke', { sub: 'https://portal.sz.gov.cn', type: GOVERNMENT_PORTAL }, ctx)) as Record<
    string,
    any
  >;
  t.is(revoked.revoked.state, 'revoked');
  const file = JSON.parse(readFileSync(trustMarkConfigPath(dataDir), 'utf8')) as TrustMarkIssuerConfig;
  t.deepEqual(
    file.marks.find((m) => m.sub === 'https://portal.sz.gov.cn'),
    { trust_mark_type: GOVERNMENT_PORTAL, sub: 'https://portal.sz.gov.cn', expires_at: '2030-01-01T00:00:00+08:00', revoked: true },
  );
  t.is(file.marks.find((m) => m.sub === GZ)!.max_loa, 'loa3');
  // Granting again lifts the revocation.
  const again = (await trustMarkCommand('grant', { sub: 'https://portal.sz.gov.cn', type: 'government-portal' }, ctx)) as Record<
    string,
    any
  >;
  t.is(again.updated.state, 'active');
  // A real-name-op grant to a non-OP topology entity is made, with a warning.
  const services = (await trustMarkCommand('grant', { sub: 'registries', type: 'real-name-op', 'max-loa': 'loa1' }, ctx)) as Record<
    string,
    any
  >;
  t.regex(services.warnings[0], /registries is a services in the topology, not an OpenID Provider/);
});

test('trust-marks command errors say what to do', async (t) => {
  const ctx = { topology, dataDir: tempDir(), now: () => NOW };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['grant', { type: 'real-name-op' }, /grant needs --sub/],
    ['grant', { sub: 'gz' }, /grant needs --type/],
    [
      'grant',
      { sub: 'gz', type: 'real-name' },
      /--type: "real-name" is not a trust mark type of this federation; use real-name-op or government-portal/,
    ],
    ['grant', { sub: 'https://op.example.cn', type: 'real-name-op' }, /needs --max-loa \(loa1, loa2 or loa3\)/],
    ['grant', { sub: 'gz', type: 'real-name-op', 'max-loa': 'loa5' }, /--max-loa: "loa5" must be one of loa1, loa2, loa3/],
    ['grant', { sub: 'gz', type: 'government-portal', 'max-loa': 'loa2' }, /only real-name-op marks carry/],
    ['grant', { sub: 'gz', type: 'real-name-op', 'expires-at': '2000-01-01T00:00:00Z' }, /is in the past/],
    ['grant', { sub: 'nowhere', type: 'real-name-op' }, /--sub: "nowhere" is neither a URL nor an entity/],
    ['grant', { sub: 'gz', subject: 'gd', type: 'real-name-op' }, /give only one of --sub, --subject/],
    ['revoke', { sub: 'gz', type: 'government-portal' }, /has no government-portal trust mark to revoke; it has real-name-op/],
    ['revoke', { sub: 'http://gz.gd.gov.cn', type: 'government-portal' }, /must use https/],
    ['withdraw', {}, /unknown federation trust-marks command "withdraw"; use one of list, grant, revoke/],
  ];
  for (const [action, values, message] of cases) {
    await t.throwsAsync(
      trustMarkCommand(action, values, ctx),
      { instanceOf: TrustMarkCommandError, message },
      `${action} ${JSON.stringify(values)}`,
    );
  }
  // A broken file is reported with its field.
  writeFileSync(trustMarkConfigPath(ctx.dataDir), JSON.stringify({ marks: [rn({ max_loa: 'high' })] }));
  await t.throwsAsync(trustMarkCommand('list', {}, ctx), {
    instanceOf: TrustMarkCommandError,
    message: /trust-marks\.json: marks\[0\]\.max_loa: must be one of/,
  });
});
