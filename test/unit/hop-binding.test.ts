/**
 * The cookie that binds a hop of a cross-tier login to the browser that started it
 * (idp/login/hop-binding.ts): only that browser's answer is taken, for that interaction; several
 * hops under way in one browser each keep theirs.
 */
import test from 'ava';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Koa from 'koa';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { bindHopToBrowser, hopStartedInThisBrowser } from '../../idp/login/hop-binding.ts';

const runtime = { self: { id: 'zj' }, macKey: Buffer.alloc(32, 7) } as unknown as EntityRuntime;
const otherKey = { self: { id: 'zj' }, macKey: Buffer.alloc(32, 8) } as unknown as EntityRuntime;
const app = new Koa();

/** A request to the callback with these cookies; its response's Set-Cookie lines. */
function request(cookie = '') {
  const req = new IncomingMessage(new Socket());
  req.url = '/broker/callback';
  req.method = 'GET';
  req.headers = cookie ? { cookie } : {};
  const res = new ServerResponse(req);
  return { ctx: app.createContext(req, res), setCookies: () => [res.getHeader('set-cookie') ?? []].flat() as string[] };
}

/** The cookies a browser keeps from these Set-Cookie lines (name=value), for the next request. */
const kept = (lines: string[]) =>
  lines
    .map((l) => l.split(';')[0]!)
    .filter((pair) => !pair.endsWith('='))
    .join('; ');

function startedHop(state: string, uid: string, key = runtime) {
  const r = request();
  bindHopToBrowser(r.ctx, key, state, uid, 900);
  return r.setCookies();
}

test('the cookie is scoped to the callback, httpOnly, SameSite=Lax, named after the state, and lasts as the interaction', (t) => {
  const [line] = startedHop('state-1', 'uid-1');
  t.regex(line!, /^gov_id_zj_hop_state-1=[A-Za-z0-9_-]{43}; /);
  t.regex(line!, /path=\/broker\/callback/);
  t.regex(line!, /httponly/);
  t.regex(line!, /samesite=lax/);
  t.regex(line!, /max-age=900|expires=/);
});

test('the browser that started the hop is recognized once; the cookie is cleared', (t) => {
  const cookies = kept(startedHop('state-1', 'uid-1'));
  const back = request(cookies);
  t.true(hopStartedInThisBrowser(back.ctx, runtime, 'state-1', 'uid-1'));
  t.regex(back.setCookies()[0]!, /^gov_id_zj_hop_state-1=; .*expires=Thu, 01 Jan 1970/);
});

test('another browser (no cookie), another interaction, another state or a cookie not made with this OP key are refused', (t) => {
  const cookies = kept(startedHop('state-1', 'uid-1'));
  t.false(hopStartedInThisBrowser(request().ctx, runtime, 'state-1', 'uid-1'));
  t.false(hopStartedInThisBrowser(request(cookies).ctx, runtime, 'state-1', 'uid-2'));
  t.false(hopStartedInThisBrowser(request(cookies).ctx, runtime, 'state-2', 'uid-1'));
  t.false(hopStartedInThisBrowser(request(kept(startedHop('state-1', 'uid-1', otherKey))).ctx, runtime, 'state-1', 'uid-1'));
  // A value copied from another state's cookie does not fit this state.
  const forged = cookies.replace('gov_id_zj_hop_state-1=', 'gov_id_zj_hop_state-2=');
  t.false(hopStartedInThisBrowser(request(forged).ctx, runtime, 'state-2', 'uid-1'));
});

test('two hops under way in one browser: each answer is recognized for its own interaction', (t) => {
  const cookies = kept([...startedHop('state-a', 'uid-a'), ...startedHop('state-b', 'uid-b')]);
  t.true(hopStartedInThisBrowser(request(cookies).ctx, runtime, 'state-b', 'uid-b'));
  t.true(hopStartedInThisBrowser(request(cookies).ctx, runtime, 'state-a', 'uid-a'));
});
