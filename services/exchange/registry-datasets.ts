/**
 * The base registries' datasets: population facts (人口基础信息) and legal-person facts (法人基础信息),
 * served by the node that holds the registries. Sex, birth date and the region of registration
 * are read from the ID number itself (GB 11643), the name from the registry.
 */
import type { PopulationRegistry } from '../population/population-registry.ts';
import type { LegalPersonRegistry } from '../legal-persons/legal-person-registry.ts';
import { PURPOSE_CODES } from './purposes.ts';
import type { DatasetSource } from './datasets.ts';

export function pick(values: Record<string, string>, attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.filter((a) => a in values).map((a) => [a, values[a]!]));
}

export function populationFacts(population: PopulationRegistry): DatasetSource {
  return {
    dataset: {
      id: 'population-facts',
      name: { 'zh-CN': '人口基础信息', en: 'Population facts' },
      subject: 'natural',
      attributes: [
        { name: 'name', label: { 'zh-CN': '姓名', en: 'Name' } },
        { name: 'sex', label: { 'zh-CN': '性别', en: 'Sex' } },
        { name: 'birth_date', label: { 'zh-CN': '出生日期', en: 'Date of birth' } },
        { name: 'region_code', label: { 'zh-CN': '户籍地行政区划代码', en: 'Region of registration (code)' } },
      ],
      purposes: PURPOSE_CODES,
    },
    async read(subject, attributes) {
      if (subject.kind !== 'natural') return null;
      const name = await population.nameOf(subject.idNumber);
      if (name === null) return null;
      const id = subject.idNumber;
      return pick(
        {
          name,
          sex: Number(id[16]) % 2 === 1 ? 'male' : 'female',
          birth_date: `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`,
          region_code: id.slice(0, 6),
        },
        attributes,
      );
    },
  };
}

export function legalPersonFacts(legalPersons: LegalPersonRegistry): DatasetSource {
  return {
    dataset: {
      id: 'legal-person-facts',
      name: { 'zh-CN': '法人基础信息', en: 'Legal-person facts' },
      subject: 'legal',
      attributes: [
        { name: 'org_name', label: { 'zh-CN': '名称', en: 'Name' } },
        { name: 'org_type', label: { 'zh-CN': '类型', en: 'Type' } },
        { name: 'representative_name', label: { 'zh-CN': '法定代表人', en: 'Legal representative' } },
      ],
      purposes: PURPOSE_CODES,
    },
    async read(subject, attributes) {
      if (subject.kind !== 'legal') return null;
      const org = await legalPersons.find(subject.uscc);
      return org && pick({ org_name: org.name, org_type: org.type, representative_name: org.representativeName }, attributes);
    },
  };
}
