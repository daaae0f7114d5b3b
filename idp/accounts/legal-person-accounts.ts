/**
 * Legal-person accounts and who may act for them. An organization is registered by its legal
 * representative, who holds the representative role; the representative and admin agents
 * authorize other natural persons by ID number with a role, service categories and an expiry.
 * Every change is audited in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../infra/database.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { randomToken } from '../../infra/crypto.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import type { HomePublication } from './natural-person-accounts.ts';

const AAD_USCC = 'legal_persons.uscc';

export type AgentRole = 'representative' | 'admin' | 'agent';

/** Service categories an agent may be authorized for (the `service_categories` claim). */
export const SERVICE_CATEGORIES = ['business', 'tax', 'social_security', 'housing_fund', 'permits'] as const;
export type ServiceCategory = (typeof SERVICE_CATEGORIES)[number];

export interface LegalPerson {
  subject: string;
  orgName: string;
  orgType: string | null;
  usccIndex: string;
  sealedUscc: string;
  representativeSubject: string;
}

/** What a natural person may do for one organization. */
export interface Mandate {
  authorizationId: string;
  legal: LegalPerson;
  role: AgentRole;
  serviceCategories: ServiceCategory[];
  expiresAt: string | null;
}

export interface AgentAuthorization {
  id: string;
  agentName: string;
  role: AgentRole;
  serviceCategories: ServiceCategory[];
  expiresAt: string | null;
  createdAt: string;
}

export class OrganizationExists extends Error {
  constructor() {
    super('organization already registered here');
    this.name = 'OrganizationExists';
  }
}

export class AgentAlreadyAuthorized extends Error {
  constructor() {
    super('this person is already authorized for the organization');
    this.name = 'AgentAlreadyAuthorized';
  }
}

interface MandateRow {
  id: string;
  role: AgentRole;
  service_categories: ServiceCategory[];
  expires_at: Date | null;
  subject: string;
  org_name: string;
  org_type: string | null;
  uscc_index: string;
  uscc_enc: string;
  representative_subject: string;
}

const LIVE = `a.revoked_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > now()) AND l.status = 'active'`;
const MANDATE_COLUMNS =
  'a.id, a.role, a.service_categories, a.expires_at, l.subject, l.org_name, l.org_type, l.uscc_index, l.uscc_enc, l.representative_subject';

function mandateOf(r: MandateRow): Mandate {
  return {
    authorizationId: r.id,
    role: r.role,
    serviceCategories: r.service_categories,
    expiresAt: r.expires_at ? new Date(r.expires_at).toISOString() : null,
    legal: {
      subject: r.subject,
      orgName: r.org_name,
      orgType: r.org_type,
      usccIndex: r.uscc_index,
      sealedUscc: r.uscc_enc,
      representativeSubject: r.representative_subject,
    },
  };
}

