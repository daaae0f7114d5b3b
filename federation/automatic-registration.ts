/**
 * Automatic registration (OpenID Federation 1.0, §12.1): an OP accepts a relying party it has
 * never seen when its client_id is an Entity Identifier whose trust chain to a configured trust
 * anchor validates. The OP uses the RP metadata as the chain's metadata policy leaves it; a
 * chain that does not validate, or metadata the policy forbids, means no client. The RP
 * authenticates with private_key_jwt using the keys from that metadata, so no secret is ever
 * shared. Resolved chains are cached until they (or the cache period) expire.
 */
import type { JWK } from 'jose';
import { httpStatementFetcher, resolveTrustChain, TrustChainCache, type StatementFetcher, type TrustAnchor } from './trust-chain.ts';
import { TrustChainError } from './federation-errors.ts';
import { materializeTrustAnchor, type TrustAnchorSource } from './authority-endpoints.ts';
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
  /** Longest time a resolved client is reused before its chain is resolved again (seconds). */
  cacheSeconds?: number;
  onRefused?: (entityId: string, reason: string) => void;
  /** Accept only portals holding a valid government-portal trust mark from an issuer the anchor names. */
  portalTrustMarkRequired?: boolean;
}

/** Looks like an Entity Identifier rather than a client_id an administrator issued. */
export function isEntityIdentifier(clientId: string): boolean {
  return /^https?:\/\/[^/?#]+/.test(clientId);
}

/** Returns a function from client_id to oidc-provider client metadata, or null when not trusted. */
export function automaticRegistration(opts: AutomaticRegistrationOptions) {
  const cache = new TrustChainCache({ maxEntries: 1000 });
  const cacheSeconds = opts.cacheSeconds ?? 300;
  return async (entityId: string): Promise<Record<string, unknown> | null> => {
    if (!isEntityIdentifier(entityId)) return null;
    const now = Math.floor(Date.now() / 1000);
    let chain = cache.get(entityId, now);
    if (!chain) {
      const anchors = (await Promise.all(opts.trustAnchors.map(materializeTrustAnchor))).filter((a): a is TrustAnchor => a !== null);
      try {
        chain = await resolveTrustChain(entityId, {
          trustAnchors: anchors,
          fetcher: opts.fetcher ?? httpStatementFetcher(),
          allowHttpEntityIds: opts.allowHttpEntityIds,
          entityType: 'openid_relying_party',
        });
      } catch (err) {
        if (!(err instanceof TrustChainError)) throw err;
        opts.onRefused?.(entityId, err.message);
        return null;
      }
      if (opts.portalTrustMarkRequired) {
        const anchor = anchors.find((a) => a.entityId === chain!.trustAnchor)!;
        try {
          await requireTrustMark(entityId, chain.trustMarks, GOVERNMENT_PORTAL, {
            trustAnchor: trustAnchorTrustMarkConfig(chain.statements.at(-1)!),
            issuerKeys: trustMarkIssuerKeyResolver({
              trustAnchor: anchor,
              fetcher: opts.fetcher ?? httpStatementFetcher(),
              allowHttpEntityIds: opts.allowHttpEntityIds,
            }),
          });
        } catch (err) {
          if (!(err instanceof TrustMarkError)) throw err;
          opts.onRefused?.(entityId, err.message);
          return null;
        }
      }
      chain = { ...chain, expiresAt: Math.min(chain.expiresAt, now + cacheSeconds) };
      cache.set(entityId, chain);
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
}
