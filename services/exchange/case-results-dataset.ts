/**
 * Case results (办件结果), held by the node of the platform that handled the case: what was decided
 * on a person's case and the result made. The request must name the case (a consent names the item
 * or case it serves); a case of another applicant, or not decided yet, is no record of this person.
 */
import type { BlindIndex } from '../../infra/crypto.ts';
import type { Queryable } from '../../infra/database.ts';
import { caseByNumber } from '../cases/case-store.ts';
import type { DatasetSource } from './datasets.ts';
import { PURPOSE_CODES } from './purposes.ts';
import { pick } from './registry-datasets.ts';

export function caseResults(db: Queryable, blindIndex: BlindIndex): DatasetSource {
  return {
    dataset: {
      id: 'case-results',
      name: { 'zh-CN': '办件结果', en: 'Case results' },
      subject: 'natural',
      attributes: [
        { name: 'case_number', label: { 'zh-CN': '办件编号', en: 'Case number' } },
        { name: 'item_name', label: { 'zh-CN': '事项名称', en: 'Service item' } },
        { name: 'outcome', label: { 'zh-CN': '办理结果', en: 'Outcome' } },
        { name: 'decided_on', label: { 'zh-CN': '决定日期', en: 'Decided on' } },
        { name: 'result_name', label: { 'zh-CN': '结果名称', en: 'Result' } },
      ],
      purposes: PURPOSE_CODES,
    },
    async read(subject, attributes, serves) {
      if (subject.kind !== 'natural' || !serves.case) return null;
      const found = await caseByNumber(db, serves.case);
      // The cases' own index of the applicant: the same blind index of the ID number (services/cases/case-context.ts).
      if (!found || found.applicant_index !== blindIndex.of('id_number', subject.idNumber) || !found.outcome) return null;
      return pick(
        {
          case_number: found.number,
          item_name: found.item_name,
          outcome: found.outcome,
          decided_on: found.decided_on ?? '',
          result_name: typeof found.result?.name === 'string' ? found.result.name : '',
        },
        attributes,
      );
    },
  };
}
