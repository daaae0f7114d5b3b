/**
 * Constraints (OpenID Federation 1.0 §6.2) that need the whole chain: naming constraints on the
 * Entity Identifiers below a subordinate statement.
 *
 * Where the specification leaves a choice or is silent, the choice is marked "SPEC CHOICE".
 */
import { fail, type Constraints } from './trust-chain-parse.ts';

/**
 * §6.2.2: RFC 5280 §4.2.1.10 domain name constraints on the host part of the Entity Identifier.
 * ".example.com" matches any host with one or more labels added to the left (not example.com
 * itself); "host.example.com" matches exactly that host. SPEC CHOICE: host names compare
 * case-insensitively (they are DNS names; the URL parser lower-cases the entity's host).
 */
function hostMatches(host: string, constraint: string): boolean {
  const c = constraint.toLowerCase();
  const h = host.toLowerCase();
  return c.startsWith('.') ? h.length > c.length && h.endsWith(c) : h === c;
}

export function checkNamingConstraints(label: string, nc: NonNullable<Constraints['naming_constraints']>, entityIds: string[]): void {
  for (const id of entityIds) {
    const host = new URL(id).hostname;
    // "Any name matching a restriction in the excluded list is invalid, regardless of the
    // information appearing in the permitted list."
    const excluded = nc.excluded?.find((c) => hostMatches(host, c));
    if (excluded) fail(label, 'constraints', `naming constraint: ${id} is excluded by ${excluded}`);
    if (nc.permitted && !nc.permitted.some((c) => hostMatches(host, c))) {
      fail(label, 'constraints', `naming constraint: ${id} is not within the permitted ${JSON.stringify(nc.permitted)}`);
    }
  }
}
