/**
 * The portal's server-side state, all in the entity's key-value store: pending sign-ins (PKCE
 * verifier, state, nonce) under a random id the browser holds in a cookie, portal sessions
 * (30 minutes) with an index from the OP's session ID (sid) and subject to the portal sessions,
 * so that a back-channel logout ends them, and the jti of every logout token seen (replay).
 */
import { createHash } from 'node:crypto';
import { randomToken } from '../infra/crypto.ts';
import type { KeyValueStore } from '../infra/key-value-store.ts';
import type { Locale } from './i18n.ts';
import type { SignedInView } from './views/pages.ts';

export const PENDING_TTL_SECONDS = 10 * 60;
export const SESSION_TTL_SECONDS = 30 * 60;

export interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
  legal: boolean;
  /** The language the person chose explicitly, kept through the round trip. */
  lang: Locale | null;
}

export interface PortalSession {
  iss: string;
  sub: string;
  /** The OP's session ID (the ID token's `sid`), which back-channel logout names. */
  sid: string | null;
  /** For id_token_hint at logout. */
  idToken: string;
  /** The access token for the platform's services entity (a JWT for it alone) and when it expires (ms). */
  servicesToken: { value: string; expiresAt: number };
  person: SignedInView;
  createdAt: number;
}

const hashed = (value: string) => createHash('sha256').update(value).digest('base64url');

export class PortalState {
  constructor(private readonly kv: KeyValueStore) {}

  async savePending(pending: PendingLogin): Promise<string> {
    const id = randomToken(32);
    await this.kv.set(`portal:login:${id}`, JSON.stringify(pending), PENDING_TTL_SECONDS);
    return id;
  }

  /** One use only: a callback consumes its pending sign-in whatever the outcome. */
  async takePending(id: string): Promise<PendingLogin | null> {
    const raw = await this.kv.take(`portal:login:${id}`);
    return raw ? (JSON.parse(raw) as PendingLogin) : null;
  }

  async createSession(session: PortalSession): Promise<string> {
    const id = randomToken(32);
    await this.kv.set(`portal:session:${id}`, JSON.stringify(session), SESSION_TTL_SECONDS);
    if (session.sid) await this.kv.addToSet(this.sidIndex(session.iss, session.sid), id, SESSION_TTL_SECONDS);
    await this.kv.addToSet(this.subIndex(session.iss, session.sub), id, SESSION_TTL_SECONDS);
    return id;
  }

  async getSession(id: string): Promise<PortalSession | null> {
    const raw = await this.kv.get(`portal:session:${id}`);
    return raw ? (JSON.parse(raw) as PortalSession) : null;
  }

  async deleteSession(id: string): Promise<void> {
    await this.kv.del(`portal:session:${id}`);
  }

  /**
   * Ends the portal sessions a logout token names: those of the OP session `sid` (of subject
   * `sub` too, when both are given), or every session of `sub` when only it is given.
   * Returns how many were ended.
   */
  async endSessions(iss: string, target: { sid?: string; sub?: string }): Promise<number> {
    const index = target.sid ? this.sidIndex(iss, target.sid) : this.subIndex(iss, target.sub!);
    let ended = 0;
    let kept = 0;
    for (const id of await this.kv.members(index)) {
      const session = await this.getSession(id);
      if (!session) continue;
      if (session.iss !== iss || (target.sub && session.sub !== target.sub)) {
        kept++;
        continue;
      }
      await this.deleteSession(id);
      ended++;
    }
    if (kept === 0) await this.kv.del(index);
    return ended;
  }

  /** True the first time a logout token's jti is seen (from that issuer), within `ttlSeconds`. */
  async firstUseOfJti(iss: string, jti: string, ttlSeconds: number): Promise<boolean> {
    return this.kv.setIfAbsent(`portal:logout-jti:${hashed(`${iss}\0${jti}`)}`, '1', ttlSeconds);
  }

  private sidIndex(iss: string, sid: string) {
    return `portal:sid:${hashed(`${iss}\0${sid}`)}`;
  }

  private subIndex(iss: string, sub: string) {
    return `portal:sub:${hashed(`${iss}\0${sub}`)}`;
  }
}
