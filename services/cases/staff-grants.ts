/**
 * Staff roles (receiver, acceptor, reviewer, decider, sender) granted to a real-name person by an
 * implementing authority's admin. A grant names one authority of the catalog and carries its tier;
 * a person may hold several roles, at several authorities, and acts only where a grant says so.
 * The ID number given at grant time is kept only as a blind index (to match logins) and encrypted.
 */
import type { Database } from '../../infra/database.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import { BadRequest, Forbidden } from '../../infra/errors.ts';
import { parseIdNumber } from '../../infra/identifiers.ts';
import { authority as authorityOf } from '../catalog/catalog-store.ts';
import { STAFF_ROLES, type StaffRole } from './case-lifecycle.ts';

const AAD = 'case_staff_grants.id_number_enc';

export interface StaffGrant {
  authority: string;
  tier: string;
  role: StaffRole;
}

/** A member of staff as their login shows them: their blind index and live grants. */
export interface Staff {
  index: string;
  grants: StaffGrant[];
}

export function parseRoles(raw: string | readonly string[]): StaffRole[] {
  const words = (typeof raw === 'string' ? raw.split(',') : raw).map((r) => r.trim()).filter(Boolean);
  if (words.length === 0) throw new BadRequest('invalid_request', `role: one or more of ${STAFF_ROLES.join(', ')}`);
  for (const w of words)
    if (!STAFF_ROLES.includes(w as StaffRole))
      throw new BadRequest('invalid_request', `role: ${w} is not one of ${STAFF_ROLES.join(', ')}`);
  return [...new Set(words as StaffRole[])];
}

function masked(idNumber: string): string {
  return `${idNumber.slice(0, 4)}**********${idNumber.slice(-4)}`;
}

export class StaffGrants {
  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly blindIndex: BlindIndex,
  ) {}

  indexOf(idNumber: string): string {
    return this.blindIndex.of('id_number', idNumber);
  }

  /** Grants roles at an authority of the catalog; roles already held stay as they are. */
  async grant(input: { idNumber: string; authority: string; roles: StaffRole[]; grantedBy: string }) {
    const idNumber = parseIdNumber(input.idNumber);
    const index = this.indexOf(idNumber);
    return this.db.transaction(async (tx) => {
      const authority = await authorityOf(tx, input.authority);
      if (!authority) throw new BadRequest('unknown_authority', `authority: no authority ${input.authority} in the catalog`);
      const added: StaffRole[] = [];
      for (const role of input.roles) {
        const { rowCount } = await tx.query(
          `INSERT INTO case_staff_grants (person_index, id_number_enc, authority, tier, role, granted_by) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (person_index, authority, role) WHERE revoked_at IS NULL DO NOTHING`,
          [index, this.cipher.encrypt(idNumber, AAD), authority.code, authority.tier, role, input.grantedBy],
        );
        if (rowCount === 1) added.push(role);
      }
      await appendAudit(tx, {
        event: 'staff.granted',
        subject: `authority:${authority.code}`,
        detail: { person_index: index, roles: input.roles, added, granted_by: input.grantedBy },
      });
      return { authority: authority.code, authority_name: authority.name, tier: authority.tier, roles: input.roles, added };
    });
  }

  async revoke(input: { idNumber: string; authority: string; roles: StaffRole[]; revokedBy: string }) {
    const index = this.indexOf(parseIdNumber(input.idNumber));
    return this.db.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        'UPDATE case_staff_grants SET revoked_at = now() WHERE person_index = $1 AND authority = $2 AND role = ANY($3::text[]) AND revoked_at IS NULL',
        [index, input.authority, input.roles],
      );
      await appendAudit(tx, {
        event: 'staff.revoked',
        subject: `authority:${input.authority}`,
        detail: { person_index: index, roles: input.roles, revoked_by: input.revokedBy },
      });
      return { revoked: rowCount };
    });
  }

  /** The live grants of the person with this ID number. */
  async staffOf(idNumber: string): Promise<Staff> {
    const index = this.indexOf(idNumber);
    const { rows } = await this.db.query<StaffGrant>(
      'SELECT authority, tier, role FROM case_staff_grants WHERE person_index = $1 AND revoked_at IS NULL ORDER BY authority, role',
      [index],
    );
    return { index, grants: rows };
  }

  /** Staff of an authority, ID numbers masked. */
  async list(authority: string) {
    const { rows } = await this.db.query<{ id_number_enc: string; person_index: string; roles: StaffRole[] }>(
      `SELECT min(id_number_enc) AS id_number_enc, person_index, array_agg(role ORDER BY role) AS roles
       FROM case_staff_grants WHERE authority = $1 AND revoked_at IS NULL GROUP BY person_index ORDER BY person_index`,
      [authority],
    );
    return rows.map((r) => ({ id_number: masked(this.cipher.decrypt(r.id_number_enc, AAD)), roles: r.roles }));
  }
}

/** The roles a member of staff holds at an authority. */
export function rolesAt(staff: Staff, authority: string): StaffRole[] {
  return staff.grants.filter((g) => g.authority === authority).map((g) => g.role);
}

/**
 * The role under which `staff` may act at `authority` for an event fired by `roles`; a 403 says
 * whether they are outside the authority or lack the role there.
 */
export function roleFor(staff: Staff, authority: string, roles: readonly string[], what: string): StaffRole {
  const held = rolesAt(staff, authority);
  if (held.length === 0) throw new Forbidden('outside_authority', `${what}: you hold no role at authority ${authority}`);
  const role = held.find((r) => roles.includes(r));
  if (!role)
    throw new Forbidden('role_required', `${what} needs the role ${roles.join(' or ')} at ${authority}; you hold ${held.join(', ')}`);
  return role;
}
