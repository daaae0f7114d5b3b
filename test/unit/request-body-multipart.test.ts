/**
 * Multipart form bodies (RFC 7578) at the edge: text fields and a text file are read under their
 * names, repeated fields become arrays as in url-encoded forms, and a body whose framing is wrong,
 * too large, not UTF-8 or with a field name we refuse is a 400 (413), never a 500.
 */
import test from 'ava';
import Router from '@koa/router';
import { createApp, listen, type Listener } from '../../infra/http-server.ts';
import { parseFormOrUpload } from '../../infra/request-body.ts';
import { createLogger } from '../../infra/log.ts';

let listener: Listener;
let url: string;
test.before(async () => {
  const app = createApp(createLogger({}, 'error'));
  const router = new Router();
  router.post('/upload', parseFormOrUpload, (ctx) => {
    ctx.body = ctx.request.body;
  });
  app.use(router.routes());
  listener = await listen(app.callback(), 0);
  url = `http://127.0.0.1:${listener.port}/upload`;
});
test.after.always(async () => {
  await listener?.close();
});

const BOUNDARY = 'xYzZY-boundary';
const part = (name: string, value: string | Buffer, filename?: string) =>
  Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n${filename ? 'Content-Type: text/plain\r\n' : ''}\r\n`,
    ),
    Buffer.from(value),
    Buffer.from('\r\n'),
  ]);
const end = Buffer.from(`--${BOUNDARY}--\r\n`);

const post = (body: Buffer | string, contentType = `multipart/form-data; boundary=${BOUNDARY}`) =>
  fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });

test('text fields and a text file are read by name, repeated fields as arrays', async (t) => {
  const body = Buffer.concat([
    part('csrf', 'token-1'),
    part('license', ''),
    part('license_file', 'eyJ0eXAi.x.y~line two\r\nwith CRLF~', 'licence.sd-jwt'),
    part('disclose', 'name'),
    part('disclose', '姓名'),
    end,
  ]);
  const res = await post(body);
  t.is(res.status, 200);
  t.deepEqual(await res.json(), {
    csrf: 'token-1',
    license: '',
    license_file: 'eyJ0eXAi.x.y~line two\r\nwith CRLF~',
    disclose: ['name', '姓名'],
  });
  const quoted = await post(Buffer.concat([part('a', 'b'), end]), `multipart/form-data; boundary="${BOUNDARY}"`);
  t.deepEqual(await quoted.json(), { a: 'b' });
  const urlEncoded = await post('a=1&a=2', 'application/x-www-form-urlencoded');
  t.deepEqual(await urlEncoded.json(), { a: ['1', '2'] });
});

test('broken framing, no boundary, bad UTF-8, refused names and control characters are 400; too large 413', async (t) => {
  const cases: [string, Buffer | string, string?][] = [
    ['no closing delimiter', Buffer.concat([part('a', 'b')])],
    ['no headers end', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"`],
    ['no name', `--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--\r\n`],
    ['preamble', Buffer.concat([Buffer.from('junk'), part('a', 'b'), end])],
    ['no boundary', Buffer.concat([part('a', 'b'), end]), 'multipart/form-data'],
    ['not UTF-8', Buffer.concat([part('f', Buffer.from([0xff, 0xfe, 0x00]), 'bin'), end])],
    ['prototype key', Buffer.concat([part('__proto__', 'x'), end])],
    ['structured name', Buffer.concat([part('a[b]', 'x'), end])],
    ['control character', Buffer.concat([part('a', 'x\u0001y'), end])],
  ];
  for (const [what, body, type] of cases) {
    const res = await post(body, type);
    t.is(res.status, 400, what);
    t.is(((await res.json()) as { error: string }).error, 'invalid_request', what);
  }
  const large = await post(Buffer.concat([part('f', 'x'.repeat(40 * 1024), 'big'), end]));
  t.is(large.status, 413);
  const json = await post('{}', 'application/json');
  t.is(json.status, 415);
});
