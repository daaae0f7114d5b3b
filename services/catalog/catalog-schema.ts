/**
 * The element set of the service catalog, declared once: the import/export file, the API's bodies
 * and their validation errors (which name the element by its path) all come from these schemas.
 * Codes are checked for their structure here; rules that relate items to each other (parents,
 * directory vs implementation) are in catalog-rules.ts.
 */
import { z } from 'zod';
import { basicCodeProblem, handlingCodeProblem, implementingCodeProblem, usccProblem } from './item-codes.ts';

export const TIERS = ['national', 'province', 'city'] as const;
export const USER_TYPES = ['natural', 'legal'] as const;
export const LOAS = ['loa1', 'loa2', 'loa3'] as const;

/** Item types of the directory (事项类型) with their two-digit code, the first element of a basic code. */
export const ITEM_TYPES = {
  行政许可: '01',
  行政处罚: '02',
  行政强制: '03',
  行政征收: '04',
  行政给付: '05',
  行政检查: '06',
  行政确认: '07',
  行政奖励: '08',
  行政裁决: '09',
  其他行政权力: '10',
  公共服务: '20',
} as const;
export type ItemType = keyof typeof ITEM_TYPES;
const itemTypeNames = Object.keys(ITEM_TYPES) as [ItemType, ...ItemType[]];

/** Life events (人生事件) a directory item can be browsed under. */
export const LIFE_EVENTS = [
  'birth',
  'schooling',
  'employment',
  'marriage',
  'housing',
  'driving',
  'business',
  'social_security',
  'relocation',
  'retirement',
  'death',
] as const;

const text = (max: number) => z.string().trim().min(1, 'is required').max(max, `is longer than ${max} characters`);
const phone = z.string().regex(/^[0-9-]{5,20}$/, 'is not a telephone number');
const days = z.number().int('is not a whole number of days').min(0).max(3650);
const coded = (problem: (code: string) => string | null) =>
  z.string().superRefine((value, ctx) => {
    const found = problem(value);
    if (found) ctx.addIssue({ code: 'custom', message: found });
  });

export const authoritySchema = z
  .object({
    code: coded(usccProblem),
    name: text(100),
    tier: z.enum(TIERS),
    region: z.string().regex(/^\d{6}$/, 'is not a six-digit division code (GB/T 2260)'),
    department: z.string().regex(/^\d{4}$/, 'is not a four-digit department code'),
  })
  .strict();

export const directoryItemSchema = z
  .object({
    basic_code: coded(basicCodeProblem),
    name: text(100),
    item_type: z.enum(itemTypeNames),
    legal_basis: z.array(text(500)).min(1, 'names at least one law or regulation').max(20),
    /** The department that compiles the item (谁编制谁维护): an authority's code. */
    owner: coded(usccProblem),
    /** The tiers whose directory lists carry the item; the same item at every one of them. */
    tiers: z.array(z.enum(TIERS)).min(1).max(3),
    user_types: z.array(z.enum(USER_TYPES)).min(1).max(2),
    legal_time_limit_days: days,
    topics: z.array(text(20)).max(10).default([]),
    life_events: z.array(z.enum(LIFE_EVENTS)).max(5).default([]),
    /** Names people use for it (俗称): searched, never shown as its name. */
    common_names: z.array(text(50)).max(10).default([]),
  })
  .strict();

export const materialSchema = z
  .object({
    name: text(100),
    type: z.enum(['original', 'copy', 'original_and_copy', 'form']),
    sample: text(200).optional(),
    electronic_form: text(200).optional(),
    /** Where it comes from: an issuing authority, or an e-license type the platform fetches. */
    source: z.discriminatedUnion('channel', [
      z.object({ channel: z.literal('applicant') }).strict(),
      z.object({ channel: z.literal('issuing_authority'), authority: text(100) }).strict(),
      z.object({ channel: z.literal('e_license'), license_type: text(100) }).strict(),
    ]),
    paper_copies: z.number().int().min(0).max(20),
    notes: text(500).optional(),
    acceptance_standard: text(500),
    electronic_required: z.boolean(),
  })
  .strict();

