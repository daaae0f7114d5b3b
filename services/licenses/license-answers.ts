/**
 * How licences are told in answers: a verified one (POST /licenses/verify, `gov-id license
 * verify`: every check passed, the licence's public facts, what its holder chose to disclose),
 * and one kept by its issuer (its state and validity, no personal data).
 */
import { CHECKS } from './license-problems.ts';
import { licenseType } from './license-types.ts';
import type { VerifiedLicense } from './license-verifier.ts';
import type { HeldLicense } from './license-registry.ts';

const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

export function verificationAnswer(v: VerifiedLicense) {
  return {
    valid: true,
    checks: CHECKS,
    license: {
      id: v.id,
      form: v.form,
      issuer: v.issuer,
      type: v.type,
      type_name: licenseType(v.type)!.name,
      holder: v.holder,
      issued_at: iso(v.issuedAt),
      valid_from: iso(v.validFrom),
      valid_until: iso(v.validUntil),
      disclosed: v.disclosed,
      undisclosed: v.undisclosed,
      key_binding: v.keyBinding && { ...v.keyBinding, issued_at: iso(v.keyBinding.issuedAt) },
      signed_with: v.signedWith,
      status: v.status,
    },
  };
}

export function heldLicenseAnswer(l: HeldLicense) {
  return {
    id: l.id,
    type: l.type,
    type_name: licenseType(l.type)!.name,
    state: l.state,
    expired: l.expired,
    issued_at: l.issuedAt,
    valid_from: l.validFrom,
    valid_until: l.validUntil,
  };
}
