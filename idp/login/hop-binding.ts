/**
 * A neighbour's answer is taken only from the browser that started the hop. It arrives at the
 * fixed redirect URI, where oidc-provider's interaction cookie (scoped to `/interaction/:uid`) is
 * not sent; so routing sets a cookie of its own there: named after the hop's `state` (several
 * logins in one browser each have theirs), holding a MAC of the state and the interaction. The
 * `state` in the answer alone would not refuse a code injected into another browser; that browser
 * has no such cookie, and cannot make one without this OP's key.
 */
import type Koa from 'koa';
import { hmac, safeEqual } from '../../infra/crypto.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { BROKER_CALLBACK_PATH } from './cross-tier-hops.ts';

const cookieName = (runtime: EntityRuntime, state: string) => `gov_id_${runtime.self.id}_hop_${state}`;
const binding = (runtime: EntityRuntime, state: string, uid: string) => hmac(runtime.macKey, `hop:${state}:${uid}`);
const cookieOptions = { path: BROKER_CALLBACK_PATH, httpOnly: true, sameSite: 'lax', signed: false, overwrite: true } as const;

/** Binds the hop of `state`, started for interaction `uid`, to the browser this response goes to. */
export function bindHopToBrowser(ctx: Koa.Context, runtime: EntityRuntime, state: string, uid: string, seconds: number): void {
  ctx.cookies.set(cookieName(runtime, state), binding(runtime, state, uid), { ...cookieOptions, maxAge: seconds * 1000 });
}

/**
 * True when this browser started the hop of `state` for interaction `uid`; the cookie is cleared
 * either way (the hop is answered once). `state` must be one this OP issued (a pending hop's).
 */
export function hopStartedInThisBrowser(ctx: Koa.Context, runtime: EntityRuntime, state: string, uid: string): boolean {
  const name = cookieName(runtime, state);
  const value = ctx.cookies.get(name, { signed: false });
  ctx.cookies.set(name, null, cookieOptions);
  return value !== undefined && safeEqual(value, binding(runtime, state, uid));
}
