/**
 * Which authority reviews an appeal against a rating: the handling authority's superior in its
 * own line of work (上级主管部门), the authority of the same department one tier up in its region
 * (a city's → its province's → the national one), as the catalog lists them. A tier without that
 * department is skipped; a national authority, with no tier above it, has its appeals reviewed by
 * its own supervisors (staff with the supervisor role there, apart from its rectifiers).
 */
import { regionsAbove } from '../../federation/topology.ts';
import type { Queryable } from '../../infra/database.ts';
import { authority as authorityOf } from '../catalog/catalog-store.ts';

export async function supervisingAuthority(db: Queryable, code: string): Promise<string> {
  const a = await authorityOf(db, code);
  if (!a) return code;
  for (const region of regionsAbove(a.region)) {
    const { rows } = await db.query<{ code: string }>(
      'SELECT code FROM catalog_authorities WHERE region = $1 AND department = $2 ORDER BY code LIMIT 1',
      [region, a.department],
    );
    if (rows[0]) return rows[0].code;
  }
  return code;
}
