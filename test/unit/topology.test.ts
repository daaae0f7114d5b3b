/**
 * federation/topology.ts: the demo topology and the validation of topology files.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../infra/errors.ts';
import { DEFAULT_TOPOLOGY, describeTopology, loadTopology, parseTopology, type Entity } from '../../federation/topology.ts';

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
  tier: e.tier,
  province: e.province,
  mode: e.mode,
  superior: e.superior,
  port: e.port,
  url: e.url,
  issuer: e.issuer,
});

test('the demo topology has the documented entities, in order', (t) => {
  const topology = loadTopology();
  t.is(topology.name, 'demo');
  t.is(topology.host, '127.0.0.1');
  t.deepEqual(topology.entities.map(pick), [
    {
      id: 'national',
      kind: 'op',
      tier: 'national',
      province: null,
      mode: null,
      superior: null,
      port: 7000,
      url: 'http://127.0.0.1:7000',
      issuer: 'http://127.0.0.1:7000',
    },
    {
      id: 'gd',
      kind: 'op',
      tier: 'province',
      province: 'gd',
      mode: 'separate',
      superior: 'national',
      port: 7100,
      url: 'http://127.0.0.1:7100',
      issuer: 'http://127.0.0.1:7100',
    },
    {
      id: 'gz',
      kind: 'op',
      tier: 'city',
      province: 'gd',
      mode: 'separate',
      superior: 'gd',
      port: 7101,
      url: 'http://127.0.0.1:7101',
      issuer: 'http://127.0.0.1:7101',
    },
    {
      id: 'sz',
      kind: 'op',
      tier: 'city',
      province: 'gd',
      mode: 'separate',
      superior: 'gd',
      port: 7102,
      url: 'http://127.0.0.1:7102',
      issuer: 'http://127.0.0.1:7102',
    },
    {
      id: 'js',
      kind: 'op',
      tier: 'province',
      province: 'js',
      mode: 'hybrid',
      superior: 'national',
      port: 7200,
      url: 'http://127.0.0.1:7200',
      issuer: 'http://127.0.0.1:7200',
    },
    // Hybrid-mode cities have portals only, under their province.
    {
      id: 'nj',
      kind: 'portal',
      tier: 'city',
      province: 'js',
      mode: 'hybrid',
      superior: 'js',
      port: 7201,
      url: 'http://127.0.0.1:7201',
      issuer: null,
    },
    {
      id: 'wx',
      kind: 'portal',
      tier: 'city',
      province: 'js',
      mode: 'hybrid',
      superior: 'js',
      port: 7202,
      url: 'http://127.0.0.1:7202',
      issuer: null,
    },
    {
      id: 'zj',
      kind: 'op',
      tier: 'province',
      province: 'zj',
      mode: 'unified',
      superior: 'national',
      port: 7300,
      url: 'http://127.0.0.1:7300',
      issuer: 'http://127.0.0.1:7300',
    },
    // The services entity is a leaf under the national trust anchor (authority hint), with no issuer.
    {
      id: 'registries',
      kind: 'services',
      tier: 'national',
      province: null,
      mode: null,
      superior: 'national',
      port: 7900,
      url: 'http://127.0.0.1:7900',
      issuer: null,
    },
  ]);
});

test('the demo topology: ops(), services(), get() by id and by URL, display names', (t) => {
  const topology = loadTopology(DEFAULT_TOPOLOGY);
  t.deepEqual(
    topology.ops().map((e) => e.id),
    ['national', 'gd', 'gz', 'sz', 'js', 'zj'],
  );
  t.is(topology.services().id, 'registries');
  t.is(topology.get('gz').superior, 'gd');
  t.is(topology.get('http://127.0.0.1:7101').id, 'gz');
  t.is(topology.get('http://127.0.0.1:7101/').id, 'gz');
  t.deepEqual(topology.get('gd').name, { 'zh-CN': '广东省政务服务网', en: 'Guangdong Government Services' });
  // Cities of the hybrid province are portals, not OPs: their accounts live at js.
  t.deepEqual(
    topology.entities.filter((e) => e.kind === 'portal').map((e) => e.id),
    ['nj', 'wx'],
  );
  const err = t.throws(() => topology.get('hz'), { instanceOf: ConfigurationError });
  t.is(err.path, '--entity');
  t.regex(err.message, /known: national, gd, gz, sz, js, nj, wx, zj, registries/);
});

test('describeTopology prints the public fields of every entity, without ports', (t) => {
  const described = describeTopology(loadTopology());
  t.is(described.length, 9);
  t.deepEqual(Object.keys(described[2]!).sort(), ['id', 'issuer', 'kind', 'mode', 'name', 'province', 'superior', 'tier', 'url']);
  t.is(described[2]!.id, 'gz');
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
    tier: 'city',
    province: 'js',
    mode: 'hybrid',
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
