/**
 * Where a cross-tier login goes next. The home's trust chain names its superiors up to the trust
 * anchor ([home, its superior, ..., anchor]); a login climbs from the visited OP to the first
 * entity on that path (the common ancestor) and then descends along it to the home. No routing
 * table is kept: the federation's own statements are the map, so a home outside the federation
 * has no chain and no route.
 *
 * Every hop passes on the entities the request already went through (`recognition_route`), so a
 * loop or an overlong route is refused instead of bouncing between brokers.
 */
import { decodeJwt } from 'jose';
import type { TrustChain } from './trust-chain.ts';

/** The authorization parameter carrying the entities a cross-tier request already visited. */
export const ROUTE_PARAM = 'recognition_route';
/** The authorization parameter naming the home the registry gave, so later hops need not ask again. */
export const HOME_HINT_PARAM = 'home_hint';
/** national → province → city and back down: four hops is the longest honest route. */
export const MAX_ROUTE_LENGTH = 6;

export class RoutingError extends Error {
  constructor(
    readonly code: 'route_loop' | 'route_too_long' | 'route_malformed' | 'no_route',
    message: string,
  ) {
    super(message);
    this.name = 'RoutingError';
  }
}

/** [subject, its superior, ..., trust anchor] from a validated trust chain. */
export function federationPath(chain: TrustChain): string[] {
  // statements: subject's configuration, statements issued by each superior, anchor's configuration.
  const issuers = chain.statements.slice(1, -1).map((jwt) => String(decodeJwt(jwt).iss));
  return [chain.subject, ...issuers.filter((iss) => iss !== chain.trustAnchor), chain.trustAnchor];
}

/**
 * The neighbour a login for an account whose home has `homePath` goes to from `self`, or null
 * when `self` is the home. Descends when `self` is on the home's path, climbs otherwise.
 */
export function nextHop(self: string, homePath: string[], superior: string | null): string | null {
  const at = homePath.indexOf(self);
  if (at === 0) return null;
  if (at > 0) return homePath[at - 1]!;
  if (!superior) throw new RoutingError('no_route', `${homePath[0]} is not below ${self}, and ${self} has no superior`);
  return superior;
}

/** Parses and checks the route a request arrived with; returns it with `self` appended. */
export function extendRoute(raw: unknown, self: string): string[] {
  let route: string[] = [];
  if (raw !== undefined && raw !== null && raw !== '') {
    route = String(raw).split(' ');
    if (route.some((e) => !URL.canParse(e)))
      throw new RoutingError('route_malformed', `${ROUTE_PARAM} must be space-separated entity identifiers`);
  }
  if (route.includes(self)) throw new RoutingError('route_loop', `the request already went through ${self} (route: ${route.join(' → ')})`);
  if (route.length + 1 > MAX_ROUTE_LENGTH)
    throw new RoutingError('route_too_long', `the request went through ${route.length} entities; at most ${MAX_ROUTE_LENGTH} are allowed`);
  return [...route, self];
}
