/**
 * infra/health-endpoints.ts: /healthz answers without touching anything, /readyz runs every check
 * in bounded time and names the ones that fail; neither is cached.
 */
import test from 'ava';
import { createApp, listen } from '../../infra/http-server.ts';
import { healthEndpoints } from '../../infra/health-endpoints.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';

async function serve(checks: Record<string, () => Promise<unknown>>) {
  const lines: LogLine[] = [];
  const log = recordingLogger(lines);
  const app = createApp(log);
  // A check that never answers is cut off after 200 ms: the bound under test, not a wait.
  app.use(healthEndpoints({ checks, log, timeoutMs: 200 }));
  const listener = await listen(app.callback(), 0);
  return { url: `http://127.0.0.1:${listener.port}`, lines, listener };
}

test('/healthz is 200 {"status":"ok"} and runs no check', async (t) => {
  let ran = false;
  const { url, listener } = await serve({ database: async () => (ran = true) });
  t.teardown(() => listener.close());
  const res = await fetch(`${url}/healthz`);
  t.is(res.status, 200);
  t.is(res.headers.get('cache-control'), 'no-store');
  t.deepEqual(await res.json(), { status: 'ok' });
  t.false(ran);
});

test('/readyz is 200 with every check when all answer', async (t) => {
  const { url, listener } = await serve({ database: async () => 1, store: async () => null });
  t.teardown(() => listener.close());
  const res = await fetch(`${url}/readyz`);
  t.is(res.status, 200);
  t.is(res.headers.get('cache-control'), 'no-store');
  t.deepEqual(await res.json(), { status: 'ok', checks: { database: 'ok', store: 'ok' } });
});

test('/readyz is 503 temporarily_unavailable naming a failing and a hanging check, without waiting for the hang', async (t) => {
  const { url, lines, listener } = await serve({
    database: async () => 1,
    store: () => Promise.reject(new Error('ECONNREFUSED')),
    signing_key: () => new Promise(() => undefined),
  });
  t.teardown(() => listener.close());
  const res = await fetch(`${url}/readyz`);
  t.is(res.status, 503);
  t.is(res.headers.get('cache-control'), 'no-store');
  t.deepEqual(await res.json(), {
    error: 'temporarily_unavailable',
    error_description: 'not ready: store, signing_key',
    checks: { database: 'ok', store: 'failed', signing_key: 'timeout' },
  });
  t.true(lines.some((l) => l.level === 'warn' && l.msg === 'not ready'));
});

test('a check that throws at once is a failure, not a 500', async (t) => {
  const { url, listener } = await serve({
    signing_key: () => {
      throw new Error('no key');
    },
  });
  t.teardown(() => listener.close());
  const res = await fetch(`${url}/readyz`);
  t.is(res.status, 503);
  t.like(await res.json(), { checks: { signing_key: 'failed' } });
});

test('other methods are 405 with Allow; HEAD is answered', async (t) => {
  const { url, listener } = await serve({});
  t.teardown(() => listener.close());
  const post = await fetch(`${url}/readyz`, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  t.is((await fetch(`${url}/healthz`, { method: 'HEAD' })).status, 200);
});
