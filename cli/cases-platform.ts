/**
 * What a platform's cases need of the topology (services/cases, docs/cases.md): the OP its staff log
 * in at (its accounts' OP), which platform handles an authority's items (the one whose region holds
 * the region of the authority's USCC, characters 3–8) and where its services entity is, and
 * whether two platforms are in one province.
 */
import type { Topology } from '../federation/topology.ts';

export function casesPlatform(topology: Topology, platform: string) {
  const provinceOf = (code: string) => topology.platform(code).province;
  return {
    staffIssuers: [topology.opOf(platform).issuer!],
    handlerOf(authority: string) {
      const handler = topology.platformOfRegion(authority.slice(2, 8));
      return handler === platform ? null : { platform: handler, url: topology.nearestServices(handler).url };
    },
    sameProvince: (a: string, b: string) => provinceOf(a) !== null && provinceOf(a) === provinceOf(b),
  };
}
