/**
 * E-licenses by type (电子证照), held by the node of the platform that issued them: one dataset
 * per licence type, its attributes the licence's claims and the holder's name. The node reads
 * the holder's newest licence of the type from its own registry and checks it as any verifier
 * would (signature through its trust chain, validity, status list), so a revoked, suspended or
 * expired licence is no record. Case results are the `case-results` dataset (case-results-dataset.ts).
 */
import type { LicenseRegistry } from '../licenses/license-registry.ts';
import type { LicenseVerifier } from '../licenses/license-verifier.ts';
import { LicenseCheckFailed } from '../licenses/license-problems.ts';
import { HOLDER_CLAIM_LABELS, licenseTypes, type LicenseType } from '../licenses/license-types.ts';
import type { DatasetSource } from './datasets.ts';
import { PURPOSE_CODES } from './purposes.ts';
import { pick } from './registry-datasets.ts';

/** The dataset ID of a licence type. */
export const licenseDatasetId = (type: string) => `license.${type}`;

function licenseDataset(type: LicenseType, registry: LicenseRegistry, verifier: LicenseVerifier): DatasetSource {
  const kind = type.holders[0]!;
  return {
    dataset: {
      id: licenseDatasetId(type.code),
      name: type.name,
      subject: kind,
      attributes: [
        { name: 'name', label: HOLDER_CLAIM_LABELS.name! },
        ...Object.entries(type.claimLabels).map(([name, label]) => ({ name, label })),
      ],
      purposes: PURPOSE_CODES,
    },
    async read(subject, attributes) {
      if (subject.kind !== kind) return null;
      const identifier = subject.kind === 'natural' ? subject.idNumber : subject.uscc;
      const held = (await registry.heldBy(kind, identifier)).find((l) => l.type === type.code && l.state === 'valid' && !l.expired);
      if (!held) return null;
      const { credential } = await registry.credential(held.id, kind, identifier);
      let disclosed: Record<string, unknown>;
      try {
        ({ disclosed } = await verifier.verify(credential));
      } catch (err) {
        if (err instanceof LicenseCheckFailed) return null;
        throw err;
      }
      const values = Object.fromEntries(Object.entries(disclosed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      return pick(values, attributes);
    },
  };
}

/** A dataset for every licence type a holder of one kind holds (case results are a dataset of their own). */
export function licenseDatasets(registry: LicenseRegistry, verifier: LicenseVerifier): DatasetSource[] {
  return licenseTypes()
    .filter((t) => t.code !== 'case_result' && t.holders.length === 1)
    .map((t) => licenseDataset(t, registry, verifier));
}
