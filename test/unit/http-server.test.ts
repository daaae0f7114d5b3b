/**
 * infra/http-server.ts and the edge it sets up for every entity: control characters in a query
 * or body are refused with a 400 naming the field, malformed bodies are the client's 400 (415
 * for a type the route does not take), a path asked with a method it does not serve is a 405 with
 * `Allow`, and only a real server fault writes an error line with a stack.
 */
import test from 'ava';
import { connect } from 'node:net';
import Router from '@koa/router';
import { createApp, listen, refuseOtherMethods, type Listener } from '../../infra/http-server.ts';
import { parseBody, parseFormBody } from '../../infra/request-body.ts';
import { BadRequest } from '../../infra/errors.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';
import { until } from '../helpers/until.ts';

async function serve(): Promise<{ url: string; lines: LogLine[]; listener: Listener; settled: string[] }> {
  const lines: LogLine[] = [];
  // Each request's path and final status, once its handling is over (answered or not).
  const settled: string[] = [];
  const router = new Router();
  router.get('/echo', (ctx) => {
    ctx.body = ctx.query;
  });
  router.post('/json', parseBody, (ctx) => {
    ctx.body = { received: ctx.request.body, prototypeUntouched: Object.getPrototypeOf(ctx.request.body) === Object.prototype };
  });
  router.post('/form', parseFormBody, (ctx) => {
    ctx.body = { received: ctx.request.body };
  });
  router.get('/bug', () => {
    throw new TypeError('a bug');
  });
  router.get('/library-refusal', () => {
    throw Object.assign(new Error('bad input seen by a library: secret-input'), { status: 400 });
  });
  router.get('/refusal', () => {
    throw new BadRequest('invalid_request', 'field: wrong');
  });
  const app = createApp(recordingLogger(lines));
  app.middleware.unshift(async (ctx, next) => {
    try {
      await next();
    } finally {
      settled.push(`${ctx.path} ${ctx.status}`);
    }
  });
  app.use(router.routes());
  app.use(refuseOtherMethods);
  const listener = await listen(app.callback(), 0);
  return { url: `http://127.0.0.1:${listener.port}`, lines, listener, settled };
}

const post = (url: string, type: string, body: string | Blob) => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

test('a query or body value holding NUL or another control character is a 400 naming the field', async (t) => {
  const { url, lines, listener } = await serve();
  t.teardown(() => listener.close());
  for (const query of ['client_id=a%00b', 'state=%01', 'a=%1F', 'x%00=1']) {
    const res = await fetch(`${url}/echo?${query}`);
    t.is(res.status, 400, query);
    t.like(await res.json(), { error: 'invalid_request' }, query);
  }
  const named = (await (await fetch(`${url}/echo?client_id=a%00b`)).json()) as { error_description: string };
  t.regex(named.error_description, /client_id/);
  // TAB, CR and LF may be held by a text field; other characters pass untouched.
  const fine = await fetch(`${url}/echo?note=${encodeURIComponent('line 1\r\n\tline 2 · 广州 😀')}`);
  t.is(fine.status, 200);
  t.deepEqual(await fine.json(), { note: 'line 1\r\n\tline 2 · 广州 😀' });

  for (const [type, body, field] of [
    ['application/json', '{"name":"a\\u0000b"}', 'name'],
    ['application/json', '{"outer":{"inner":["ok","\\u0007"]}}', 'outer.inner[1]'],
    ['application/json', '{"name":"\\ud800"}', 'name'],
    ['application/x-www-form-urlencoded', 'name=a%00b', 'name'],
  ] as const) {
    const res = await post(`${url}/json`, type, body);
    t.is(res.status, 400, body);
    const json = (await res.json()) as { error: string; error_description: string };
    t.is(json.error, 'invalid_request');
    t.true(json.error_description.startsWith(`${field}:`), `${body}: ${json.error_description}`);
  }
  t.deepEqual(lines, [], 'a refusal writes no log line');
});

