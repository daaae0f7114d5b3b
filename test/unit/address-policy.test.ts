/**
 * The address half of the federation fetch policy: which addresses a fetch may reach, checked
 * before connecting (an IP literal at once, a name on the addresses it resolves to); redirects
 * are not followed; answers are cut at the size limit. A real listener counts what gets through.
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import { AddressRefused, addressPolicy, guardedGet, ResponseTooLarge } from '../../federation/address-policy.ts';
import { FederationFetchPolicy } from '../../federation/fetch-policy.ts';
import { TrustChainError } from '../../federation/federation-errors.ts';
import { openKeyValueStore } from '../../infra/key-value-store.ts';

const servers: Server[] = [];
test.after.always(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

/** A loopback listener answering `respond`; counts its requests. */
async function counter(
  respond: (res: import('node:http').ServerResponse) => void = (res) => res.end('ok'),
): Promise<{ port: number; requests: () => number }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    respond(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as { port: number }).port, requests: () => requests };
}

const get = (url: string, permitted: (a: string) => boolean, maxBytes = 1024) =>
  guardedGet(url, { permitted, accept: 'text/plain', maxBytes, timeoutMs: 10_000 });

test('private, loopback, link-local, CGNAT, unique-local, multicast and unspecified addresses are refused; public ones pass', (t) => {
  const permitted = addressPolicy([]);
  for (const refused of [
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    'not-an-address',
  ])
    t.false(permitted(refused), refused);
  for (const allowed of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888', '[2400:3200::1]'])
    t.true(permitted(allowed), allowed);
});

test('the allow list lets exactly its own addresses through (also IPv4-mapped)', (t) => {
  const permitted = addressPolicy(['127.0.0.1']);
  t.true(permitted('127.0.0.1'));
  t.true(permitted('::ffff:127.0.0.1'));
  t.false(permitted('127.0.0.2'));
  t.false(permitted('::1'));
  t.false(permitted('10.0.0.1'));
});

test('a refused address is never connected to, whether given as an address or as a name', async (t) => {
  const target = await counter();
  await t.throwsAsync(get(`http://127.0.0.1:${target.port}/`, addressPolicy([])), { instanceOf: AddressRefused });
  await t.throwsAsync(get(`http://localhost:${target.port}/`, addressPolicy([])), { instanceOf: AddressRefused });
  await t.throwsAsync(get(`http://[::ffff:127.0.0.1]:${target.port}/`, addressPolicy([])), { instanceOf: AddressRefused });
  await t.throwsAsync(get(`file:///etc/passwd`, addressPolicy([])), { instanceOf: AddressRefused });
  t.is(target.requests(), 0);
  const allowed = await get(`http://127.0.0.1:${target.port}/`, addressPolicy(['127.0.0.1']));
  t.is(allowed.status, 200);
  t.is(allowed.body, 'ok');
  t.is(target.requests(), 1);
});

test('a redirect is not followed, and an answer over the size limit is cut off', async (t) => {
  const elsewhere = await counter();
  const redirecting = await counter((res) => res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/` }).end());
  const answer = await get(`http://127.0.0.1:${redirecting.port}/`, addressPolicy(['127.0.0.1']));
  t.is(answer.status, 302);
  t.is(elsewhere.requests(), 0);
  const large = await counter((res) => res.end('x'.repeat(5000)));
  await t.throwsAsync(get(`http://127.0.0.1:${large.port}/`, addressPolicy(['127.0.0.1']), 1000), { instanceOf: ResponseTooLarge });
});

test('the fetch policy refuses an address it may not reach with fetch_refused, and then without asking again', async (t) => {
  const anchor = await counter();
  const kv = await openKeyValueStore({ namespace: `address-policy-${process.pid}` });
  // The anchor is always listed; only the address policy stands between it and a fetch here.
  const policy = new FederationFetchPolicy({ trustAnchor: `http://127.0.0.1:${anchor.port}`, allowedAddresses: [], allowHttp: true, kv });
  for (let i = 0; i < 3; i++) {
    const err = await t.throwsAsync(policy.fetcher.entityConfiguration(`http://127.0.0.1:${anchor.port}`), { instanceOf: TrustChainError });
    t.is(err!.check, 'fetch_refused');
  }
  const https = new FederationFetchPolicy({
    trustAnchor: `http://127.0.0.1:${anchor.port}`,
    allowedAddresses: ['127.0.0.1'],
    allowHttp: false,
    kv,
  });
  t.is(
    (await t.throwsAsync(https.fetcher.entityConfiguration(`http://127.0.0.1:${anchor.port}`), { instanceOf: TrustChainError }))!.check,
    'fetch_refused',
  );
  t.is(anchor.requests(), 0);
  await kv.close();
});
