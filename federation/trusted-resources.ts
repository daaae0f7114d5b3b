/**
 * The services entities of the federation as OAuth resource servers: an entity whose trust chain
 * validates with `oauth_resource` metadata. An OP issues access tokens only for such a resource
 * (RFC 8707 `resource`), and answers only such an entity when it asks who a token's subject is.
 * Like TrustedOps, every answer comes from the live federation (chains through the authorities'
 * current configurations), never from the topology file.
 */
import { decodeJwt, type JSONWebKeySet } from 'jose';
import { resolveTrustChain, TrustChainCache, type StatementFetcher, type TrustAnchor, type TrustChain } from './trust-chain.ts';
import { materializeTrustAnchor, type TrustAnchorSource } from './authority-endpoints.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import { TrustChainError } from './federation-errors.ts';
import { federationPath } from './recognition-routing.ts';

export const RESOURCE_ENTITY_TYPE = 'oauth_resource';

/** Where an OP tells a resource server of the federation who a token's subject is (idp/service-access). */
export const SERVICES_PERSON_PATH = '/service-access/person';

export interface TrustedResourcesOptions {
  trustAnchors: TrustAnchorSource[];
  allowHttpEntityIds: boolean;
  fetcher: StatementFetcher;
}

export class TrustedResources {
  private readonly chains = new TrustChainCache({ maxEntries: 1000 });
  /** Resolutions under way: concurrent first requests about one resource share one. */
  private readonly resolving = new Map<string, Promise<TrustChain | null>>();

  constructor(private readonly opts: TrustedResourcesOptions) {}

  /** True when `entityId` is a resource server of the federation now. */
  async isResource(entityId: string): Promise<boolean> {
    return (await this.chain(entityId)) !== null;
  }

  /** [the resource server, its superior, ..., the trust anchor] when it is one of the federation now, else null. */
  async pathOf(entityId: string): Promise<string[] | null> {
    const chain = await this.chain(entityId);
    return chain ? federationPath(chain) : null;
  }

  /** Its validated trust chain's statements (its configuration, its superiors' statements, the anchor's configuration); null for anyone else. */
  async statementsOf(entityId: string): Promise<string[] | null> {
    return (await this.chain(entityId))?.statements ?? null;
  }

  /** The federation keys of a resource server (from its validated entity configuration); null for anyone else. */
  async keysOf(entityId: string): Promise<JSONWebKeySet | null> {
    const chain = await this.chain(entityId);
    return chain ? (decodeJwt(chain.statements[0]!).jwks as JSONWebKeySet) : null;
  }

  private async chain(entityId: string): Promise<TrustChain | null> {
    if (!URL.canParse(entityId)) return null;
    const now = Math.floor(Date.now() / 1000);
    const hit = this.chains.get(entityId, now);
    if (hit) return hit;
    let pending = this.resolving.get(entityId);
    if (!pending) {
      const started = this.resolve(entityId, now).finally(() => this.resolving.delete(entityId));
      this.resolving.set(entityId, (pending = started));
    }
    return pending;
  }

  private async resolve(entityId: string, now: number): Promise<TrustChain | null> {
    const anchors = (await Promise.all(this.opts.trustAnchors.map(materializeTrustAnchor))).filter((a): a is TrustAnchor => a !== null);
    try {
      const chain = await resolveTrustChain(entityId, {
        trustAnchors: anchors,
        fetcher: this.opts.fetcher,
        allowHttpEntityIds: this.opts.allowHttpEntityIds,
        entityType: RESOURCE_ENTITY_TYPE,
      });
      this.chains.set(entityId, { ...chain, expiresAt: Math.min(chain.expiresAt, now + FEDERATION_DEFAULTS.trustCacheSeconds) });
      return chain;
    } catch (err) {
      if (err instanceof TrustChainError) return null;
      throw err;
    }
  }
}
