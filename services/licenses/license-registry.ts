/**
 * The e-license registry (电子证照库) of one issuing services entity: issues licences as SD-JWT VCs
 * signed with the entity's federation key, keeps each (encrypted) with its status, changes its
 * status, lists a holder's licences and makes their presentations. `issue` is also how the case
 * system issues case results (docs/licenses.md, "Issuing").
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SDJwtVcInstance, type SdJwtVcPayload } from '@sd-jwt/sd-jwt-vc';
import { appendAudit } from '../../infra/audit-log.ts';
import type { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import type { Database } from '../../infra/database.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { BadRequest, NotFound } from '../../infra/errors.ts';
import { parseIdNumber, parseUscc } from '../../infra/identifiers.ts';
import { validate } from '../../infra/validation.ts';
import type { DirectoryWriter } from './license-directory.ts';
import { hasher, SD_ALG, saltGenerator } from './license-format.ts';
import { licenseType, vctOf, type HolderKind, type LicenseType } from './license-types.ts';
import { nextState, type LicenseAction, type LicenseState } from './license-states.ts';
import type { HolderKeys } from './holder-keys.ts';
import type { StatusLists } from './status-lists.ts';
import { signer } from './jws.ts';

const AAD = 'licenses.credential';
const DAY_MS = 86_400_000;

export type LicenseHolder = { kind: 'natural'; idNumber: string; name: string } | { kind: 'legal'; uscc: string; name: string };

export interface Validity {
  /** Default: now. */
  from?: Date;
  /** Default: from + the type's default validity; null: no expiry. */
  until?: Date | null;
}

export interface IssuedLicense {
  id: string;
  type: string;
  /** The SD-JWT VC with every disclosure: the holder's licence. */
  credential: string;
  validFrom: string;
  validUntil: string | null;
}

export interface HeldLicense {
  id: string;
  type: string;
  state: LicenseState;
  /** Past its validity (a status of time, not of the list). */
  expired: boolean;
  issuedAt: string;
  validFrom: string;
  validUntil: string | null;
}

interface LicenseRow {
  id: string;
  type: string;
  holder_kind: HolderKind;
  holder_index: string;
  status_list: number;
  state: LicenseState;
  valid_from: Date;
  valid_until: Date | null;
  issued_at: Date;
  credential_enc: string;
}

export interface LicenseRegistryOptions {
  db: Database;
  cipher: FieldCipher;
  blindIndex: BlindIndex;
  /** This entity's ID: the licences' `iss`. */
  self: string;
  signingKey: () => PrivateJwk;
  statusLists: StatusLists;
  holderKeys: HolderKeys;
  directory: DirectoryWriter;
  /** Told after a status changed (the entity's own verifier reads the list again). */
  onStatusChanged?: (statusListUri: string) => void;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function identifierOf(holder: LicenseHolder): string {
  return holder.kind === 'natural' ? parseIdNumber(holder.idNumber) : parseUscc(holder.uscc);
}

export class LicenseRegistry {
  readonly #signers = new Map<string, ReturnType<typeof signer>>();

  constructor(private readonly o: LicenseRegistryOptions) {}

  /** The holder's blind index in this entity's tables (the one the base registries use too). */
  holderIndex(kind: HolderKind, identifier: string): string {
    return this.o.blindIndex.of(kind === 'natural' ? 'id_number' : 'uscc', identifier);
  }

  /** The licence's `sub`: a pseudonym of the holder at this issuer, unlinkable without its key. */
  private holderSubject(kind: HolderKind, identifier: string): string {
    return this.o.blindIndex.of('license_subject', `${kind}:${identifier}`);
  }

  private sdJwt(key: PrivateJwk, holderKey?: PrivateJwk): SDJwtVcInstance {
    let sign = this.#signers.get(key.kid);
    if (!sign) this.#signers.set(key.kid, (sign = signer(key)));
    return new SDJwtVcInstance({
      signer: sign,
      signAlg: key.alg,
      hasher,
      hashAlg: SD_ALG,
      saltGenerator,
      ...(holderKey ? { kbSigner: signer(holderKey), kbSignAlg: holderKey.alg } : {}),
    });
  }

