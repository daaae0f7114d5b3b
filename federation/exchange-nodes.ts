/**
 * The data-sharing nodes of the federation and how a data request goes between them. A node is a
 * services entity whose trust chain validates (TrustedResources); its place is read from that
 * chain, as a login's route is read from the home's chain (recognition-routing.ts): the chain names
 * the authorities above the node, and each authority's platform has its own node, so the node's
 * path is [the node, the node of each authority above it, ..., the national node]. A request
 * climbs from the requesting node to the first node on the holder's path and descends it.
 */
import { HttpError } from '../infra/errors.ts';
import type { EntityKeyResolver } from '../infra/entity-assertion.ts';
import { extendRoute, nextHop, RoutingError } from './recognition-routing.ts';
import type { TrustedResources } from './trusted-resources.ts';

export interface ExchangeNodesOptions {
  /** This node's entity ID. */
  self: string;
  resources: TrustedResources;
  /** The data-sharing node of an authority's platform (national, a province), or null when it runs none. */
  nodeOf: (authority: string) => string | null;
  /** Every data-sharing node of the federation. */
  nodes: () => string[];
}

function routeError(err: unknown): unknown {
  if (!(err instanceof RoutingError)) return err;
  return new HttpError(err.code === 'no_route' ? 404 : 400, err.code, err.message);
}

export class ExchangeNodes {
  constructor(private readonly o: ExchangeNodesOptions) {}

  readonly nodeKeys: EntityKeyResolver = (id) => this.o.resources.keysOf(id);

  /** [the node, the nodes of the authorities above it, ...], or null when it is no node of the federation. */
  async nodePath(node: string): Promise<string[] | null> {
    const path = await this.o.resources.pathOf(node);
    if (!path) return null;
    const nodes = [node, ...path.slice(1).map((authority) => this.o.nodeOf(authority))].filter((n): n is string => n !== null);
    return nodes.filter((n, i) => n !== nodes[i - 1]);
  }

  extendRoute(route: string[]): string[] {
    try {
      return extendRoute(route.join(' '), this.o.self);
    } catch (err) {
      throw routeError(err);
    }
  }

  async nextHop(holder: string): Promise<string | null> {
    if (holder === this.o.self) return null;
    const [holderPath, ownPath] = await Promise.all([this.nodePath(holder), this.nodePath(this.o.self)]);
    if (!holderPath) throw new HttpError(404, 'no_route', `${holder} is not a data-sharing node of the federation`);
    try {
      return nextHop(this.o.self, holderPath, ownPath?.[1] ?? null);
    } catch (err) {
      throw routeError(err);
    }
  }

  async nodes(): Promise<string[]> {
    return this.o.nodes();
  }

  async ownTrustChain(): Promise<string[]> {
    const statements = await this.o.resources.statementsOf(this.o.self);
    if (!statements) throw new HttpError(503, 'temporarily_unavailable', `the trust chain of ${this.o.self} does not resolve now`);
    return statements;
  }
}
