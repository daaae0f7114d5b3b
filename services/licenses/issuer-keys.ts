/**
 * What a licence verifier asks the federation: the key an issuer signed with, as the issuer's
 * trust chain to the anchor vouches for it (or, after a rotation, as the issuer's historical keys
 * list it). The services layer talks to the trust layer only through this question; the host
 * answers it with federation/entity-signing-keys.ts, the command line likewise.
 */
import type { JWK } from 'jose';

export type IssuerKeyAnswer =
  | {
      ok: true;
      key: JWK;
      /** A retired key (from the historical keys): when it started and stopped signing, seconds since the epoch. */
      activeFrom?: number;
      retiredAt?: number;
    }
  | {
      ok: false;
      /** untrusted: no valid chain; unreachable: its statements did not come; unknown_key: the chain has no such key. */
      problem: 'untrusted' | 'unreachable' | 'unknown_key';
      detail: string;
    };

export type IssuerKeyLookup = (issuer: string, kid: string) => Promise<IssuerKeyAnswer>;
