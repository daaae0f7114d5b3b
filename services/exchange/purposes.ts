/**
 * The purposes a person's data may be shared for. Each falls in one service category (the
 * `service_categories` of legal-person authorizations, idp/accounts/legal-person-accounts.ts):
 * an organization's agent may consent only for purposes whose category their authorization
 * covers. Published in every node's dataset catalog, so the OP's consent page names them.
 */
import type { Purpose } from '../../infra/data-access-detail.ts';

export type Localized = { 'zh-CN': string; en: string };

export const PURPOSES: readonly Purpose[] = [
  {
    code: 'business-registration',
    category: 'business',
    name: { 'zh-CN': '企业开办与变更登记', en: 'Registering or changing a business' },
  },
  { code: 'tax-filing', category: 'tax', name: { 'zh-CN': '税费申报与减免', en: 'Tax filing and relief' } },
  {
    code: 'social-insurance',
    category: 'social_security',
    name: { 'zh-CN': '社会保险参保与待遇', en: 'Social insurance enrolment and benefits' },
  },
  {
    code: 'housing-fund',
    category: 'housing_fund',
    name: { 'zh-CN': '住房公积金缴存与提取', en: 'Housing fund contributions and withdrawals' },
  },
  { code: 'permit-application', category: 'permits', name: { 'zh-CN': '行政许可申请', en: 'Applying for an administrative licence' } },
];

export const PURPOSE_CODES = PURPOSES.map((p) => p.code);