export class LegalPersonAccounts {
  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly index: BlindIndex,
    private readonly publishHome?: HomePublication,
  ) {}

  usccIndex(uscc: string) {
    return this.index.of('uscc', uscc);
  }

  usccOf(legal: LegalPerson): string {
    return this.cipher.decrypt(legal.sealedUscc, AAD_USCC);
  }

  async findBySubject(subject: string): Promise<LegalPerson | null> {
    const { rows } = await this.db.query<{
      subject: string;
      org_name: string;
      org_type: string | null;
      uscc_index: string;
      uscc_enc: string;
      representative_subject: string;
    }>(
      `SELECT subject, org_name, org_type, uscc_index, uscc_enc, representative_subject FROM legal_persons WHERE subject = $1 AND status = 'active'`,
      [subject],
    );
    const r = rows[0];
    return r
      ? {
          subject: r.subject,
          orgName: r.org_name,
          orgType: r.org_type,
          usccIndex: r.uscc_index,
          sealedUscc: r.uscc_enc,
          representativeSubject: r.representative_subject,
        }
      : null;
  }

  /** Records who acts in the grant of a legal-person authorization. */
  async bindActor(grantId: string, mandate: Mandate, actorSubject: string, ttlSeconds: number): Promise<void> {
    await this.db.query(
      `INSERT INTO grant_actors (grant_id, legal_subject, actor_subject, authorization_id, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::int))`,
      [grantId, mandate.legal.subject, actorSubject, mandate.authorizationId, ttlSeconds],
    );
  }

  /** The acting person of a grant and their mandate, while that mandate is live; null otherwise. */
  async actorOf(grantId: string): Promise<{ actorSubject: string; mandate: Mandate } | null> {
    const { rows } = await this.db.query<MandateRow & { actor_subject: string }>(
      `SELECT g.actor_subject, ${MANDATE_COLUMNS} FROM grant_actors g
       JOIN agent_authorizations a ON a.id = g.authorization_id JOIN legal_persons l ON l.subject = a.legal_subject
       WHERE g.grant_id = $1 AND g.expires_at > now() AND ${LIVE}`,
      [grantId],
    );
    return rows[0] ? { actorSubject: rows[0].actor_subject, mandate: mandateOf(rows[0]) } : null;
  }

  async isRegistered(uscc: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM legal_persons WHERE uscc_index = $1', [this.usccIndex(uscc)]);
    return rows.length > 0;
  }

  /** Registers the organization with its representative as the first mandate holder. */
  async register(
    input: {
      uscc: string;
      orgName: string;
      orgType: string | null;
      representative: { subject: string; name: string; idNumberIndex: string };
    },
    clientId: string | null,
  ): Promise<string> {
    const subject = randomToken(16);
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO legal_persons (subject, uscc_enc, uscc_index, org_name, org_type, representative_subject) VALUES ($1, $2, $3, $4, $5, $6)',
          [
            subject,
            this.cipher.encrypt(input.uscc, AAD_USCC),
            this.usccIndex(input.uscc),
            input.orgName,
            input.orgType,
            input.representative.subject,
          ],
        );
        await this.insertAuthorization(
          tx,
          subject,
          {
            agentIndex: input.representative.idNumberIndex,
            agentName: input.representative.name,
            role: 'representative',
            serviceCategories: [...SERVICE_CATEGORIES],
            expiresAt: null,
          },
          input.representative.subject,
        );
        await appendAudit(tx, {
          event: 'legal_person.registered',
          subject,
          clientId,
          detail: { representative: input.representative.subject },
        });
        await this.publishHome?.inTransaction(tx, 'legal', input.uscc);
      });
      this.publishHome?.committed();
    } catch (err) {
      if ((err as { code?: string }).code === '23505' || /duplicate key/.test((err as Error).message)) throw new OrganizationExists();
      throw err;
    }
    return subject;
  }

  private async insertAuthorization(
    tx: Queryable,
    legalSubject: string,
    a: { agentIndex: string; agentName: string; role: AgentRole; serviceCategories: ServiceCategory[]; expiresAt: string | null },
    grantedBy: string,
  ): Promise<string> {
    const id = randomUUID();
    await tx.query(
      `INSERT INTO agent_authorizations (id, legal_subject, agent_index, agent_name, role, service_categories, expires_at, granted_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, legalSubject, a.agentIndex, a.agentName, a.role, JSON.stringify(a.serviceCategories), a.expiresAt, grantedBy],
    );
    return id;
  }

  /** The live mandates of a natural person (by the blind index of their ID number). */
  async mandatesOf(idNumberIndex: string): Promise<Mandate[]> {
    const { rows } = await this.db.query<MandateRow>(
      `SELECT ${MANDATE_COLUMNS} FROM agent_authorizations a JOIN legal_persons l ON l.subject = a.legal_subject
       WHERE a.agent_index = $1 AND ${LIVE} ORDER BY l.org_name`,
      [idNumberIndex],
    );
    return rows.map(mandateOf);
  }

  /** The live mandate of a person for one organization, or null (revoked, expired, never). */
  async mandate(idNumberIndex: string, legalSubject: string): Promise<Mandate | null> {
    const { rows } = await this.db.query<MandateRow>(
      `SELECT ${MANDATE_COLUMNS} FROM agent_authorizations a JOIN legal_persons l ON l.subject = a.legal_subject
       WHERE a.agent_index = $1 AND a.legal_subject = $2 AND ${LIVE}`,
      [idNumberIndex, legalSubject],
    );
    return rows[0] ? mandateOf(rows[0]) : null;
  }

  async authorizations(legalSubject: string): Promise<AgentAuthorization[]> {
    const { rows } = await this.db.query<{
      id: string;
      agent_name: string;
      role: AgentRole;
      service_categories: ServiceCategory[];
      expires_at: Date | null;
      created_at: Date;
    }>(
      `SELECT id, agent_name, role, service_categories, expires_at, created_at FROM agent_authorizations
       WHERE legal_subject = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at`,
      [legalSubject],
    );
    return rows.map((r) => ({
      id: r.id,
      agentName: r.agent_name,
      role: r.role,
      serviceCategories: r.service_categories,
      expiresAt: r.expires_at ? new Date(r.expires_at).toISOString() : null,
      createdAt: new Date(r.created_at).toISOString(),
    }));
  }

  async authorize(
    legalSubject: string,
    a: { agentIndex: string; agentName: string; role: 'admin' | 'agent'; serviceCategories: ServiceCategory[]; expiresAt: string | null },
    grantedBy: string,
  ): Promise<string> {
    try {
      return await this.db.transaction(async (tx) => {
        // A lapsed authorization gives way to the new one.
        await tx.query(
          'UPDATE agent_authorizations SET revoked_at = now(), revoked_by = $3 WHERE legal_subject = $1 AND agent_index = $2 AND revoked_at IS NULL AND expires_at <= now()',
          [legalSubject, a.agentIndex, grantedBy],
        );
        const id = await this.insertAuthorization(tx, legalSubject, a, grantedBy);
        await appendAudit(tx, {
          event: 'agent.authorized',
          subject: legalSubject,
          detail: { authorization: id, role: a.role, service_categories: a.serviceCategories, expires_at: a.expiresAt, by: grantedBy },
        });
        return id;
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505' || /duplicate key/.test((err as Error).message)) throw new AgentAlreadyAuthorized();
      throw err;
    }
  }

  /** Revokes an agent's authorization (never the representative's); false when there was none. */
  async revoke(legalSubject: string, authorizationId: string, revokedBy: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const r = await tx.query(
        `UPDATE agent_authorizations SET revoked_at = now(), revoked_by = $3
         WHERE id = $1 AND legal_subject = $2 AND role <> 'representative' AND revoked_at IS NULL`,
        [authorizationId, legalSubject, revokedBy],
      );
      if (r.rowCount !== 1) return false;
      await appendAudit(tx, { event: 'agent.revoked', subject: legalSubject, detail: { authorization: authorizationId, by: revokedBy } });
      return true;
    });
  }
}
