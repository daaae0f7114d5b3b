/**
 * The two HTTP clients of entity-to-entity calls, both over undici's `request`:
 * infra/entity-request.ts (our APIs: JSON, an entity assertion, one deadline, NeverSent when no
 * connection was made) and infra/lean-fetch.ts (fetch's contract for openid-client's customFetch
 * on the broker hops). Against a real server on loopback.
 */
import test from 'ava';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import { getAsEntity, NeverSent, postAsEntity } from '../../infra/entity-request.ts';
import { generateKey } from '../../infra/entity-keys.ts';
import { UpstreamUnavailable } from '../../infra/errors.ts';
import { leanFetch } from '../../infra/lean-fetch.ts';
import { listen } from '../../infra/http-server.ts';
import { freePort } from '../../cli/free-ports.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A server (infra/http-server.ts `listen`) that records each request and answers as `answer` says; never answers on /silent. */
async function server(answer: (seen: Seen, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const listener = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      if (s.url !== '/silent') answer(s, res);
    });
  }, 0);
  return { url: `http://127.0.0.1:${listener.port}`, seen, close: () => listener.close() };
}

/** A loopback address nothing listens on: a port reserved for this process and never bound. */
const nobodyThere = async () => `http://127.0.0.1:${await freePort()}`;

test('an entity request: JSON both ways, an assertion for the callee, a body that is no JSON object read as {}', async (t) => {
  const s = await server((seen, res) => {
    res.setHeader('content-type', 'application/json');
    if (seen.url === '/list') return void res.end('[1,2]');
    if (seen.url === '/moved') return void res.writeHead(302, { location: '/elsewhere' }).end();
    res.statusCode = seen.method === 'POST' ? 201 : 200;
    res.end(JSON.stringify({ echoed: seen.body ? JSON.parse(seen.body) : null }));
  });
  t.teardown(s.close);
  const key = await generateKey('ES256');
  const from = 'http://127.0.0.1:1/caller';
  const posted = await postAsEntity({ from, key, to: s.url, path: '/things', body: { name: '王小明' }, timeoutMs: 5_000 });
  t.deepEqual(posted, { status: 201, json: { echoed: { name: '王小明' } } });
  const call = s.seen[0]!;
  t.is(call.headers['content-type'], 'application/json');
  const assertion = decodeJwt(String(call.headers.authorization).replace(/^Bearer /, ''));
  t.like(assertion, { iss: from, aud: s.url });

  const got = await getAsEntity({ from, key, to: s.url, path: '/things', query: { page: '2' }, timeoutMs: 5_000 });
  t.deepEqual(got, { status: 200, json: { echoed: null } });
  t.is(s.seen[1]!.url, '/things?page=2');
  t.deepEqual((await getAsEntity({ from, key, to: s.url, path: '/list', timeoutMs: 5_000 })).json, {});
  await t.throwsAsync(getAsEntity({ from, key, to: s.url, path: '/moved', timeoutMs: 5_000 }), {
    instanceOf: UpstreamUnavailable,
    message: /redirect/,
  });
});

test('an entity request no server takes is NeverSent; one left unanswered past its deadline is UpstreamUnavailable, not NeverSent', async (t) => {
  const key = await generateKey('ES256');
  const from = 'http://127.0.0.1:1/caller';
  const refused = await t.throwsAsync(postAsEntity({ from, key, to: await nobodyThere(), path: '/x', body: {}, timeoutMs: 5_000 }));
  t.true(refused instanceof NeverSent, String(refused));
  t.regex(refused.message, /ECONNREFUSED/);

  const s = await server(() => undefined);
  t.teardown(s.close);
  const silent = await t.throwsAsync(postAsEntity({ from, key, to: s.url, path: '/silent', body: {}, timeoutMs: 200 }));
  t.true(silent instanceof UpstreamUnavailable && !(silent instanceof NeverSent), String(silent));
  t.regex(silent.message, /did not answer in time/);
});

test("lean fetch keeps fetch's contract: form bodies typed as fetch types them, every header and status answered, a body read whole", async (t) => {
  const s = await server((seen, res) => {
    if (seen.url === '/empty') return void res.writeHead(204).end();
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.setHeader('content-type', 'application/json');
    res.statusCode = seen.url === '/fail' ? 503 : 200;
    res.end(
      JSON.stringify({
        method: seen.method,
        type: seen.headers['content-type'] ?? null,
        body: seen.body,
        id: seen.headers['x-request-id'] ?? null,
      }),
    );
  });
  t.teardown(s.close);
  const form = await leanFetch(`${s.url}/token`, {
    method: 'POST',
    headers: { 'x-request-id': 'trace-1' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'c 1' }),
    redirect: 'manual',
  });
  t.is(form.status, 200);
  t.deepEqual(await form.json(), {
    method: 'POST',
    type: 'application/x-www-form-urlencoded;charset=UTF-8',
    body: 'grant_type=authorization_code&code=c+1',
    id: 'trace-1',
  });
  t.is(form.headers.get('content-type'), 'application/json');
  t.deepEqual(form.headers.getSetCookie(), ['a=1', 'b=2']);

  const typed = await leanFetch(`${s.url}/x`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: new URLSearchParams({ a: '1' }),
  });
  t.like(await typed.json(), { type: 'text/plain', body: 'a=1' });
  t.is((await leanFetch(`${s.url}/fail`)).status, 503);
  const empty = await leanFetch(`${s.url}/empty`);
  t.is(empty.status, 204);
  t.is(empty.body, null);
});

test('lean fetch fails as fetch does: a refused connection is a TypeError with its cause, an abort rejects with the signal’s reason', async (t) => {
  const refused = await t.throwsAsync(leanFetch(`${await nobodyThere()}/x`), { instanceOf: TypeError, message: 'fetch failed' });
  t.is((refused.cause as { code?: string }).code, 'ECONNREFUSED');

  const s = await server(() => undefined);
  t.teardown(s.close);
  const timedOut = await t.throwsAsync(leanFetch(`${s.url}/silent`, { signal: AbortSignal.timeout(200) }));
  t.is(timedOut.name, 'TimeoutError');
});
