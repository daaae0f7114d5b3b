/**
 * The population registry (人口库), demo edition. It answers one question for OPs — do this name
 * and this ID number belong together — and nothing more. ID numbers and phones are encrypted at
 * rest and found through blind indexes.
 */
import type { Database, Queryable } from '../../infra/database.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import { appendAudit } from '../../infra/audit-log.ts';
import { parseIdNumber, parsePhone } from '../../infra/identifiers.ts';
import { randomDraw, seededDraw, syntheticPerson, type Draw, type SyntheticPerson } from './synthetic-persons.ts';

const SEED = 20260101;
const SEED_COUNT = 200;
const AAD_ID = 'persons.id_number';
const AAD_PHONE = 'persons.phone';

export class PopulationRegistry {
  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly index: BlindIndex,
  ) {}

  private idIndex(idNumber: string) {
    return this.index.of('id_number', idNumber);
  }

  private async insert(tx: Queryable, p: SyntheticPerson): Promise<boolean> {
    const r = await tx.query(
      'INSERT INTO persons (id_number_index, id_number_enc, name, phone_enc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [this.idIndex(p.idNumber), this.cipher.encrypt(p.idNumber, AAD_ID), p.name, this.cipher.encrypt(p.phone, AAD_PHONE)],
    );
    return r.rowCount === 1;
  }

  /** The deterministic demo population, written once into an empty registry. */
  async seed(): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':seed'))");
      const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM persons');
      if (rows[0]!.n > 0) return 0;
      const draw = seededDraw(SEED);
      let added = 0;
      while (added < SEED_COUNT) if (await this.insert(tx, syntheticPerson(draw))) added++;
      return added;
    });
  }

  /** Adds a person with a fresh, unused ID number (and the given name, when given). */
  async addSynthetic(name?: string, draw: Draw = randomDraw): Promise<SyntheticPerson> {
    return this.db.transaction(async (tx) => {
      for (;;) {
        const person = syntheticPerson(draw, name);
        if (await this.insert(tx, person)) {
          await appendAudit(tx, { event: 'population.person_added', detail: { id_number_index: this.idIndex(person.idNumber) } });
          return person;
        }
      }
    });
  }

  /** Adds a given person (admin import); false when the ID number is already registered. */
  async add(person: SyntheticPerson): Promise<boolean> {
    const p = { name: person.name, idNumber: parseIdNumber(person.idNumber), phone: parsePhone(person.phone) };
    return this.db.transaction(async (tx) => {
      const added = await this.insert(tx, p);
      if (added) await appendAudit(tx, { event: 'population.person_added', detail: { id_number_index: this.idIndex(p.idNumber) } });
      return added;
    });
  }

  /** The registered name of an ID number, or null. */
  async nameOf(idNumber: string): Promise<string | null> {
    const { rows } = await this.db.query<{ name: string }>('SELECT name FROM persons WHERE id_number_index = $1', [this.idIndex(idNumber)]);
    return rows[0]?.name ?? null;
  }

  /** The first persons of the seeded population (to represent the seeded organizations). */
  seededPersons(count: number): { name: string; idNumber: string }[] {
    const draw = seededDraw(SEED);
    return Array.from({ length: count }, () => syntheticPerson(draw)).map((p) => ({ name: p.name, idNumber: p.idNumber }));
  }

  /** True only when the ID number is registered under exactly this name. */
  async verify(name: string, idNumber: string): Promise<boolean> {
    return (await this.nameOf(idNumber)) === name.trim();
  }
}
