/**
 * infra/error-responses.ts: the one mapper from a thrown error to a response, and each kind of
 * answer (JSON, an entity's error page, the OAuth error of an authorization request), served by
 * a real app (createApp) over HTTP.
 */
import test from 'ava';
import Router from '@koa/router';
import { answerPage, errorResponse, oauthError, type ErrorAnswer } from '../../infra/error-responses.ts';
import {
  BadRequest,
  Forbidden,
  HttpError,
  MethodNotAllowed,
  StoreUnavailable,
  TooManyRequests,
  UpstreamUnavailable,
} from '../../infra/errors.ts';
import { createApp, listen } from '../../infra/http-server.ts';
import { HomeConflict } from '../../federation/registry-of-homes.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';

const HOME = 'https://gz.example.gov.cn';

async function serve(t: import('ava').ExecutionContext, answerError?: ErrorAnswer): Promise<{ url: string; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const router = new Router();
  const throwing: Record<string, () => unknown> = {
    conflict: () => new HomeConflict(HOME),
    limited: () => new TooManyRequests('too many lookups', 42),
    federation405: () => new MethodNotAllowed('POST', ['GET', 'HEAD'], { code: 'invalid_request', message: 'use GET' }),
    hidden: () => new Forbidden('not_allowed', 'names internals: table x', { expose: false }),
    store: () => new StoreUnavailable(new Error('ECONNREFUSED')),
    bug: () => new TypeError('a bug with secrets'),
  };
  for (const [path, make] of Object.entries(throwing)) {
    router.get(`/${path}`, () => {
      throw make();
    });
  }
  const app = createApp(recordingLogger(lines), answerError ? { answerError } : {});
  app.use(router.routes());
  const listener = await listen(app.callback(), 0);
  t.teardown(() => listener.close());
  return { url: `http://127.0.0.1:${listener.port}`, lines };
}

test('errorResponse: an HttpError answers its own status, code, headers and details; a hidden message is replaced', (t) => {
  t.deepEqual(errorResponse(new HomeConflict(HOME)), {
    status: 409,
    code: 'home_conflict',
    message: `the identifier is already registered, with its home at ${HOME}`,
    headers: {},
    details: { home: HOME },
  });
  t.like(errorResponse(new TooManyRequests('slow down', 7)), { status: 429, code: 'too_many_requests', headers: { 'Retry-After': '7' } });
  t.like(errorResponse(new Forbidden('x', 'internal detail', { expose: false })), {
    status: 403,
    code: 'x',
    message: 'the request cannot be processed',
  });
  t.like(errorResponse(new HttpError(502, 'bad_gateway', 'upstream said secret', { expose: false })), {
    status: 502,
    message: 'internal error',
  });
  t.like(errorResponse(new UpstreamUnavailable('the registry of gd did not answer in time')), {
    status: 503,
    code: 'temporarily_unavailable',
    message: 'the registry of gd did not answer in time',
  });
});

test("errorResponse: a library's client error is invalid_request (request_too_large for 413), its message only when exposed; anything else is a 500", (t) => {
  t.like(errorResponse(Object.assign(new Error('body: secret'), { status: 413, expose: false })), {
    status: 413,
    code: 'request_too_large',
    message: 'the request cannot be processed',
  });
  t.like(errorResponse(Object.assign(new Error('invalid JSON'), { status: 400, expose: true })), {
    status: 400,
    code: 'invalid_request',
    message: 'invalid JSON',
  });
  t.like(errorResponse(Object.assign(new Error('unsupported'), { statusCode: 415 })), { status: 415, code: 'invalid_request' });
  t.deepEqual(errorResponse(new TypeError('a bug')), {
    status: 500,
    code: 'server_error',
    message: 'internal error',
    headers: {},
    details: {},
  });
  t.like(errorResponse(Object.assign(new Error('down'), { status: 503 })), { status: 500, code: 'server_error' });
  t.like(errorResponse('a string'), { status: 500 });
});

test('answerJson: {error, error_description} with the details, the headers the error names, never cached; only a fault is logged, with its stack', async (t) => {
  const { url, lines } = await serve(t);
  const conflict = await fetch(`${url}/conflict`);
  t.is(conflict.status, 409);
  t.is(conflict.headers.get('cache-control'), 'no-store');
  t.regex(conflict.headers.get('content-type') ?? '', /^application\/json/);
  t.deepEqual(await conflict.json(), {
    error: 'home_conflict',
    error_description: `the identifier is already registered, with its home at ${HOME}`,
    home: HOME,
  });
  const limited = await fetch(`${url}/limited`);
  t.is(limited.status, 429);
  t.is(limited.headers.get('retry-after'), '42');
  const method = await fetch(`${url}/federation405`);
  t.is(method.status, 405);
  t.is(method.headers.get('allow'), 'GET, HEAD');
  t.like(await method.json(), { error: 'invalid_request', error_description: 'use GET' });
  t.deepEqual(await (await fetch(`${url}/hidden`)).json(), { error: 'not_allowed', error_description: 'the request cannot be processed' });
  const store = await fetch(`${url}/store`);
  t.is(store.status, 503);
  t.like(await store.json(), { error: 'temporarily_unavailable' });
  t.is(lines.filter((l) => l.level === 'error').length, 0, 'errors of the vocabulary are answers, not faults');
  const bug = await fetch(`${url}/bug`);
  t.is(bug.status, 500);
  t.deepEqual(await bug.json(), { error: 'server_error', error_description: 'internal error' });
  const faults = lines.filter((l) => l.level === 'error');
  t.is(faults.length, 1);
  t.is((faults[0]!.fields.err as Error).message, 'a bug with secrets');
  t.truthy((faults[0]!.fields.err as Error).stack);
});

test("answerPage: the entity's page, with the status and headers of the error", async (t) => {
  const page = answerPage((_ctx, r) => `<h1>${r.status} ${r.code}</h1><p>${r.message}</p>`);
  const { url } = await serve(t, page);
  const conflict = await fetch(`${url}/conflict`);
  t.is(conflict.status, 409);
  t.regex(conflict.headers.get('content-type') ?? '', /^text\/html/);
  t.is(conflict.headers.get('cache-control'), 'no-store');
  t.regex(await conflict.text(), /<h1>409 home_conflict<\/h1>/);
  const limited = await fetch(`${url}/limited`);
  t.is(limited.headers.get('retry-after'), '42');
  t.is(await (await fetch(`${url}/bug`)).text(), '<h1>500 server_error</h1><p>internal error</p>');
});

test("oauthError: the protocol's own codes pass; a refusal is access_denied, an outage temporarily_unavailable, a fault server_error", (t) => {
  t.deepEqual(oauthError(errorResponse(new BadRequest('invalid_request', 'login_hint: not an ID number'))), {
    error: 'invalid_request',
    error_description: 'login_hint: not an ID number',
  });
  t.deepEqual(oauthError(errorResponse(new Forbidden('home_untrusted', 'gz is not a trusted OP'))), {
    error: 'access_denied',
    error_description: 'gz is not a trusted OP',
  });
  t.like(oauthError(errorResponse(new UpstreamUnavailable('gz did not answer in time'))), { error: 'temporarily_unavailable' });
  t.like(oauthError(errorResponse(new StoreUnavailable(null))), { error: 'temporarily_unavailable' });
  t.deepEqual(oauthError(errorResponse(new TypeError('a bug'))), { error: 'server_error', error_description: 'internal error' });
});
