/**
 * Automatic registration (OpenID Federation 1.0, §12.1): an OP accepts a relying party it has
 * never seen when its client_id is an Entity Identifier whose trust chain to a configured trust
 * anchor validates. The OP uses the RP metadata as the chain's metadata policy leaves it; a
 * chain that does not validate, or metadata the policy forbids, means no client. The RP
 * authenticates with private_key_jwt using the keys from that metadata, so no secret is ever
 * shared. Resolved chains are cached until they (or the cache period) expire.
 */
import type { JWK } from 'jose';
import type { ChainResolution } from '../infra/metrics.ts';
import {
  httpStatementFetcher,
  resolveTrustChain,
  TrustChainCache,
  type StatementFetcher,
  type TrustAnchor,
  type TrustChain,
} from './trust-chain.ts';
import { TrustChainError } from './federation-errors.ts';
import { materializeTrustAnchor, type TrustAnchorSource } from './authority-endpoints.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import {
  GOVERNMENT_PORTAL,
  requireTrustMark,
  TrustMarkError,
  trustAnchorTrustMarkConfig,
  trustMarkIssuerKeyResolver,
} from './trust-marks.ts';

export interface AutomaticRegistrationOptions {
  trustAnchors: TrustAnchorSource[];
  allowHttpEntityIds: boolean;
  fetcher?: StatementFetcher;
  /** Longest time a resolved client is reused before its chain is resolved again (seconds; default: FEDERATION_DEFAULTS.trustCacheSeconds). */
  cacheSeconds?: number;
  onRefused?: (entityId: string, reason: string) => void;
  /** Accept only portals holding a valid government-portal trust mark from an issuer the anchor names. */
  portalTrustMarkRequired?: boolean;
  /** Told of every chain resolved: while a request waited (`on_demand`) or by `refresh` (`ahead`). */
  onResolved?: (how: ChainResolution) => void;
}

/** Looks like an Entity Identifier rather than a client_id an administrator issued. */
export function isEntityIdentifier(clientId: string): boolean {
  return /^https?:\/\/[^/?#]+/.test(clientId);
}

/** A client whose chain did not validate, or whose marks the OP requires are missing. */
class ClientRefused extends Error {}

/** From client_id to oidc-provider client metadata, or null when not trusted. */
export interface FederationClients {
  (entityId: string): Promise<Record<string, unknown> | null>;
  /**
   * Resolves the client's chain anew, ahead of the remembered one's expiry, and replaces it: the
   * background refresh of an OP's neighbours (neighbour-chains.ts), so that their requests keep
   * finding it remembered. Throws with the reason when the client is not trusted (now).
   */
  refresh(entityId: string, fetcher?: StatementFetcher): Promise<void>;
}

/** Returns a function from client_id to oidc-provider client metadata, or null when not trusted. */
export function automaticRegistration(opts: AutomaticRegistrationOptions): FederationClients {
  const cache = new TrustChainCache({ maxEntries: 1000 });
  const cacheSeconds = opts.cacheSeconds ?? FEDERATION_DEFAULTS.trustCacheSeconds;
  const resolve = async (entityId: string, now: number, fetcher = opts.fetcher ?? httpStatementFetcher()): Promise<TrustChain> => {
    const anchors = (await Promise.all(opts.trustAnchors.map(materializeTrustAnchor))).filter((a): a is TrustAnchor => a !== null);
    let chain: TrustChain;
    try {
      chain = await resolveTrustChain(entityId, {
        trustAnchors: anchors,
        fetcher,
        allowHttpEntityIds: opts.allowHttpEntityIds,
        entityType: 'openid_relying_party',
      });
    } catch (err) {
      if (!(err instanceof TrustChainError)) throw err;
      throw new ClientRefused(err.message);
    }
    if (opts.portalTrustMarkRequired) {
      const anchor = anchors.find((a) => a.entityId === chain.trustAnchor)!;
      try {
        await requireTrustMark(entityId, chain.trustMarks, GOVERNMENT_PORTAL, {
          trustAnchor: trustAnchorTrustMarkConfig(chain.statements.at(-1)!),
          issuerKeys: trustMarkIssuerKeyResolver({ trustAnchor: anchor, fetcher, allowHttpEntityIds: opts.allowHttpEntityIds }),
        });
      } catch (err) {
        if (!(err instanceof TrustMarkError)) throw err;
        throw new ClientRefused(err.message);
      }
    }
    chain = { ...chain, expiresAt: Math.min(chain.expiresAt, now + cacheSeconds) };
    cache.set(entityId, chain);
    return chain;
  };
  const clients = async (entityId: string): Promise<Record<string, unknown> | null> => {
    if (!isEntityIdentifier(entityId)) return null;
    const now = Math.floor(Date.now() / 1000);
    let chain = cache.get(entityId, now);
    if (!chain) {
      try {
        opts.onResolved?.('on_demand');
        chain = await resolve(entityId, now);
      } catch (err) {
        if (!(err instanceof ClientRefused)) throw err;
        opts.onRefused?.(entityId, err.message);
        return null;
      }
    }
    const rp = chain.metadata.openid_relying_party;
    if (!rp) {
      opts.onRefused?.(entityId, 'no openid_relying_party metadata');
      return null;
    }
    const jwks = rp.jwks as { keys: JWK[] } | undefined;
    return {
      ...rp,
      client_id: entityId,
      // §12.1: automatically registered clients authenticate with their federation-published keys.
      token_endpoint_auth_method:
        rp.token_endpoint_auth_method === 'private_key_jwt' || !rp.token_endpoint_auth_method
          ? 'private_key_jwt'
          : rp.token_endpoint_auth_method,
      ...(jwks ? { jwks } : {}),
      client_secret: undefined,
    };
  };
  return Object.assign(clients, {
    refresh: async (entityId: string, fetcher?: StatementFetcher) => {
      if (!isEntityIdentifier(entityId)) throw new ClientRefused(`${entityId} is not an entity identifier`);
      opts.onResolved?.('ahead');
      await resolve(entityId, Math.floor(Date.now() / 1000), fetcher);
    },
  });
}
