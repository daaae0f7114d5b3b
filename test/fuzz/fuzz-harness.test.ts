/**
 * The fuzz harness itself, against a throwaway HTTP server of known faults: it counts a 5xx and
 * keeps the smallest reproducer, calls an unanswered request a hang, gives the same cases for the
 * same seed, and never names a host outside the machine.
 */
import test from 'ava';
import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { runCampaign } from '../../fuzz/campaign.ts';
import { CLOSED_LOOPBACK, type Catalogue, type Endpoint } from '../../fuzz/endpoints.ts';
import { caseArb, materialize } from '../../fuzz/mutations.ts';
import { foreignHosts } from '../../fuzz/loopback-guard.ts';

/** 500 on a body that is not a JSON object or holds a NUL. */
async function faultyServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let broken = body.includes('\u0000');
      try {
        if (req.method === 'POST' && typeof JSON.parse(body) !== 'object') broken = true;
      } catch {
        broken = true;
      }
      res.statusCode = broken ? 500 : 200;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const catalogue = (origin: string, path: string): Catalogue => {
  const endpoint: Endpoint = {
    entity: 't',
    kind: 'services',
    origin,
    method: 'POST',
    path,
    body: 'json',
    fields: [{ name: 'name', base: ['x'] }],
  };
  return { entities: [], endpoints: [endpoint], urls: [origin, CLOSED_LOOPBACK], names: [] };
};

test('server errors are counted per endpoint, with the smallest request as reproducer', async (t) => {
  const { server, origin } = await faultyServer();
  t.teardown(() => {
    server.close();
    server.closeAllConnections();
  });
  const report = await runCampaign({
    catalogue: catalogue(origin, '/echo'),
    runs: 200,
    seed: 3,
    concurrency: 2,
    hangMs: 10_000,
    allowedHosts: new Set(),
  });
  t.is(report.requests + report.skipped, 200);
  t.true(report.serverErrors > 0);
  t.is(report.hangs, 0);
  const finding = [...report.findings.values()].find((f) => f.path === '/echo')!;
  t.is(finding.outcomes.get('500'), finding.count);
  const sizes = (r: typeof finding.smallest.request) => (r.body?.length ?? 0) + r.target.length;
  t.true(sizes(finding.smallest.request) <= 64, `reproducer of ${sizes(finding.smallest.request)} bytes`);
});

test('a request the server never answers is a hang, and the run still ends', async (t) => {
  // Accepts every connection, reads everything, answers nothing.
  const sockets = new Set<Socket>();
  const silent = createNetServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    silent.close();
    for (const s of sockets) s.destroy();
  });
  const origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const report = await runCampaign({
    catalogue: catalogue(origin, '/hang'),
    runs: 3,
    seed: 1,
    concurrency: 3,
    hangMs: 1_000,
    allowedHosts: new Set(),
  });
  t.is(report.requests, 3);
  t.is(report.hangs, 3);
  t.is(report.serverErrors, 0);
  // Findings are per method sent: method confusion may split them.
  const findings = [...report.findings.values()];
  t.is(
    findings.reduce((n, f) => n + (f.outcomes.get('hang') ?? 0), 0),
    3,
  );
});

test('a seed gives the same requests in the same order', async (t) => {
  const { endpoints, urls } = catalogue('http://127.0.0.1:9', '/echo');
  const first = fc.sample(caseArb(endpoints), { seed: 42, numRuns: 300 });
  t.deepEqual(fc.sample(caseArb(endpoints), { seed: 42, numRuns: 300 }), first);
  // JWTs carry the time and some a fresh signature; every other request is byte for byte the same.
  for (const c of first.filter((c) => !JSON.stringify(c).includes('"plan"'))) {
    t.deepEqual(await materialize(c, endpoints[0]!, urls, null), await materialize(c, endpoints[0]!, urls, null));
  }
});

test('requests name loopback hosts only', async (t) => {
  const { endpoints, urls } = catalogue('http://127.0.0.1:9', '/echo');
  for (const c of fc.sample(caseArb(endpoints), { seed: 7, numRuns: 2000 })) {
    const request = await materialize(c, endpoints[0]!, urls, null);
    t.deepEqual(foreignHosts(request, new Set()), [], JSON.stringify(c));
  }
  const body = (s: string) => ({ method: 'POST', target: '/', headers: [], body: Buffer.from(s) });
  t.deepEqual(foreignHosts(body('{"a":"https:\\/\\/example.org\\/x"}'), new Set()), ['example.org']);
  t.deepEqual(foreignHosts(body('iss=http%3A%2F%2F127.0.0.1%40evil.test%2F'), new Set()), ['evil.test']);
  t.deepEqual(foreignHosts(body('iss=http://localhost:1/&b=http://[::1]:2/'), new Set()), []);
  // A trust mark type is a name: that very string is let through, another URL on its host is not.
  const type = 'https://gov-id.example/m';
  t.deepEqual(foreignHosts(body(`type=${encodeURIComponent(type)}&t=${type}`), new Set(), [type]), []);
  t.deepEqual(foreignHosts(body(`type=${type}&sub=https://gov-id.example/other`), new Set(), [type]), ['gov-id.example']);
});
