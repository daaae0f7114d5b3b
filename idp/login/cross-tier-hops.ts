/**
 * What the login pages and the broker side agree on for a login that crosses tiers: where a
 * neighbour's answer comes back, why a cross-tier login stops, what a verified hop yields, and the
 * hops' interface the pages use (broker/cross-tier-login.ts implements it). Both sides import this
 * module, never each other.
 */
import type { IDToken } from 'openid-client';
import type { LoaLevel } from '../../federation/loa.ts';
import type { RecognizedKind } from '../accounts/recognized-accounts.ts';

/** The redirect URI of this OP as a relying party of its neighbours. */
export const BROKER_CALLBACK_PATH = '/broker/callback';

export type RecognitionRefusal =
  | 'home_untrusted'
  | 'route_loop'
  | 'route_too_long'
  | 'route_malformed'
  | 'no_route'
  | 'home_unavailable'
  | 'hop_expired'
  | 'upstream_error'
  | 'invalid_response'
  | 'home_mismatch'
  | 'loa_above_trust_mark'
  | 'local_account_exists';

/** A cross-tier login that cannot go on; `code` goes to the audit log and picks the message. */
export class RecognitionError extends Error {
  constructor(
    readonly code: RecognitionRefusal,
    message: string,
    /** For `upstream_error`: the OAuth error code the neighbour answered with (e.g. `temporarily_unavailable`). */
    readonly upstreamError?: string,
  ) {
    super(message);
    this.name = 'RecognitionError';
  }

  /** The home (or a hop on the way) is down for now, rather than refusing: the person may try again later. */
  get homeUnavailable(): boolean {
    return this.code === 'home_unavailable' || this.upstreamError === 'temporarily_unavailable';
  }
}

/** The verified outcome of a hop: the claims of the ID token, with the level already capped. */
export interface HopResult {
  kind: RecognizedKind;
  home: string;
  upstream: string;
  claims: IDToken;
  loa: LoaLevel;
  amr: string[];
  authTime: number;
}

/** The interaction this OP is serving, as far as a hop needs it. */
export interface HopInteraction {
  uid: string;
  params: Record<string, unknown>;
  sessionUid?: string;
}

/** The hops of a cross-tier login; every failure is a RecognitionError. */
export interface CrossTierHops {
  /**
   * Pushes the request on towards `home`; returns the URL the browser goes to, the neighbour it
   * reaches and the hop's `state` (its answer comes back with it).
   */
  start(
    interaction: HopInteraction,
    kind: RecognizedKind,
    identifier: string | null,
    home: string,
  ): Promise<{ url: string; next: string; state: string }>;
  /** The interaction a callback belongs to (without consuming the hop), or null. */
  pendingInteraction(state: string): Promise<string | null>;
  /** Redeems the code of a callback (its query string) and verifies the answer. */
  finish(query: string, uid: string): Promise<HopResult>;
}
