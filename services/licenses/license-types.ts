/**
 * The licence types (证照类型) every node knows: what each is called, whom it is issued to, which
 * claims it carries (all selectively disclosable in the SD-JWT VC form) and how long it is valid
 * unless the issuer says otherwise. `case_result` is what the case system issues when a case
 * closes (the result of 办件).
 */
import { z } from 'zod';

export type HolderKind = 'natural' | 'legal';

type Label = { 'zh-CN': string; en: string };

export interface LicenseType {
  code: string;
  name: Label;
  /** Who may hold it; both for a case result (a person's or an organization's case). */
  holders: HolderKind[];
  /** The type-specific claims, validated at issuance. */
  claims: z.ZodObject;
  /** Labels of the claims (and of the holder's own) for pages. */
  claimLabels: Record<string, Label>;
  /** Validity when the issuer gives no end; null: no expiry. */
  defaultValidityDays: number | null;
}

/** The `vct` of a licence type (SD-JWT VC §3.2.2.1.1). */
export const VCT_PREFIX = 'urn:gov-id:license:';

const text = (max = 100) => z.string().trim().min(1).max(max);
const date = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'a date, YYYY-MM-DD');

/** The holder's own claims, present in every licence. */
export const HOLDER_CLAIM_LABELS: Record<string, Label> = {
  name: { 'zh-CN': '姓名/名称', en: 'Name' },
  id_number: { 'zh-CN': '公民身份号码', en: 'ID number' },
  uscc: { 'zh-CN': '统一社会信用代码', en: 'Unified social credit code' },
};

const TYPES: LicenseType[] = [
  {
    code: 'resident_id_card',
    name: { 'zh-CN': '居民身份证', en: 'Resident ID card' },
    holders: ['natural'],
    claims: z.strictObject({
      sex: z.enum(['男', '女']),
      ethnicity: text(20),
      birth_date: date,
      address: text(200),
      issuing_authority: text(),
    }),
    claimLabels: {
      sex: { 'zh-CN': '性别', en: 'Sex' },
      ethnicity: { 'zh-CN': '民族', en: 'Ethnicity' },
      birth_date: { 'zh-CN': '出生日期', en: 'Date of birth' },
      address: { 'zh-CN': '住址', en: 'Address' },
      issuing_authority: { 'zh-CN': '签发机关', en: 'Issued by' },
    },
    defaultValidityDays: 20 * 365,
  },
  {
    code: 'household_register_extract',
    name: { 'zh-CN': '户籍证明', en: 'Household register extract' },
    holders: ['natural'],
    claims: z.strictObject({
      household_address: text(200),
      household_head: text(64),
      relationship: text(20),
      registration_authority: text(),
    }),
    claimLabels: {
      household_address: { 'zh-CN': '户籍地址', en: 'Registered address' },
      household_head: { 'zh-CN': '户主姓名', en: 'Head of household' },
      relationship: { 'zh-CN': '与户主关系', en: 'Relationship to the head' },
      registration_authority: { 'zh-CN': '户口登记机关', en: 'Registration authority' },
    },
    defaultValidityDays: 90,
  },
  {
    code: 'driving_licence',
    name: { 'zh-CN': '机动车驾驶证', en: 'Driving licence' },
    holders: ['natural'],
    claims: z.strictObject({
      vehicle_class: z
        .string()
        .regex(/^(A[123]|B[12]|C[1-6]|D|E|F|M|N|P)( (A[123]|B[12]|C[1-6]|D|E|F|M|N|P))*$/, 'vehicle classes like C1'),
      first_issued: date,
      issuing_authority: text(),
    }),
    claimLabels: {
      vehicle_class: { 'zh-CN': '准驾车型', en: 'Vehicle class' },
      first_issued: { 'zh-CN': '初次领证日期', en: 'First issued' },
      issuing_authority: { 'zh-CN': '发证机关', en: 'Issued by' },
    },
    defaultValidityDays: 6 * 365,
  },
  {
    code: 'marriage_certificate',
    name: { 'zh-CN': '结婚证', en: 'Marriage certificate' },
    holders: ['natural'],
    claims: z.strictObject({
      spouse_name: text(64),
      registration_date: date,
      registration_authority: text(),
    }),
    claimLabels: {
      spouse_name: { 'zh-CN': '配偶姓名', en: 'Spouse' },
      registration_date: { 'zh-CN': '登记日期', en: 'Registered on' },
      registration_authority: { 'zh-CN': '登记机关', en: 'Registered by' },
    },
    defaultValidityDays: null,
  },
  {
    code: 'business_license',
    name: { 'zh-CN': '营业执照', en: 'Business licence' },
    holders: ['legal'],
    claims: z.strictObject({
      org_type: text(64),
      legal_representative: text(64),
      established: date,
      address: text(200),
      registration_authority: text(),
    }),
    claimLabels: {
      org_type: { 'zh-CN': '类型', en: 'Type' },
      legal_representative: { 'zh-CN': '法定代表人', en: 'Legal representative' },
      established: { 'zh-CN': '成立日期', en: 'Established' },
      address: { 'zh-CN': '住所', en: 'Address' },
      registration_authority: { 'zh-CN': '登记机关', en: 'Registered by' },
    },
    defaultValidityDays: null,
  },
  {
    code: 'case_result',
    name: { 'zh-CN': '办件结果', en: 'Case result' },
    holders: ['natural', 'legal'],
    claims: z.strictObject({
      case_number: z.string().regex(/^[0-9A-Za-z-]{6,40}$/, 'a case number'),
      item_code: z.string().regex(/^[0-9A-Z]{12,40}$/, 'an item code'),
      item_name: text(200).optional(),
      result: text(500),
      decided_on: date,
      authority: text(),
    }),
    claimLabels: {
      case_number: { 'zh-CN': '办件编号', en: 'Case number' },
      item_code: { 'zh-CN': '事项编码', en: 'Item code' },
      item_name: { 'zh-CN': '事项名称', en: 'Service item' },
      result: { 'zh-CN': '办理结果', en: 'Result' },
      decided_on: { 'zh-CN': '办结日期', en: 'Decided on' },
      authority: { 'zh-CN': '办理机关', en: 'Decided by' },
    },
    defaultValidityDays: null,
  },
];

const BY_CODE = new Map(TYPES.map((t) => [t.code, t]));
export const LICENSE_TYPE_CODES = TYPES.map((t) => t.code) as [string, ...string[]];

export function licenseType(code: string): LicenseType | undefined {
  return BY_CODE.get(code);
}

export function licenseTypes(): readonly LicenseType[] {
  return TYPES;
}

export function vctOf(code: string): string {
  return VCT_PREFIX + code;
}

/** The type a `vct` names, or undefined when it is none of ours. */
export function typeOfVct(vct: unknown): LicenseType | undefined {
  return typeof vct === 'string' && vct.startsWith(VCT_PREFIX) ? BY_CODE.get(vct.slice(VCT_PREFIX.length)) : undefined;
}

/** The public description of every type (GET /licenses/types, pages). */
export function describeTypes() {
  return TYPES.map((t) => ({
    code: t.code,
    vct: vctOf(t.code),
    name: t.name,
    holders: t.holders,
    claims: { ...HOLDER_CLAIM_LABELS, ...t.claimLabels },
    default_validity_days: t.defaultValidityDays,
  }));
}
