/**
 * The legal-person registry (法人库), demo edition. OPs ask it whether an organization exists
 * under a code and name and whether a given natural person is its legal representative.
 */
import type { Database, Queryable } from '../../infra/database.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import { parseIdNumber } from '../../infra/identifiers.ts';
import { randomDraw, seededDraw, type Draw } from '../population/synthetic-persons.ts';
import { syntheticOrganization, type SyntheticOrganization } from './synthetic-organizations.ts';
import type { PopulationRegistry } from '../population/population-registry.ts';

const SEED = 20260202;
const SEED_COUNT = 50;
const AAD_USCC = 'organizations.uscc';
const AAD_REP = 'organizations.representative_id';

export interface Organization extends SyntheticOrganization {
  representative: { name: string; id_number: string };
}

export interface RepresentativeCheck {
  /** The code is registered. */
  found: boolean;
  /** The registered name equals the one given. */
  nameMatches: boolean;
  /** The person (name and ID number) is the legal representative. */
  representative: boolean;
  type?: string;
}

export class LegalPersonRegistry {
  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly index: BlindIndex,
    private readonly population: PopulationRegistry,
  ) {}

  private async insert(tx: Queryable, org: Organization): Promise<boolean> {
    const r = await tx.query(
      `INSERT INTO organizations (uscc_index, uscc_enc, name, org_type, representative_name, representative_id_index, representative_id_enc)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [
        this.index.of('uscc', org.uscc),
        this.cipher.encrypt(org.uscc, AAD_USCC),
        org.name,
        org.type,
        org.representative.name,
        this.index.of('id_number', org.representative.id_number),
        this.cipher.encrypt(org.representative.id_number, AAD_REP),
      ],
    );
    return r.rowCount === 1;
  }

  /** Deterministic demo organizations, represented by persons of the seeded population. */
  async seed(representatives: { name: string; idNumber: string }[]): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':seed-orgs'))");
      const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM organizations');
      if (rows[0]!.n > 0 || representatives.length === 0) return 0;
      const draw = seededDraw(SEED);
      let added = 0;
      while (added < SEED_COUNT) {
        const rep = representatives[added % representatives.length]!;
        if (await this.insert(tx, { ...syntheticOrganization(draw), representative: { name: rep.name, id_number: rep.idNumber } })) added++;
      }
      return added;
    });
  }

  /**
   * A new organization with an unused code. Its representative is the registered person with
   * `repIdNumber` when given (null if there is none), otherwise a new synthetic person.
   */
  async addSynthetic(
    repIdNumber?: string,
    draw: Draw = randomDraw,
  ): Promise<(Organization & { representative: { phone?: string } }) | null> {
    let representative: { name: string; id_number: string; phone?: string };
    if (repIdNumber) {
      const idNumber = parseIdNumber(repIdNumber);
      const name = await this.population.nameOf(idNumber);
      if (!name) return null;
      representative = { name, id_number: idNumber };
    } else {
      const p = await this.population.addSynthetic(undefined, draw);
      representative = { name: p.name, id_number: p.idNumber, phone: p.phone };
    }
    return this.db.transaction(async (tx) => {
      for (;;) {
        const org = { ...syntheticOrganization(draw), representative };
        if (await this.insert(tx, org)) {
          await appendAudit(tx, {
            event: 'legal_person_registry.organization_added',
            detail: { uscc_index: this.index.of('uscc', org.uscc) },
          });
          return org;
        }
      }
    });
  }

  /** The registered organization: its name, type and legal representative's name; null when the code is not registered. */
  async find(uscc: string): Promise<{ name: string; type: string; representativeName: string } | null> {
    const { rows } = await this.db.query<{ name: string; org_type: string; representative_name: string }>(
      'SELECT name, org_type, representative_name FROM organizations WHERE uscc_index = $1',
      [this.index.of('uscc', uscc)],
    );
    return rows[0] ? { name: rows[0].name, type: rows[0].org_type, representativeName: rows[0].representative_name } : null;
  }

  async checkRepresentative(uscc: string, orgName: string, repName: string, repIdNumber: string): Promise<RepresentativeCheck> {
    const { rows } = await this.db.query<{ name: string; org_type: string; representative_name: string; representative_id_index: string }>(
      'SELECT name, org_type, representative_name, representative_id_index FROM organizations WHERE uscc_index = $1',
      [this.index.of('uscc', uscc)],
    );
    const org = rows[0];
    if (!org) return { found: false, nameMatches: false, representative: false };
    return {
      found: true,
      nameMatches: org.name === orgName.trim(),
      representative: org.representative_name === repName.trim() && org.representative_id_index === this.index.of('id_number', repIdNumber),
      type: org.org_type,
    };
  }
}
