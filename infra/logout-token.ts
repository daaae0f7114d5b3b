/**
 * The relying party's check of a back-channel logout token (OpenID Connect Back-Channel Logout
 * 1.0, §2.6): signature with the OP's keys, iss, aud = our client_id, recent iat, typ
 * logout+jwt, the back-channel logout event, no nonce, a sid or a sub, a jti. Replay of the jti
 * is the caller's check (it keeps the store). Used by portals and by brokers alike.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens older than this are refused (with the jti replay window matching it). */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 600;
const CLOCK_TOLERANCE_SECONDS = 30;

export class LogoutTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LogoutTokenError';
  }
}

export interface LogoutClaims {
  iss: string;
  jti: string;
  sid?: string;
  sub?: string;
  exp?: number;
}

export async function verifyLogoutToken(
  token: string,
  opts: { keys: JWTVerifyGetKey; issuer: string; audience: string; algorithms: string[] },
): Promise<LogoutClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, opts.keys, {
      issuer: opts.issuer,
      audience: opts.audience,
      typ: 'logout+jwt',
      algorithms: opts.algorithms,
      maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['iat', 'jti', 'events'],
    }));
  } catch (err) {
    throw new LogoutTokenError(`logout token rejected: ${(err as Error).message}`);
  }
  const events = payload.events as Record<string, unknown> | undefined;
  const event = events && typeof events === 'object' && !Array.isArray(events) ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (!event || typeof event !== 'object' || Array.isArray(event))
    throw new LogoutTokenError('logout token rejected: no back-channel logout event');
  if ('nonce' in payload) throw new LogoutTokenError('logout token rejected: a logout token must not carry a nonce');
  const sid = typeof payload.sid === 'string' && payload.sid ? payload.sid : undefined;
  const sub = typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
  if (!sid && !sub) throw new LogoutTokenError('logout token rejected: neither sid nor sub');
  if (typeof payload.jti !== 'string' || !payload.jti) throw new LogoutTokenError('logout token rejected: no jti');
  return {
    iss: payload.iss!,
    jti: payload.jti,
    ...(sid ? { sid } : {}),
    ...(sub ? { sub } : {}),
    ...(payload.exp ? { exp: payload.exp } : {}),
  };
}
