/**
 * infra/request-id.ts: which incoming X-Request-Id is kept, that every answer carries the ID, and
 * that log lines written and calls made while a request is handled carry it (infra/log.ts).
 */
import test from 'ava';
import { createLogger } from '../../infra/log.ts';
import { listen } from '../../infra/http-server.ts';
import { currentRequestId, requestIdFrom, requestIdHeaders, withRequestIds } from '../../infra/request-id.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('a short safe token is kept; anything else is replaced by a fresh ID', (t) => {
  for (const kept of ['abc', 'req-1.2_3', 'A'.repeat(64), '6f1c2d3e-aaaa-4bbb-8ccc-0123456789ab']) t.is(requestIdFrom(kept), kept);
  for (const replaced of [undefined, '', 'A'.repeat(65), 'a b', 'a\r\nset-cookie: x=1', 'id;drop', '请求', 'a/b', ['a', 'b']]) {
    const id = requestIdFrom(replaced);
    t.regex(id, UUID, JSON.stringify(replaced));
  }
  t.not(requestIdFrom(undefined), requestIdFrom(undefined), 'each fresh ID is new');
});

/** Writes one line with the real logger and records what it wrote, without writing to stdout. */
function loggedLine(run: () => void): Record<string, unknown> {
  const saved = process.stdout.write;
  let written = '';
  process.stdout.write = ((chunk: string) => {
    written += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    run();
  } finally {
    process.stdout.write = saved;
  }
  return JSON.parse(written) as Record<string, unknown>;
}

test('every answer carries the request ID; log lines and outgoing calls made meanwhile carry it too', async (t) => {
  const lines: LogLine[] = [];
  const log = createLogger({ entity: 'gd' }, 'info');
  const seen: { line: Record<string, unknown>; headers: Record<string, string> }[] = [];
  const listener = await listen(
    withRequestIds((_req, res) => {
      // After an await, as a handler's logging would be.
      void Promise.resolve().then(() => {
        seen.push({ line: loggedLine(() => log.info('handling', { step: 1 })), headers: requestIdHeaders() });
        res.end('ok');
      });
    }, recordingLogger(lines)),
    0,
  );
  t.teardown(() => listener.close());
  const url = `http://127.0.0.1:${listener.port}/some/path?secret=1`;

  const given = await fetch(url, { headers: { 'X-Request-Id': 'trace-42' } });
  t.is(given.headers.get('x-request-id'), 'trace-42');
  t.like(seen[0]!.line, { msg: 'handling', request_id: 'trace-42', entity: 'gd', step: 1, level: 'info' });
  t.deepEqual(seen[0]!.headers, { 'X-Request-Id': 'trace-42' });

  const unsafe = await fetch(url, { headers: { 'X-Request-Id': 'x'.repeat(65) } });
  const fresh = unsafe.headers.get('x-request-id')!;
  t.regex(fresh, UUID);
  t.is(seen[1]!.line.request_id, fresh);

  // One debug line per answered request, with the path but never the query.
  const answered = lines.filter((l) => l.msg === 'request');
  t.deepEqual(
    answered.map((l) => [l.fields.request_id, l.fields.path, l.fields.status, l.fields.method]),
    [
      ['trace-42', '/some/path', 200, 'GET'],
      [fresh, '/some/path', 200, 'GET'],
    ],
  );
  t.is(answered[0]!.level, 'debug');
});

test('outside a request there is no ID: no log field, no header', (t) => {
  t.is(currentRequestId(), undefined);
  t.deepEqual(requestIdHeaders(), {});
  t.false('request_id' in loggedLine(() => createLogger({}, 'info').info('background work')));
});