  /**
   * Issues a licence of `type` to `holder` with the type's `claims`, valid over `validity`:
   * 400 naming the field when anything is wrong, nothing written then.
   */
  async issue(type: string, holder: LicenseHolder, claims: Record<string, unknown>, validity: Validity = {}): Promise<IssuedLicense> {
    const t = licenseType(type);
    if (!t) throw new BadRequest('invalid_request', `type: no licence type ${type}`);
    if (!t.holders.includes(holder.kind))
      throw new BadRequest('invalid_request', `holder: a ${t.code} is not issued to a ${holder.kind} person`);
    const identifier = identifierOf(holder);
    const name = holder.name.trim();
    if (!name || name.length > 200) throw new BadRequest('invalid_request', 'holder.name: 1 to 200 characters');
    // Wrapped, so that a refusal names the field as the caller sent it (claims.vehicle_class).
    const typeClaims = validate(z.object({ claims: t.claims }), { claims }).claims as Record<string, unknown>;
    const { from, until } = this.validityOf(t, validity);
    const holderIndex = this.holderIndex(holder.kind, identifier);
    const id = randomUUID();
    const key = this.o.signingKey();

    const issued = await this.o.db.transaction(async (tx) => {
      const holderKey = await this.o.holderKeys.ensure(tx, holderIndex);
      let credential = '';
      const slot = await this.o.statusLists.takeSlot(tx, async (s) => {
        const idClaim = holder.kind === 'natural' ? 'id_number' : 'uscc';
        const payload: SdJwtVcPayload = {
          iss: this.o.self,
          iat: Math.floor(Date.now() / 1000),
          nbf: Math.floor(from.getTime() / 1000),
          ...(until ? { exp: Math.floor(until.getTime() / 1000) } : {}),
          vct: vctOf(t.code),
          jti: id,
          sub: this.holderSubject(holder.kind, identifier),
          holder_kind: holder.kind,
          status: { status_list: { idx: s.idx, uri: s.uri } },
          cnf: { jwk: holderKey },
          name,
          [idClaim]: identifier,
          ...typeClaims,
        };
        // Every claim of the holder is selectively disclosable; type, issuer, validity and status are not.
        const frame = { _sd: ['name', idClaim, ...Object.keys(typeClaims)] } as Parameters<SDJwtVcInstance['issue']>[1];
        credential = await this.sdJwt(key).issue(payload, frame, { header: { kid: key.kid } });
        const r = await tx.query(
          `INSERT INTO licenses (id, type, holder_kind, holder_index, status_list, status_idx, state, valid_from, valid_until, credential_enc)
           VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7, $8, $9) ON CONFLICT (status_list, status_idx) DO NOTHING`,
          [id, t.code, holder.kind, holderIndex, s.list, s.idx, from, until, this.o.cipher.encrypt(credential, AAD)],
        );
        return r.rowCount === 1;
      });
      await this.o.directory.inTransaction(tx, { holderKind: holder.kind, identifier, type: t.code });
      await appendAudit(tx, {
        event: 'license.issued',
        subject: holderIndex,
        detail: { license: id, type: t.code, status_list: slot.list },
      });
      return credential;
    });
    void this.o.directory.deliver().catch(() => undefined);
    return { id, type: t.code, credential: issued, validFrom: from.toISOString(), validUntil: iso(until) };
  }

  private validityOf(t: LicenseType, v: Validity): { from: Date; until: Date | null } {
    const from = v.from ?? new Date();
    const until =
      v.until !== undefined ? v.until : t.defaultValidityDays === null ? null : new Date(from.getTime() + t.defaultValidityDays * DAY_MS);
    if (until && until.getTime() <= from.getTime()) throw new BadRequest('invalid_request', 'valid_until: must be after valid_from');
    return { from, until };
  }

