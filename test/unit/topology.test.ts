/**
 * federation/topology.ts: the demo topology and the validation of topology files.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../infra/errors.ts';
import { DEFAULT_TOPOLOGY, describeTopology, loadTopology, parseTopology, regionsAbove, type Entity } from '../../federation/topology.ts';

/** A fresh, mutable copy of the demo file. */
type Raw = any;
const demoRaw = (): Raw => JSON.parse(readFileSync(DEFAULT_TOPOLOGY, 'utf8'));

const tempDirs: string[] = [];
test.after.always(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gov-id-unit-topology-'));
  tempDirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

function refusal(raw: unknown, source?: string): ConfigurationError {
  try {
    parseTopology(raw, source);
  } catch (err) {
    if (err instanceof ConfigurationError) return err;
    throw err;
  }
  throw new Error('the topology was accepted');
}

const pick = (e: Entity) => ({
  id: e.id,
  kind: e.kind,
  platform: e.platform,
  tier: e.tier,
  province: e.province,
  mode: e.mode,
  region: e.region,
  superior: e.superior,
  port: e.port,
  url: e.url,
  issuer: e.issuer,
});

/** One line per entity: kind, ID, platform, tier, superior, port (the table of docs/topology.md). */
const line = (e: Entity) => `${e.kind} ${e.id} ${e.platform} ${e.tier} ${e.superior ?? '-'} ${e.port}`;

test('the demo topology has the documented entities, in order: each platform with its OP, portal and services entity', (t) => {
  const topology = loadTopology();
  t.is(topology.name, 'demo');
  t.is(topology.host, '127.0.0.1');
  t.deepEqual(topology.entities.map(line), [
    'op national national national - 7000',
    'portal national-portal national national national 7010',
    // The national services entity keeps its code: base registries, outbox and the national catalog.
    'services registries national national national 7900',
    'op gd gd province national 7100',
    // Portals and services entities are leaves under their province's federation authority.
    'portal gd-portal gd province gd 7110',
    'services gd-services gd province gd 7120',
    'op gz gz city gd 7101',
    'portal gz-portal gz city gd 7111',
    'services gz-services gz city gd 7121',
    'op sz sz city gd 7102',
    'portal sz-portal sz city gd 7112',
    'services sz-services sz city gd 7122',
    'op js js province national 7200',
    'portal js-portal js province js 7210',
    'services js-services js province js 7220',
    // Hybrid: the cities have no OP; their portals are fronts of the province's, their management platforms their own.
    'portal nj nj city js 7201',
    'services nj-services nj city js 7221',
    'portal wx wx city js 7202',
    'services wx-services wx city js 7222',
    // Unified: one platform for the province, its cities regions inside it.
    'op zj zj province national 7300',
    'portal zj-portal zj province zj 7310',
    'services zj-services zj province zj 7320',
  ]);
  t.deepEqual(pick(topology.get('gz')), {
    id: 'gz',
    kind: 'op',
    platform: 'gz',
    tier: 'city',
    province: 'gd',
    mode: 'separate',
    region: '440100',
    superior: 'gd',
    port: 7101,
    url: 'http://127.0.0.1:7101',
    issuer: 'http://127.0.0.1:7101',
  });
  t.like(pick(topology.get('nj')), { kind: 'portal', platform: 'nj', region: '320100', mode: 'hybrid', issuer: null });
  t.like(pick(topology.get('registries')), { kind: 'services', platform: 'national', region: '100000', issuer: null });
  t.deepEqual(
    topology.platforms.map((p) => `${p.code}:${p.region}:${p.parent ?? '-'}`),
    [
      'national:100000:-',
      'gd:440000:national',
      'gz:440100:gd',
      'sz:440300:gd',
      'js:320000:national',
      'nj:320100:js',
      'wx:320200:js',
      'zj:330000:national',
    ],
  );
});

test('the demo topology: ops(), services(), servicesOf(), portalOf(), opOf(), get() by id and by URL, display names', (t) => {
  const topology = loadTopology(DEFAULT_TOPOLOGY);
  t.deepEqual(
    topology.ops().map((e) => e.id),
    ['national', 'gd', 'gz', 'sz', 'js', 'zj'],
  );
  t.is(topology.services().id, 'registries');
  t.is(topology.servicesOf('national').id, 'registries');
  t.is(topology.servicesOf('zj').id, 'zj-services');
  t.is(topology.servicesOf('nj').id, 'nj-services');
  t.is(topology.portalOf('gd').id, 'gd-portal');
  t.is(topology.portalOf('nj').id, 'nj', "a hybrid city's portal is its front");
  t.is(topology.opOf('nj').id, 'js', "a hybrid city's accounts live at its province");
  t.is(topology.opOf('gz').id, 'gz');
  t.is(topology.get('gz').superior, 'gd');
  t.is(topology.get('http://127.0.0.1:7101').id, 'gz');
  t.is(topology.get('http://127.0.0.1:7101/').id, 'gz');
  t.deepEqual(topology.get('gd').name, { 'zh-CN': '广东省政务服务网', en: 'Guangdong Government Services' });
  t.deepEqual(topology.get('gd-portal').name, topology.get('gd').name, "a portal carries its platform's name");
  t.is(topology.get('gd-services').name['zh-CN'], '广东省政务服务网（管理平台）');
  t.regex(t.throws(() => topology.servicesOf('hz'), { instanceOf: ConfigurationError }).message, /no platform "hz"/);
  const err = t.throws(() => topology.get('hz'), { instanceOf: ConfigurationError });
  t.is(err.path, '--entity');
  t.regex(err.message, /known: national, national-portal, registries, gd, gd-portal, gd-services, gz, /);
});

test('platformOfRegion: the most specific platform with a services entity whose region holds the division', (t) => {
  const topology = loadTopology();
  const cases: [string, string][] = [
    ['100000', 'national'],
    ['440000', 'gd'],
    ['440100', 'gz'],
    ['440300', 'sz'],
    ['440600', 'gd'], // a city of gd without a platform of its own
    ['320000', 'js'],
    ['320100', 'nj'],
    ['320200', 'wx'],
    ['330000', 'zj'],
    ['330100', 'zj'], // unified: the province's platform keeps its cities' items
    ['110000', 'national'], // a province outside the demo
  ];
  for (const [region, platform] of cases) t.is(topology.platformOfRegion(region), platform, region);
  // Without a services entity of its own, a platform's items stay with the one above.
  const raw = demoRaw();
  delete raw.provinces[0].cities[0].services;
  const fewer = parseTopology(raw);
  t.is(fewer.platformOfRegion('440100'), 'gd');
  t.is(fewer.nearestServices('gz').id, 'gd-services');
});

test('regionsAbove: a county has its city, province and national above it, a city its province and national, national none', (t) => {
  t.deepEqual(regionsAbove('440100'), ['440000', '100000']);
  t.deepEqual(regionsAbove('330106'), ['330100', '330000', '100000']);
  t.deepEqual(regionsAbove('440000'), ['100000']);
  t.deepEqual(regionsAbove('100000'), []);
});

test('a platform with a services entity needs a region that fits its tier and province', (t) => {
  const cases: [(raw: Raw) => void, string, RegExp][] = [
    [(raw) => delete raw.provinces[0].region, 'topology: provinces[0].region', /needs its region/],
    [(raw) => delete raw.provinces[0].cities[1].region, 'topology: provinces[0].cities[1].region', /needs its region/],
    [(raw) => (raw.provinces[0].region = '440100'), 'topology: provinces[0].region', /ends in 0000/],
    [
      (raw) => (raw.provinces[0].cities[0].region = '320500'),
      'topology: provinces[0].cities[0].region',
      /not within its province's region 440000/,
    ],
    [(raw) => (raw.provinces[0].cities[0].region = '440000'), 'topology: provinces[0].cities[0].region', /used twice/],
    [(raw) => (raw.provinces[0].region = '44'), 'topology: provinces[0].region', /six-digit/],
    [(raw) => (raw.national.region = '110000'), 'topology: national.region', /100000/],
    [(raw) => (raw.provinces[1].cities[0].portal = { port: 7211 }), 'topology: provinces[1].cities[0].portal', /branded front/],
    [
      (raw) => (raw.provinces[0].services.port = 7010),
      'topology: provinces[0].services.port',
      /port 7010 is already used by national.portal/,
    ],
  ];
  for (const [change, path, message] of cases) {
    const raw = demoRaw();
    change(raw);
    const err = refusal(raw);
    t.is(err.path, path, path);
    t.regex(err.message, message, path);
  }
  // A file without portals, services entities or regions (as before platforms had them) still describes a federation.
  const bare = demoRaw();
  delete bare.national.portal;
  for (const p of bare.provinces) {
    delete p.region;
    delete p.portal;
    delete p.services;
    for (const c of p.cities ?? []) {
      delete c.region;
      delete c.portal;
      delete c.services;
    }
  }
  const topology = parseTopology(bare);
  t.deepEqual(
    topology.entities.filter((e) => e.kind !== 'op').map((e) => e.id),
    ['registries', 'nj', 'wx'],
  );
  t.is(topology.nearestServices('nj').id, 'registries');
  t.is(topology.platformOfRegion('440100'), 'national');
});

test('describeTopology prints the public fields of every entity, without ports', (t) => {
  const described = describeTopology(loadTopology());
  t.is(described.length, 22);
  t.deepEqual(Object.keys(described[6]!).sort(), [
    'id',
    'issuer',
    'kind',
    'mode',
    'name',
    'platform',
    'province',
    'region',
    'superior',
    'tier',
    'url',
  ]);
  t.is(described[6]!.id, 'gz');
});

test('a hybrid city with a port is a portal under its province; explicit URLs and the ::1 host are used', (t) => {
  const raw = demoRaw();
  raw.host = '::1';
  raw.provinces[1].cities[0].port = 7201;
  raw.provinces[0].url = 'https://gd.example.cn';
  const topology = parseTopology(raw);
  const nj = topology.get('nj');
  t.deepEqual(pick(nj), {
    id: 'nj',
    kind: 'portal',
    platform: 'nj',
    tier: 'city',
    province: 'js',
    mode: 'hybrid',
    region: '320100',
    superior: 'js',
    port: 7201,
    url: 'http://[::1]:7201',
    issuer: null,
  });
  t.false(topology.ops().includes(nj));
  t.is(topology.get('gd').issuer, 'https://gd.example.cn');
  t.is(topology.get('https://gd.example.cn').id, 'gd');
  t.is(topology.get('national').url, 'http://[::1]:7000');
});

test('host defaults to 127.0.0.1 and cities default to none', (t) => {
  const raw = demoRaw();
  delete raw.host;
  delete raw.provinces[1].cities;
  const topology = parseTopology(raw);
  t.is(topology.host, '127.0.0.1');
  t.is(topology.get('js').url, 'http://127.0.0.1:7200');
});

test('a duplicated port is refused, naming the port and the entity that has it', (t) => {
  const raw = demoRaw();
  raw.provinces[0].cities[1].port = 7100; // sz on gd's port
  const err = refusal(raw);
  t.regex(err.message, /port 7100 is already used by gd/);
  t.true(err.path.startsWith('topology: '));
});

test('a duplicated port or code names the field that repeats it', (t) => {
  const port = demoRaw();
  port.provinces[0].cities[1].port = 7100;
  t.is(refusal(port).path, 'topology: provinces[0].cities[1].port');
  const code = demoRaw();
  code.provinces[2].code = 'gz';
  t.is(refusal(code).path, 'topology: provinces[2].code');
});

test('a duplicated port between the services entity and an OP is refused', (t) => {
  const raw = demoRaw();
  raw.services.port = 7000;
  t.regex(refusal(raw).message, /port 7000 is already used by national/);
});

test('a duplicated code is refused, naming the code', (t) => {
  const raw = demoRaw();
  raw.provinces[2].code = 'gz'; // zj renamed to the code of a city of gd
  const err = refusal(raw);
  t.regex(err.message, /the code "gz" is used twice/);

  const services = demoRaw();
  services.services.code = 'national';
  t.regex(refusal(services).message, /the code "national" is used twice/);
});

test('a hybrid city (without port) reusing a code is refused', (t) => {
  const raw = demoRaw();
  raw.provinces[1].cities[1].code = 'nj'; // two cities "nj" in js
  t.regex(refusal(raw).message, /"nj" is used twice/);
});

test('a unified province with cities is refused at its cities field', (t) => {
  const raw = demoRaw();
  raw.provinces[2].cities = [{ code: 'hz', port: 7301, name: { 'zh-CN': '杭州', en: 'Hangzhou' } }];
  const err = refusal(raw);
  t.is(err.path, 'topology: provinces[2].cities');
  t.regex(err.message, /unified province has no city platforms/);
  // An empty list is fine.
  const empty = demoRaw();
  empty.provinces[2].cities = [];
  t.notThrows(() => parseTopology(empty));
});

test('a city of a separate-mode province without a port is refused at its port field', (t) => {
  const raw = demoRaw();
  delete raw.provinces[0].cities[1].port;
  const err = refusal(raw, 'my.json');
  t.is(err.path, 'my.json: provinces[0].cities[1].port');
  t.regex(
    err.message,
    /^my\.json: provinces\[0\]\.cities\[1\]\.port: a city of a separate-mode province runs its own OP and needs a port$/,
  );
});

test('a bad mode value is refused at its mode field', (t) => {
  const raw = demoRaw();
  raw.provinces[1].mode = 'mixed';
  const err = refusal(raw);
  t.is(err.path, 'topology: provinces[1].mode');
  t.regex(err.message, /separate/);
});

test('an unknown extra key is refused, naming the key and where it is', (t) => {
  const root = demoRaw();
  root.colour = 'red';
  const rootErr = refusal(root);
  t.is(rootErr.path, 'topology: (root)');
  t.regex(rootErr.message, /colour/);

  const city = demoRaw();
  city.provinces[0].cities[0].colour = 'red';
  const cityErr = refusal(city);
  t.is(cityErr.path, 'topology: provinces[0].cities[0]');
  t.regex(cityErr.message, /colour/);

  const name = demoRaw();
  name.national.name.fr = 'Plateforme';
  t.is(refusal(name).path, 'topology: national.name');
});

test('other field errors name their field', (t) => {
  const cases: [(raw: Raw) => void, string][] = [
    [(raw) => (raw.provinces[0].code = 'GD'), 'topology: provinces[0].code'],
    [(raw) => (raw.provinces[0].cities[0].port = 70000), 'topology: provinces[0].cities[0].port'],
    [(raw) => (raw.national.port = '7000'), 'topology: national.port'],
    [(raw) => (raw.national.url = 'http://127.0.0.1:7000/'), 'topology: national.url'],
    [(raw) => (raw.services.url = 'ftp://127.0.0.1'), 'topology: services.url'],
    [(raw) => (raw.host = '0.0.0.0'), 'topology: host'],
    [(raw) => (raw.provinces = []), 'topology: provinces'],
    [(raw) => delete raw.name, 'topology: name'],
    [(raw) => delete raw.provinces[1].name.en, 'topology: provinces[1].name.en'],
  ];
  for (const [change, path] of cases) {
    const raw = demoRaw();
    change(raw);
    t.is(refusal(raw).path, path);
  }
  t.is(refusal(null).path, 'topology: (root)');
  t.is(refusal([]).path, 'topology: (root)');
});

test('loadTopology refuses a file that is not JSON, naming the file', (t) => {
  const file = tempFile('broken.json', '{ "name": "demo", ');
  const err = t.throws(() => loadTopology(file), { instanceOf: ConfigurationError });
  t.is(err.path, file);
  t.regex(err.message, /not valid JSON/);
});

test('loadTopology refuses a missing file, naming the file and the reason', (t) => {
  const file = join(tmpdir(), `gov-id-unit-missing-${process.pid}-${Date.now()}.json`);
  const err = t.throws(() => loadTopology(file), { instanceOf: ConfigurationError });
  t.is(err.path, file);
  t.regex(err.message, /ENOENT/);
});

test('loadTopology reports field errors under the file name', (t) => {
  const raw = demoRaw();
  raw.provinces[1].mode = 'mixed';
  const file = tempFile('bad-mode.json', JSON.stringify(raw));
  const err = t.throws(() => loadTopology(file), { instanceOf: ConfigurationError });
  t.is(err.path, `${file}: provinces[1].mode`);
});

test('a valid file loads from disk like the demo', (t) => {
  const file = tempFile('copy.json', readFileSync(DEFAULT_TOPOLOGY, 'utf8'));
  t.deepEqual(loadTopology(file).entities.map(pick), loadTopology().entities.map(pick));
});
