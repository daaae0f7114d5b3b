/**
 * Where the person's space reads their e-licences (我的证照, and the standing notice of a licence
 * that expires within 90 days). services-app.ts passes a shelf over the entity's e-license
 * registry (services/licenses/license-bridges.ts: the holder's licences issued here, with their
 * validity); `noLicences` is for a space without a registry.
 */
export interface HeldLicence {
  id: string;
  /** The licence type's code and name (居民户口簿, 营业执照 …). */
  type: string;
  name: string;
  /** The last instant it is valid (ISO), or null when it does not expire. */
  validUntil: string | null;
  state: 'valid' | 'suspended' | 'revoked';
}

export interface LicenceShelf {
  heldBy(idNumber: string): Promise<HeldLicence[]>;
}

export const noLicences: LicenceShelf = { heldBy: async () => [] };
