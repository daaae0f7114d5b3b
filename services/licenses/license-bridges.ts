/**
 * The e-license registry as the other parts of a services entity use it: the case system makes a
 * case's result as a `case_result` licence of the applicant (cases/case-context.ts ResultMaker),
 * and the person's space reads the licences held here (my-space/licence-shelf.ts).
 */
import type { ResultMaker } from '../cases/case-context.ts';
import type { LicenceShelf } from '../my-space/licence-shelf.ts';
import type { LicenseRegistry } from './license-registry.ts';
import { licenseType } from './license-types.ts';

/** Issues the result of an approved case to its applicant; the case record keeps where it is, not its claims. */
export function caseResultMaker(registry: LicenseRegistry, issuer: string): ResultMaker {
  return async (c) => {
    const issued = await registry.issue(
      'case_result',
      // An organization's case gives the organization its result (the applicant's "ID number" is then its USCC).
      c.holder.kind === 'legal'
        ? { kind: 'legal', uscc: c.holder.idNumber, name: c.holder.name }
        : { kind: 'natural', idNumber: c.holder.idNumber, name: c.holder.name },
      {
        case_number: c.number,
        item_code: c.itemCode,
        item_name: c.itemName,
        result: c.resultName,
        decided_on: c.decidedOn,
        authority: c.authority,
      },
    );
    return { kind: 'e_license', id: issued.id, type: issued.type, name: c.resultName, case: c.number, issuer, issued_at: issued.validFrom };
  };
}

export function licenceShelf(registry: LicenseRegistry): LicenceShelf {
  return {
    heldBy: async (idNumber) =>
      (await registry.heldBy('natural', idNumber)).map((l) => ({
        id: l.id,
        type: l.type,
        name: licenseType(l.type)!.name['zh-CN'],
        validUntil: l.validUntil,
        state: l.state,
      })),
  };
}
