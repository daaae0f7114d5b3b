/**
 * Applications (申请): materials uploaded ahead (type and size checked, stored encrypted with a
 * digest), then one submission pinned to the item version in force, idempotent by the client's
 * key: a retried submit answers the same receipt (收件凭证), a different request under a used key
 * is refused. Everything the submission writes is one transaction.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import { crashPoint } from '../../infra/crash-points.ts';
import { uniqueViolation } from '../../infra/database.ts';
import { BadRequest, Conflict, Forbidden, HttpError } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';
import { isImplementation, type DirectoryItem, type ImplementationItem } from '../catalog/catalog-schema.ts';
import { nextCaseNumber } from './case-numbers.ts';
import { ADDRESS_AAD, MATERIAL_AAD, applicantIndex, sealPerson, today, type CaseDeps, type Caller, type Person } from './case-context.ts';
import { clockColumns } from './case-deadlines.ts';
import * as store from './case-store.ts';
import { sendNotices } from './case-notices.ts';
import { handlingRules, serviceCategories } from './handling-rules.ts';
import { caseItem, remoteItem } from './cross-region.ts';
import { authority as authorityOf } from '../catalog/catalog-store.ts';

/** Accepted material formats, known by their first bytes (what the declared type must match). */
export const MATERIAL_TYPES: Record<string, number[]> = {
  'application/pdf': [0x25, 0x50, 0x44, 0x46, 0x2d],
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  'image/jpeg': [0xff, 0xd8, 0xff],
};
export const MAX_MATERIAL_BYTES = 2 * 1024 * 1024;

const LOA_RANK: Record<string, number> = { loa1: 1, loa2: 2, loa3: 3 };

/** The token's level is below the item's minimum: log in again at a higher level (RFC 9470). */
export class StepUpRequired extends HttpError {
  constructor(minLevel: string, presented: string | null) {
    super(
      401,
      'insufficient_user_authentication',
      `this item needs real-name level ${minLevel}; the login presented ${presented ?? 'no level'}: log in again at ${minLevel} or above`,
      {
        headers: {
          'WWW-Authenticate': `Bearer error="insufficient_user_authentication", error_description="real-name level ${minLevel} required", acr_values="${minLevel}"`,
        },
        details: { min_loa: minLevel },
      },
    );
  }
}

export const idempotencyKey = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is 8 to 64 letters, digits, - or _');