test('malformed JSON is a 400 with a reason, never a 500 or a logged stack; prototype keys are refused', async (t) => {
  const { url, lines, listener } = await serve();
  t.teardown(() => listener.close());
  const cases: [string, RegExp][] = [
    ['[1,]', /malformed JSON body/],
    ['{"a":NaN}', /malformed JSON body/],
    ['{"a":1', /malformed JSON body/],
    ['"str"', /must be an object/],
    ['[1,2]', /must be an object/],
    ['null', /must be an object/],
    ['{"__proto__":{"x":1}}', /__proto__/],
    ['{"a":{"constructor":{"prototype":{"x":1}}}}', /prototype|constructor/],
  ];
  for (const [body, reason] of cases) {
    const res = await post(`${url}/json`, 'application/json', body);
    t.is(res.status, 400, body);
    const json = (await res.json()) as { error: string; error_description: string };
    t.is(json.error, 'invalid_request', body);
    t.regex(json.error_description, reason, body);
    t.false(json.error_description.includes(body), 'the body is not echoed');
  }
  const form = await post(`${url}/json`, 'application/x-www-form-urlencoded', '__proto__%5Bx%5D=1&constructor=2');
  t.is(form.status, 400);
  const utf8 = await post(
    `${url}/json`,
    'application/json',
    new Blob([new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])]),
  );
  t.is(utf8.status, 400, 'bytes that are not UTF-8');
  t.is((await post(`${url}/json`, 'text/plain', 'hello')).status, 415, 'a type no route takes');
  t.is((await post(`${url}/form`, 'application/json', '{"a":1}')).status, 415, 'JSON where only forms are taken');
  const big = await post(`${url}/json`, 'application/json', JSON.stringify({ a: 'x'.repeat(70 * 1024) }));
  t.is(big.status, 413);

  const ok = await post(`${url}/json`, 'application/json', '{"name":"王小明","n":[1,{"b":true}]}');
  t.deepEqual(await ok.json(), { received: { name: '王小明', n: [1, { b: true }] }, prototypeUntouched: true });
  t.is(({} as Record<string, unknown>).x, undefined, 'no prototype was touched');
  t.deepEqual(lines, [], 'client errors write no log line');
});

/** Writes a request in parts on a raw connection; what the server answered once it closed, or once `end` says so. */
function rawExchange(port: number, parts: string[], end: 'after-parts' | 'wait-close'): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer));
    void (async () => {
      for (const part of parts) {
        await new Promise<void>((written) => socket.write(part, () => written()));
        await new Promise((next) => setImmediate(next));
      }
      if (end === 'after-parts') socket.end();
    })();
  });
}

test("a body sent in many pieces is read whole; one cut off mid-way is the client's 400, and the server carries on", async (t) => {
  const { url, lines, listener, settled } = await serve();
  t.teardown(() => listener.close());
  const head = 'POST /json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n';
  const pieces = ['{"name":', '"王小明",', '"n":[1,2,3]}'].map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`);
  const whole = await rawExchange(listener.port, [`${head}Connection: close\r\n\r\n`, ...pieces, '0\r\n\r\n'], 'wait-close');
  t.regex(whole, /^HTTP\/1\.1 200/);
  t.true(whole.includes('{"received":{"name":"王小明","n":[1,2,3]},"prototypeUntouched":true}'), whole);

  // The client goes away after two of the three pieces: the read ends as the client's 400 (nothing
  // is answered to a closed connection, nothing logged), rather than waiting for ever.
  await rawExchange(listener.port, [`${head}\r\n`, ...pieces.slice(0, 2)], 'after-parts');
  await until(async () => settled.length === 2, 'the cut-off request to be settled');
  t.deepEqual(settled, ['/json 200', '/json 400']);
  const after = await post(`${url}/json`, 'application/json', '{"a":1}');
  t.is(after.status, 200);
  t.deepEqual(lines, [], 'a body cut off is no server fault');
});

test('only a server fault logs an error with a stack; a library refusing input logs one line without it', async (t) => {
  const { url, lines, listener } = await serve();
  t.teardown(() => listener.close());
  const bug = await fetch(`${url}/bug`);
  t.is(bug.status, 500);
  t.deepEqual(await bug.json(), { error: 'server_error', error_description: 'internal error' });
  t.is(lines.length, 1);
  t.is(lines[0]!.level, 'error');
  t.true((lines[0]!.fields.err as Error).stack!.includes('a bug'));

  lines.length = 0;
  const refused = await fetch(`${url}/library-refusal`);
  t.is(refused.status, 400);
  t.is(
    ((await refused.json()) as { error_description: string }).error_description,
    'the request cannot be processed',
    'an unexposed message is not shown',
  );
  t.is(lines.length, 1);
  t.like(lines[0], { level: 'info', msg: 'request refused' });
  t.false(
    Object.values(lines[0]!.fields).some((v) => v instanceof Error || (typeof v === 'string' && v.includes('\n    at '))),
    'no stack',
  );

  lines.length = 0;
  t.is((await fetch(`${url}/refusal`)).status, 400);
  t.deepEqual(lines, [], 'our own refusals are not logged');
});

test('a path asked with a method it does not serve is a 405 with Allow, known method or not', async (t) => {
  const { url, listener } = await serve();
  t.teardown(() => listener.close());
  for (const method of ['DELETE', 'PUT', 'PROPFIND', 'MKCOL']) {
    const res = await fetch(`${url}/json`, { method });
    t.is(res.status, 405, method);
    t.is(res.headers.get('allow'), 'POST', method);
    t.like(await res.json(), { error: 'method_not_allowed' });
  }
  const options = await fetch(`${url}/echo`, { method: 'OPTIONS' });
  t.is(options.status, 204);
  t.is(options.headers.get('allow'), 'HEAD, GET');
  t.is((await fetch(`${url}/nowhere`, { method: 'PROPFIND' })).status, 404, 'an unknown path stays a 404');
});