const implementationFields = {
  /** The directory item it implements: its basic code. */
  basic_code: coded(basicCodeProblem),
  name: text(100),
  implementing_authority: coded(usccProblem),
  assisting_authorities: z.array(coded(usccProblem)).max(10).default([]),
  legal_time_limit_days: days,
  promised_time_limit_days: days,
  result: z.object({ name: text(100), sample: text(200).optional() }).strict(),
  fees: z.array(z.object({ name: text(100), amount_yuan: z.number().min(0).max(1e7), basis: text(500) }).strict()).max(20),
  materials: z.array(materialSchema).max(50),
  process: z
    .array(z.object({ step: text(50), description: text(500), time_limit_days: days.optional() }).strict())
    .min(1, 'has at least one step')
    .max(20),
  handling_form: z
    .array(z.enum(['online', 'window', 'mail']))
    .min(1)
    .max(3),
  review_standard: text(2000),
  cross_region: z.enum(['none', 'province', 'nationwide']),
  appointment: z.boolean(),
  online_payment: z.boolean(),
  delivery: z
    .array(z.enum(['pickup', 'mail', 'electronic']))
    .min(1)
    .max(3),
  place: text(200),
  hours: text(200),
  enquiry_phone: phone,
  supervision_phone: phone,
  min_loa: z.enum(LOAS),
  user_type: z.enum(USER_TYPES),
};

/**
 * Main items (主项) and sub-items (子项) implement a directory item of the same level (a sub-item's
 * basic code has a sub-item sequence); handling items (办理项) split one of them into the ways it
 * is handled, under the parent's implementing code.
 */
export const implementationItemSchema = z.discriminatedUnion('level', [
  z.object({ level: z.literal('main'), implementing_code: coded(implementingCodeProblem), ...implementationFields }).strict(),
  z
    .object({
      level: z.literal('sub'),
      implementing_code: coded(implementingCodeProblem),
      parent_code: coded(implementingCodeProblem),
      ...implementationFields,
    })
    .strict(),
  z
    .object({
      level: z.literal('handling'),
      implementing_code: coded(handlingCodeProblem),
      parent_code: coded(implementingCodeProblem),
      ...implementationFields,
    })
    .strict(),
]);

export const CATALOG_FORMAT = 'gov-id-catalog/1';

export const catalogFileSchema = z
  .object({
    format: z.literal(CATALOG_FORMAT),
    authorities: z.array(authoritySchema).max(10_000),
    directory: z.array(directoryItemSchema).max(100_000),
    implementation: z.array(implementationItemSchema).max(100_000),
  })
  .strict();

export type Authority = z.infer<typeof authoritySchema>;
export type DirectoryItem = z.infer<typeof directoryItemSchema>;
export type ImplementationItem = z.infer<typeof implementationItemSchema>;
export type CatalogFile = z.infer<typeof catalogFileSchema>;
export type CatalogItem = DirectoryItem | ImplementationItem;

export function isImplementation(item: CatalogItem): item is ImplementationItem {
  return 'implementing_code' in item;
}

/** The code an item is known by: its implementing code, or the basic code of a directory item. */
export function codeOf(item: CatalogItem): string {
  return isImplementation(item) ? item.implementing_code : item.basic_code;
}

/** Who acts on a change: the authority (its code) and the member of its staff. */
const actorFields = { actor: coded(usccProblem), person: text(64) };
const effectiveFrom = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'is not a date (YYYY-MM-DD)')
  .refine((d) => !Number.isNaN(Date.parse(d)), 'is not a calendar date');

export const newChangeBody = z
  .object({ ...actorFields, kind: z.enum(['directory', 'implementation']), item: z.unknown(), effective_from: effectiveFrom.optional() })
  .strict();
export const editChangeBody = z.object({ ...actorFields, item: z.unknown(), effective_from: effectiveFrom.optional() }).strict();
export const decisionBody = z.object({ ...actorFields, note: text(500).optional() }).strict();