export const applicationBody = z
  .object({
    item_code: z.string().min(1).max(40),
    /** The version the form was built from; it must still be in force. */
    item_version: z.number().int().positive().optional(),
    delivery: z.enum(['electronic', 'mail', 'pickup']),
    delivery_address: z.string().trim().min(1).max(200).optional(),
    materials: z
      .array(
        z
          .object({
            slot: z.number().int().min(0).max(49),
            upload_id: z.string().min(1).max(64).optional(),
            /** An e-license (or registry) reference, for a material the item takes from one. */
            reference: z.string().min(1).max(200).optional(),
            /** The material fetched through the exchange with the person's consent token for its holder. */
            exchange: z
              .object({
                holder: z.url({ protocol: /^https?$/ }).max(256),
                access_token: z.string().min(1).max(16384),
                dataset: z.string().min(1).max(64),
                attributes: z.array(z.string().min(1).max(64)).min(1).max(32),
                purpose: z.string().min(1).max(64),
              })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .max(50),
  })
  .strict();
export type ApplicationBody = z.infer<typeof applicationBody>;

export interface MaterialGiven {
  slot: number;
  upload_id?: string;
  reference?: string;
  exchange?: { holder: string; access_token: string; dataset: string; attributes: string[]; purpose: string };
}

/** The exchange's datasets of the e-license types materials name (docs/exchange.md, docs/licenses.md). */
const LICENSE_DATASETS: Record<string, string> = {
  居民身份证: 'license.resident_id_card',
  居民户口簿: 'license.household_register_extract',
  户籍证明: 'license.household_register_extract',
  机动车驾驶证: 'license.driving_licence',
  结婚证: 'license.marriage_certificate',
  营业执照: 'license.business_license',
};

/** Stores an upload of `owner` (not yet part of a case); the type is checked against the content. */
export async function upload(deps: CaseDeps, caller: Caller, mediaType: string, content: Buffer) {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  const magic = MATERIAL_TYPES[type];
  if (!magic)
    throw new HttpError(
      415,
      'unsupported_material_type',
      `a material is ${Object.keys(MATERIAL_TYPES).join(', ')}; ${type || 'no type'} is not accepted`,
    );
  if (content.length === 0) throw new BadRequest('empty_material', 'the material is empty');
  if (content.length > MAX_MATERIAL_BYTES)
    throw new HttpError(413, 'material_too_large', `a material is at most ${MAX_MATERIAL_BYTES} bytes; this one has ${content.length}`);
  if (!magic.every((b, i) => content[i] === b))
    throw new HttpError(415, 'material_type_mismatch', `the content is not ${type}: its first bytes say otherwise`);
  const uploadId = randomUUID();
  const digest = createHash('sha256').update(content).digest('base64url');
  await store.insertUpload(deps.db, {
    uploadId,
    ownerIndex: applicantIndex(deps, caller.person),
    mediaType: type,
    size: content.length,
    digest,
    contentEnc: deps.cipher.encrypt(content.toString('base64'), MATERIAL_AAD),
  });
  return { upload_id: uploadId, media_type: type, size: content.length, digest: `sha-256:${digest}` };
}

/** The implementation item in force and its directory item; a version given must be the one in force. */
export async function itemInForce(deps: CaseDeps, code: string, version?: number) {
  const row = await deps.catalog.version(code);
  if (!isImplementation(row.content))
    throw new BadRequest('invalid_request', `item_code: ${code} is a directory item; apply for an implementation item`);
  if (version !== undefined && version !== row.version)
    throw new Conflict(
      'version_not_in_force',
      `item_version: version ${version} of ${code} is not in force; version ${row.version} is: reload the form`,
      {
        details: { in_force: row.version },
      },
    );
  const directory = (await deps.catalog.version(row.content.basic_code)).content as DirectoryItem;
  return { version: row.version, item: row.content, directory };
}

/** The item's materials against what was given: every slot once, uploads for what only the applicant has. */
export function checkMaterials(item: ImplementationItem, given: readonly MaterialGiven[], wanted?: ReadonlySet<number>): void {
  const seen = new Set<number>();
  for (const m of given) {
    const material = item.materials[m.slot];
    if (!material)
      throw new BadRequest('invalid_material', `materials: slot ${m.slot} is not one of the item's ${item.materials.length} materials`);
    if (seen.has(m.slot)) throw new BadRequest('invalid_material', `materials: slot ${m.slot} (${material.name}) is given twice`);
    seen.add(m.slot);
    if (wanted && !wanted.has(m.slot))
      throw new BadRequest('invalid_material', `materials: slot ${m.slot} (${material.name}) was not asked for`);
    if ([m.upload_id, m.reference, m.exchange].filter(Boolean).length !== 1)
      throw new BadRequest(
        'invalid_material',
        `materials: slot ${m.slot} (${material.name}) needs one of upload_id, reference or exchange`,
      );
    if ((m.reference || m.exchange) && material.source.channel !== 'e_license')
      throw new BadRequest('invalid_material', `materials: slot ${m.slot} (${material.name}) is not held as an e-license: upload it`);
    const dataset = material.source.channel === 'e_license' ? LICENSE_DATASETS[material.source.license_type] : undefined;
    if (m.exchange && dataset && m.exchange.dataset !== dataset)
      throw new BadRequest(
        'invalid_material',
        `materials: slot ${m.slot} (${material.name}) is the dataset ${dataset}, not ${m.exchange.dataset}`,
      );
  }
  const missing = [...(wanted ?? item.materials.keys())].filter((slot) => !seen.has(slot));
  if (missing.length)
    throw new BadRequest('materials_missing', `materials: missing ${missing.map((s) => `${s} (${item.materials[s]!.name})`).join(', ')}`, {
      details: { missing },
    });
}

/** Attaches the given materials to a case (round 0 at submission, n at the nth correction). */
/** A material the exchange served, by slot: kept encrypted, found by the request's ID in both access logs. */
export interface FetchedRecord {
  reference: string;
  contentEnc: string;
  digest: string;
}

/**
 * Fetches the materials given as `exchange` through this platform's data-sharing node (outside any
 * transaction: the request travels to another node). A refusal (no consent, a revoked one, no
 * record …) is the exchange's own error.
 */
export async function fetchRecords(deps: CaseDeps, caller: Caller, itemCode: string, given: readonly MaterialGiven[]) {
  const fetched = new Map<number, FetchedRecord>();
  for (const m of given) {
    if (!m.exchange) continue;
    if (!deps.fetchRecord) throw new BadRequest('invalid_material', `materials: slot ${m.slot}: this platform has no data-sharing node`);
    const subject =
      caller.person.kind === 'legal'
        ? ({ kind: 'legal', uscc: caller.person.idNumber } as const)
        : ({ kind: 'natural', id_number: caller.person.idNumber } as const);
    const served = await deps.fetchRecord({ ...m.exchange, subject, item: itemCode, case: null });
    const json = JSON.stringify({ holder: served.holder, dataset: served.dataset, data: served.data });
    fetched.set(m.slot, {
      reference: `exchange:${served.dataset}#${served.request_id}`,
      contentEnc: deps.cipher.encrypt(json, MATERIAL_AAD),
      digest: createHash('sha256').update(json).digest('base64url'),
    });
  }
  return fetched;
}

export async function attachMaterials(
  tx: Parameters<typeof store.insertUpload>[0],
  ownerIndex: string,
  caseId: string,
  given: readonly MaterialGiven[],
  round: number,
  fetched: ReadonlyMap<number, FetchedRecord> = new Map(),
): Promise<void> {
  const ids = given.flatMap((m) => (m.upload_id ? [m.upload_id] : []));
  const staged = new Set((await store.stagedUploads(tx, ownerIndex, ids)).map((r) => r.upload_id));
  const unknown = ids.filter((id) => !staged.has(id));
  if (unknown.length) throw new BadRequest('unknown_upload', `materials: no upload of yours waiting under ${unknown.join(', ')}`);
  for (const m of given) {
    if (m.upload_id) await store.attachUpload(tx, m.upload_id, caseId, m.slot, round);
    else {
      const record = fetched.get(m.slot);
      await store.insertExchangedMaterial(tx, {
        uploadId: randomUUID(),
        ownerIndex,
        caseId,
        slot: m.slot,
        round,
        reference: record?.reference ?? m.reference!,
        ...(record ? { contentEnc: record.contentEnc, digest: record.digest } : {}),
      });
    }
  }
}

const QUERY_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function newQueryCode(): string {
  return [...randomBytes(8)].map((b) => QUERY_CODE_ALPHABET[b % QUERY_CODE_ALPHABET.length]).join('');
}

export function queryCodeHash(deps: Pick<CaseDeps, 'blindIndex'>, number: string, code: string): string {
  return deps.blindIndex.of('case_query_code', `${number}\0${code.toUpperCase()}`);
}

export interface Receipt {
  number: string;
  /** Shown once, here: with the number it lets anyone check progress without logging in. */
  query_code?: string;
  replayed: boolean;
  received_at: string;
  item: { code: string; version: number; name: string };
  authority: string;
  delivery: string;
  materials: { slot: number; name: string; source: string; digest: string | null; size: number | null }[];
  acceptance_due: string | null;
}

async function receiptOf(deps: CaseDeps, c: store.CaseRow, item: ImplementationItem, queryCode?: string): Promise<Receipt> {
  const materials = await store.materialsOf(deps.db, c.id);
  return {
    number: c.number,
    ...(queryCode ? { query_code: queryCode } : {}),
    replayed: !queryCode,
    received_at: c.received_at,
    item: { code: c.item_code, version: c.item_version, name: c.item_name },
    authority: c.authority,
    delivery: c.delivery,
    materials: materials.map((m) => ({
      slot: m.slot!,
      name: item.materials[m.slot!]?.name ?? '',
      source: m.source,
      digest: m.digest ? `sha-256:${m.digest}` : null,
      size: m.size,
    })),
    acceptance_due: c.clock_phase === 'acceptance' ? c.due_on : null,
  };
}

const uploadIdsOf = (body: ApplicationBody) => body.materials.flatMap((m) => (m.upload_id ? [m.upload_id] : []));

/**
 * What identifies a submission under its key: the request, with each upload by its content's
 * digest, so that a form sent again with the same files (uploaded again) is the same application.
 */
async function digestOf(deps: CaseDeps, ownerIndex: string, body: ApplicationBody): Promise<string> {
  const digests = await store.uploadDigests(deps.db, ownerIndex, uploadIdsOf(body));
  const materials = body.materials.map((m) => ({
    slot: m.slot,
    ...(m.upload_id ? { content: digests.get(m.upload_id) ?? m.upload_id } : { reference: m.reference }),
  }));
  return createHash('sha256')
    .update(JSON.stringify({ ...body, materials }))
    .digest('base64url');
}

/** A person applies for themself, an organization through its representative or an agent whose mandate covers the item. */
function checkApplicantKind(item: ImplementationItem, categories: string[], applicant: Person): void {
  if (item.user_type === 'legal' && applicant.kind !== 'legal')
    throw new Forbidden('organization_required', `${item.name} is applied for by an organization: sign in for the organization`);
  if (item.user_type === 'natural' && applicant.kind !== 'natural')
    throw new Forbidden('natural_person_required', `${item.name} is applied for by a person for themself, not for an organization`);
  const agent = applicant.agent;
  if (!agent || agent.role !== 'agent' || categories.length === 0) return;
  if (!categories.some((c) => agent.categories.includes(c)))
    throw new Forbidden(
      'outside_service_categories',
      `your mandate for ${applicant.name} covers ${agent.categories.join(', ') || 'nothing'}; ${item.name} needs one of ${categories.join(', ')}`,
    );
}

/** Submits an application; a retry under the same key answers the first receipt. */
export async function apply(deps: CaseDeps, caller: Caller, key: string, raw: unknown): Promise<Receipt> {
  const body = validate(applicationBody, raw);
  const applicant = applicantIndex(deps, caller.person);
  const requestDigest = await digestOf(deps, applicant, body);
  const replay = async (existing: store.CaseRow) => {
    if (existing.request_digest !== requestDigest)
      throw new Conflict(
        'idempotency_key_reused',
        'Idempotency-Key: this key was used for a different application; use a new key for a new one',
      );
    // The form sent again with its files uploaded again (after a lost answer): the case holds the same
    // contents under the first uploads, so these copies are not kept as strays.
    await store.discardStagedUploads(deps.db, applicant, uploadIdsOf(body));
    // Pinned to its version: this catalog's, or the handling platform's kept with a case received for it.
    return receiptOf(deps, existing, await caseItem(deps, existing));
  };
  const earlier = await store.caseByIdempotencyKey(deps.db, applicant, key);
  if (earlier) return replay(earlier);

  // An item of another platform's authority (its implementing code starts with the authority's
  // USCC, whose region places it) is received here and handed over, when its scope allows.
  const elsewhere = deps.crossRegion?.handlerOf(body.item_code.slice(0, 18)) ?? null;
  const snapshot = elsewhere ? await remoteItem(deps, body.item_code, body.item_version) : null;
  const { version, item, directory } = snapshot ?? (await itemInForce(deps, body.item_code, body.item_version));
  const department = (await authorityOf(deps.db, item.implementing_authority))?.department ?? '';
  checkApplicantKind(item, serviceCategories(directory, department), caller.person);
  const rank = caller.login.level ? (LOA_RANK[caller.login.level] ?? 0) : 0;
  if (rank < LOA_RANK[item.min_loa]!) throw new StepUpRequired(item.min_loa, caller.login.level);
  if (!item.delivery.includes(body.delivery))
    throw new BadRequest('invalid_request', `delivery: ${item.name} is delivered by ${item.delivery.join(', ')}`);
  if (body.delivery === 'mail' && !body.delivery_address)
    throw new BadRequest('invalid_request', 'delivery_address: needed for delivery by mail');
  checkMaterials(item, body.materials);

  const rules = handlingRules(item, directory);
  const records = await fetchRecords(deps, caller, item.implementing_code, body.materials);
  const queryCode = newQueryCode();
  const at = deps.now();
  const receivedOn = today(deps);
  const receipt = await deps.db
    .transaction(async (tx) => {
      const number = await nextCaseNumber(tx, deps.platform, receivedOn);
      const facts = {
        state: 'received' as const,
        received_on: receivedOn,
        accepted_on: null,
        decided_on: null,
        promised_days: rules.limits.promisedDays,
        legal_days: rules.limits.legalDays,
        extension_days: 0,
      };
      const clock = clockColumns(deps.clock, facts, []);
      const id = await store.insertCase(tx, {
        number,
        platform: deps.platform,
        item_snapshot: snapshot as Record<string, unknown> | null,
        item_code: item.implementing_code,
        item_version: version,
        item_name: item.name,
        authority: item.implementing_authority,
        state: 'received',
        applicant_index: applicant,
        applicant_enc: sealPerson(deps, caller.person),
        applicant_issuer: caller.login.issuer,
        applicant_subject: caller.login.subject,
        client_id: caller.login.clientId,
        acr: caller.login.level,
        delivery: body.delivery,
        delivery_address_enc: body.delivery_address ? deps.cipher.encrypt(body.delivery_address, ADDRESS_AAD) : null,
        idempotency_key: key,
        request_digest: requestDigest,
        query_code_hash: queryCodeHash(deps, number, queryCode),
        on_the_spot: rules.onTheSpot,
        publication_required: rules.publishesApprovals,
        review_methods: rules.reviewMethods,
        opinion_quorum: rules.opinionQuorum,
        legal_days: rules.limits.legalDays,
        promised_days: rules.limits.promisedDays,
        received_at: at.toISOString(),
        received_on: receivedOn,
        ...clock,
      });
      await attachMaterials(tx, applicant, id, body.materials, 0, records);
      await store.openStep(tx, id, 'received', at, clock.due_on);
      const text = `【政务服务】您申请的“${item.name}”已收件，办件编号 ${number}。${clock.due_on ? `受理或补正告知将于 ${clock.due_on} 前作出。` : ''}`;
      await store.insertNotice(tx, id, 'received', text, at);
      await appendAudit(tx, {
        event: 'case.received',
        subject: `case:${number}`,
        clientId: caller.login.clientId,
        detail: { item: item.implementing_code, version, platform: deps.platform, issuer: caller.login.issuer, acr: caller.login.level },
      });
      await sendNotices(deps, [{ phone: caller.person.phone, text }], tx);
      return { row: (await store.caseByNumber(tx, number))! };
    })
    .catch(async (err: unknown) => {
      // The same key submitted twice at once: the unique index lets one through; the other answers its receipt.
      if (uniqueViolation(err) === 'cases_applicant_index_idempotency_key_key') {
        const winner = await store.caseByIdempotencyKey(deps.db, applicant, key);
        if (winner) return { row: winner, replayed: true };
      }
      throw err;
    });
  if ('replayed' in receipt) return replay(receipt.row);
  crashPoint('case.received', deps.self);
  return receiptOf(deps, receipt.row, item, queryCode);
}