  /** Suspends, reinstates or revokes a licence; 404 when there is none, 409 license_state when its state does not allow it. */
  async changeState(id: string, action: LicenseAction, reason: string): Promise<{ id: string; state: LicenseState }> {
    const changed = await this.o.db.transaction(async (tx) => {
      const { rows } = await tx.query<Pick<LicenseRow, 'state' | 'status_list' | 'holder_index' | 'type'>>(
        'SELECT state, status_list, holder_index, type FROM licenses WHERE id = $1 FOR UPDATE',
        [id],
      );
      const row = rows[0];
      if (!row) throw new NotFound(`no licence ${id}`, 'license_not_found');
      const state = nextState(row.state, action);
      await tx.query('UPDATE licenses SET state = $2, state_reason = $3, state_changed_at = now() WHERE id = $1', [id, state, reason]);
      await appendAudit(tx, {
        event: `license.${action}d`,
        subject: row.holder_index,
        detail: { license: id, type: row.type, from: row.state, to: state, reason },
      });
      return { state, list: row.status_list };
    });
    this.o.statusLists.changed(changed.list);
    this.o.onStatusChanged?.(this.o.statusLists.uri(changed.list));
    return { id, state: changed.state };
  }

  /** Status of a licence for its issuer's staff (no personal data). */
  async summary(id: string): Promise<HeldLicense> {
    const { rows } = await this.o.db.query<LicenseRow>('SELECT * FROM licenses WHERE id = $1', [id]);
    if (!rows[0]) throw new NotFound(`no licence ${id}`, 'license_not_found');
    return this.held(rows[0]);
  }

  private held(r: LicenseRow): HeldLicense {
    return {
      id: r.id,
      type: r.type,
      state: r.state,
      expired: r.valid_until !== null && new Date(r.valid_until).getTime() <= Date.now(),
      issuedAt: iso(r.issued_at)!,
      validFrom: iso(r.valid_from)!,
      validUntil: iso(r.valid_until),
    };
  }

  /** The holder's licences issued here, newest first. */
  async heldBy(kind: HolderKind, identifier: string): Promise<HeldLicense[]> {
    const { rows } = await this.o.db.query<LicenseRow>('SELECT * FROM licenses WHERE holder_index = $1 ORDER BY issued_at DESC', [
      this.holderIndex(kind, identifier),
    ]);
    return rows.map((r) => this.held(r));
  }

  /** The full licence (every disclosure), for its holder only: 404 for anyone else, as for no licence. */
  async credential(id: string, kind: HolderKind, identifier: string): Promise<{ license: HeldLicense; credential: string }> {
    const { rows } = await this.o.db.query<LicenseRow>('SELECT * FROM licenses WHERE id = $1 AND holder_index = $2', [
      id,
      this.holderIndex(kind, identifier),
    ]);
    if (!rows[0]) throw new NotFound(`no licence ${id} of yours`, 'license_not_found');
    return { license: this.held(rows[0]), credential: this.o.cipher.decrypt(rows[0].credential_enc, AAD) };
  }

  /**
   * A presentation of the holder's licence disclosing only `disclose` (claim names), bound to the
   * verifier (`audience`) and its `nonce` with a Key Binding JWT signed by the holder's custodial key.
   */
  async present(
    id: string,
    kind: HolderKind,
    identifier: string,
    request: { disclose: string[]; audience: string; nonce: string },
  ): Promise<string> {
    const { credential } = await this.credential(id, kind, identifier);
    const holderKey = await this.o.holderKeys.find(this.o.db, this.holderIndex(kind, identifier));
    if (!holderKey) throw new NotFound(`no licence ${id} of yours`, 'license_not_found');
    const sdJwt = this.sdJwt(this.o.signingKey(), holderKey);
    const disclosable = await sdJwt.presentableKeys(credential);
    const unknown = request.disclose.filter((n) => !disclosable.includes(n));
    if (unknown.length) throw new BadRequest('invalid_request', `disclose: the licence has no claim ${unknown.join(', ')}`);
    return sdJwt.present(credential, Object.fromEntries(request.disclose.map((n) => [n, true])), {
      kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: request.audience, nonce: request.nonce } },
    });
  }
}
