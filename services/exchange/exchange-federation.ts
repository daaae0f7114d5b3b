/**
 * What a data-sharing node needs to know of the federation, given by its host (cli/entity-host.ts
 * builds it from trust chains, federation/exchange-nodes.ts): services never read the trust layer
 * themselves.
 */
import type { EntityKeyResolver } from '../../infra/entity-assertion.ts';

export interface ExchangeFederation {
  /** The federation keys of a data-sharing node (a services entity whose trust chain validates); null for anyone else. */
  nodeKeys: EntityKeyResolver;
  /**
   * The route a request arrived with, checked, with this node appended. Throws an HttpError whose
   * code is route_malformed, route_loop or route_too_long.
   */
  extendRoute(route: string[]): string[];
  /** The next node toward the holding node, null when this node holds the data. Throws an HttpError (no_route). */
  nextHop(holder: string): Promise<string | null>;
  /** Every data-sharing node of the federation (where a person's accesses may be logged). */
  nodes(): Promise<string[]>;
  /** This node's trust chain (its entity configuration, its superiors' statements, the anchor's configuration), for an exported log. */
  ownTrustChain(): Promise<string[]>;
}
