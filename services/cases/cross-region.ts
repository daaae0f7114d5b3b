/**
 * Cross-region handling (异地可办, 跨省通办; 收受分离): a platform receives an application for an
 * item another platform handles (the one whose region holds the implementing authority), checks
 * it (its receivers: form and identity, a correction if needed) and hands it over. The hand-off is
 * a JWS signed with the receiving services entity's federation key, sent with an entity assertion
 * and checked through its trust chain; the handling side answers with a signed receipt. Both sides
 * keep both and audit them. The handling side runs the case under the same number; the receiving
 * side keeps it as handed_off and reads the handling side's case for the applicant (same case,
 * same timeline) and forwards their corrections.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, importJWK, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { z } from 'zod';
import { appendAudit } from '../../infra/audit-log.ts';
import { canonicalJson } from '../../infra/canonical-json.ts';
import { crashPoint } from '../../infra/crash-points.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import { BadRequest, Conflict, Forbidden, HttpError, NotFound, Unauthorized, UpstreamUnavailable } from '../../infra/errors.ts';
import { validate } from '../../infra/validation.ts';
import { isImplementation, type DirectoryItem, type ImplementationItem } from '../catalog/catalog-schema.ts';
import { ADDRESS_AAD, MATERIAL_AAD, applicantIndex, openPerson, sealPerson, type CaseDeps, type CrossRegion } from './case-context.ts';
import { clockColumns } from './case-deadlines.ts';
import type { CaseState } from './case-lifecycle.ts';
import { sendNotices } from './case-notices.ts';
import * as store from './case-store.ts';
import { handlingRules } from './handling-rules.ts';

export const HANDOFF_PATH = '/case-handoffs';
const HANDOFF_TYP = 'case-handoff+jwt';
const RECEIPT_TYP = 'case-handoff-receipt+jwt';
const LIFETIME_SECONDS = 300;
const CALL_TIMEOUT_MS = 15_000;

/** An item handled elsewhere, as the case keeps it. */
export interface ItemSnapshot {
  version: number;
  item: ImplementationItem;
  directory: DirectoryItem;
  handler: { platform: string; url: string };
}

/** The item version a case is pinned to: its snapshot when another platform handles it, else this catalog's version. */
export async function caseItem(deps: CaseDeps, c: store.CaseRow): Promise<ImplementationItem> {
  if (c.item_snapshot) return (c.item_snapshot as unknown as ItemSnapshot).item;
  return (await deps.catalog.version(c.item_code, c.item_version)).content as ImplementationItem;
}

function crossRegionOf(deps: CaseDeps): CrossRegion {
  if (!deps.crossRegion) throw new NotFound('this platform does not receive for other platforms');
  return deps.crossRegion;
}

async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (err) {
    throw new UpstreamUnavailable(`${new URL(url).origin} is unreachable: ${(err as Error).name}`);
  }
  return { status: res.status, json: ((await res.json().catch(() => ({}))) ?? {}) as Record<string, unknown> };
}

/**
 * The version in force of an item another platform handles, read from that platform's catalog;
 * refused when its cross-region scope does not reach this platform.
 */
export async function remoteItem(deps: CaseDeps, code: string, version?: number): Promise<ItemSnapshot> {
  const cross = crossRegionOf(deps);
  const handler = cross.handlerOf(code.slice(0, 18));
  if (!handler) throw new NotFound(`no item ${code} in force`);
  const read = async (c: string) => {
    const r = await getJson(`${handler.url}/catalog/items/${encodeURIComponent(c)}`);
    if (r.status === 404) throw new NotFound(`no item ${code} in force at ${handler.platform}`);
    if (r.status !== 200) throw new UpstreamUnavailable(`the catalog of ${handler.platform} answered ${r.status}`);
    return r.json as { version: number; item: ImplementationItem | DirectoryItem };
  };
  const found = await read(code);
  if (!isImplementation(found.item))
    throw new BadRequest('invalid_request', `item_code: ${code} is a directory item; apply for an implementation item`);
  if (version !== undefined && version !== found.version)
    throw new Conflict(
      'version_not_in_force',
      `item_version: version ${version} of ${code} is not in force; version ${found.version} is: reload the form`,
      {
        details: { in_force: found.version },
      },
    );
  const item = found.item;
  const reach = item.cross_region;
  if (reach === 'none' || (reach === 'province' && !cross.sameProvince(deps.platform, handler.platform)))
    throw new Forbidden(
      'not_cross_region',
      `${item.name} is handled only at ${handler.platform}${reach === 'province' ? ' and within its province' : ''}: apply there`,
      { details: { handled_at: handler.platform } },
    );
  const directory = (await read(item.basic_code)).item as DirectoryItem;
  return { version: found.version, item, directory, handler };
}

// The hand-off -------------------------------------------------------------------------------------

const stepSchema = z.object({
  state: z.string().max(40),
  started_at: z.string().max(40),
  ended_at: z.string().max(40).nullable(),
  deadline: z.string().max(10).nullable(),
  event: z.string().max(40).nullable(),
  actor_role: z.string().max(40).nullable(),
  authority: z.string().max(40).nullable(),
  note: z.record(z.string(), z.unknown()),
});

const handoffSchema = z.object({
  number: z.string().regex(/^[A-Z0-9-]{10,40}$/),
  platform: z.string().regex(/^[a-z][a-z0-9]{1,15}$/),
  received_at: z.string().max(40),
  received_on: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  item_code: z.string().regex(/^[0-9A-Z]{12,40}$/),
  item_version: z.number().int().positive(),
  applicant: z.object({
    kind: z.enum(['natural', 'legal']),
    name: z.string().min(1).max(200),
    id_number: z.string().min(1).max(32),
    phone: z.string().max(20).nullable(),
    agent: z
      .object({ name: z.string().max(64), role: z.string().max(20).nullable(), categories: z.array(z.string().max(30)).max(10) })
      .optional(),
  }),
  login: z.object({
    issuer: z.string().max(300),
    subject: z.string().max(300),
    client_id: z.string().max(300),
    level: z.string().max(10).nullable(),
  }),
  delivery: z.enum(['electronic', 'mail', 'pickup']),
  delivery_address: z.string().max(200).nullable(),
  materials: z.array(materialSchema()).max(60),
  steps: z.array(stepSchema).max(50),
  corrections: z.array(z.object({ from: z.string().max(10), to: z.string().max(10), reason: z.string().max(1000) })).max(20),
});
type Handoff = z.infer<typeof handoffSchema>;

function materialSchema() {
  return z.object({
    slot: z.number().int().min(0).max(49),
    round: z.number().int().min(0).max(20),
    media_type: z.string().max(40).nullable(),
    content: z.string().max(3_000_000).nullable(),
    reference: z.string().max(200).nullable(),
    /** A record the exchange served (its JSON), carried with its reference. */
    record: z.string().max(100_000).nullable().default(null),
  });
}
type HandedMaterial = z.infer<ReturnType<typeof materialSchema>>;

/** The hand-off a JWS this side verified when it took it carries. */
const handoffIn = (jws: string): Handoff => validate(z.object({ handoff: handoffSchema }), decodeJwt(jws)).handoff;

const digestOf = (jws: string) => createHash('sha256').update(jws).digest('base64url');

async function sign(key: PrivateJwk, typ: string, issuer: string, audience: string, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg!, kid: key.kid, typ })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .setJti(randomUUID())
    .sign(await importJWK(key, key.alg));
}

/**
 * The payload of a JWS signed by `issuer` (for us, unless `audience` says otherwise), checked with
 * its keys through its trust chain. A hand-off taken is `fresh` (signed within its lifetime); a
 * `record` is one both sides keep, read again after its lifetime (a receipt answered again for a
 * hand-off retried after a crash): its signature and parties are checked, not its age.
 */
async function verifySigned(
  deps: CaseDeps,
  jws: string,
  issuer: string,
  typ: string,
  age: 'fresh' | 'record',
  audience = deps.self,
): Promise<JWTPayload> {
  const keys = await crossRegionOf(deps).resolveServicesKeys(issuer);
  if (!keys) throw new Unauthorized(`${issuer} is not a services entity of the federation`);
  try {
    const { payload } = await jwtVerify(jws, createLocalJWKSet(keys), {
      issuer,
      audience,
      typ,
      ...(age === 'fresh' ? { maxTokenAge: `${LIFETIME_SECONDS}s` } : { currentDate: new Date(Number(decodeJwt(jws).iat) * 1000) }),
      requiredClaims: ['iat', 'exp', 'jti'],
    });
    return payload;
  } catch (err) {
    throw new HttpError(
      401,
      'invalid_handoff',
      `the ${typ === HANDOFF_TYP ? 'hand-off' : 'receipt'} does not verify: ${(err as Error).message}`,
    );
  }
}

/** Uploaded contents of a case (staff and the handling side read them), or of staged uploads. */
function contentOf(deps: CaseDeps, sealed: string): string {
  return deps.cipher.decrypt(sealed, MATERIAL_AAD);
}

/**
 * Builds and sends the hand-off of a checked case (`by`: the receiver handing it over, who ends its
 * open step); returns what the case keeps of it. Outside any transaction.
 */
export async function sendHandoff(
  deps: CaseDeps,
  c: store.CaseRow,
  by: { role: string; authority: string | null },
): Promise<Record<string, unknown>> {
  const cross = crossRegionOf(deps);
  const snapshot = c.item_snapshot as ItemSnapshot | null;
  if (!snapshot) throw new Conflict('handled_here', 'this platform handles the item itself');
  const applicant = openPerson(deps, c.applicant_enc);
  const materials: HandedMaterial[] = [];
  for (const m of await store.materialsOf(deps.db, c.id)) {
    const sealed = await store.materialContent(deps.db, c.id, m.upload_id);
    const plain = sealed ? contentOf(deps, sealed.content_enc) : null;
    materials.push({
      slot: m.slot!,
      round: m.round,
      media_type: m.media_type,
      content: m.source === 'upload' ? plain : null,
      reference: m.reference,
      record: m.source === 'exchange' ? plain : null,
    });
  }
  const steps = await store.steps(deps.db, c.id);
  const handoff: Handoff = {
    number: c.number,
    platform: deps.platform,
    received_at: c.received_at,
    received_on: c.received_on,
    item_code: c.item_code,
    item_version: c.item_version,
    applicant: {
      kind: applicant.kind,
      name: applicant.name,
      id_number: applicant.idNumber,
      phone: applicant.phone,
      ...(applicant.agent ? { agent: applicant.agent } : {}),
    },
    login: { issuer: c.applicant_issuer, subject: c.applicant_subject, client_id: c.client_id, level: c.acr },
    delivery: c.delivery,
    delivery_address: c.delivery_address_enc ? deps.cipher.decrypt(c.delivery_address_enc, ADDRESS_AAD) : null,
    materials,
    steps: steps.map((s) =>
      s.ended_at ? s : { ...s, ended_at: deps.now().toISOString(), event: 'hand_off', actor_role: by.role, authority: by.authority },
    ),
    corrections: (await store.suspensions(deps.db, c.id))
      .filter((s) => s.kind === 'correction' && s.to !== null)
      .map((s) => ({ from: s.from, to: s.to!, reason: s.reason })),
  };
  const jws = await sign(cross.signingKey(), HANDOFF_TYP, deps.self, snapshot.handler.url, { handoff });
  const { status, json } = await postAsEntity({
    from: deps.self,
    key: cross.signingKey(),
    to: snapshot.handler.url,
    path: HANDOFF_PATH,
    body: { handoff: jws },
    timeoutMs: CALL_TIMEOUT_MS,
  });
  if (status !== 200 && status !== 201)
    throw new UpstreamUnavailable(
      `${snapshot.handler.platform} did not take the hand-off: ${status} ${String(json.error ?? '')} ${String(json.error_description ?? '')}`,
    );
  const receipt = String(json.receipt ?? '');
  // A hand-off sent again after a crash lost the first answer: the handling side answers the
  // hand-off it took then (signed by us, for this case) and its receipt, which both sides keep.
  const held = typeof json.handoff === 'string' ? json.handoff : jws;
  const claims = await verifySigned(deps, receipt, snapshot.handler.url, RECEIPT_TYP, 'record');
  if (claims.digest !== digestOf(held) || claims.number !== c.number)
    throw new UpstreamUnavailable(`${snapshot.handler.platform}'s receipt is not for this hand-off`);
  if (held !== jws) {
    const taken = await verifySigned(deps, held, deps.self, HANDOFF_TYP, 'record', snapshot.handler.url);
    if ((taken.handoff as Handoff | undefined)?.number !== c.number)
      throw new UpstreamUnavailable(`${snapshot.handler.platform} holds a hand-off of another case under ${c.number}`);
  }
  return { handled_by: snapshot.handler.url, handler_platform: snapshot.handler.platform, handoff: held, receipt, digest: digestOf(held) };
}

/** The hand-off's effects on the receiving side, inside the transaction that records it. */
export async function recordSentHandoff(
  tx: Parameters<typeof store.insertHandoff>[0],
  c: store.CaseRow,
  sent: Record<string, unknown>,
): Promise<void> {
  await store.insertHandoff(tx, {
    number: c.number,
    direction: 'sent',
    peer: String(sent.handled_by),
    handoff: String(sent.handoff),
    digest: String(sent.digest),
    receipt: String(sent.receipt),
  });
}

/**
 * The same application in two hand-offs of one case: all but the receiving side's steps, whose
 * last one ends when the hand-off is signed (a hand-off signed again after a crash differs there).
 */
function sameApplication(a: Handoff, b: Handoff): boolean {
  return canonicalJson({ ...a, steps: null }) === canonicalJson({ ...b, steps: null });
}

/**
 * The handling side takes a hand-off from `caller` (an entity assertion already checked): the case
 * under the same number, its materials and the receiving side's steps, then a signed receipt. The
 * same hand-off again, or the same application handed over again by the same platform (signed
 * anew after a crash lost the first answer), answers the hand-off taken first and its receipt, and
 * creates nothing; another one for a number taken is refused.
 */
export async function receiveHandoff(
  deps: CaseDeps,
  caller: string,
  jws: string,
): Promise<{ status: number; receipt: string; handoff: string }> {
  const cross = crossRegionOf(deps);
  const claims = await verifySigned(deps, jws, caller, HANDOFF_TYP, 'fresh');
  const h = validate(z.object({ handoff: handoffSchema }), claims).handoff;
  const digest = digestOf(jws);
  const earlier = await store.handoffOf(deps.db, h.number);
  if (earlier) {
    const taken = earlier.direction === 'received' && earlier.peer === caller ? handoffIn(earlier.handoff) : null;
    if (taken && (earlier.digest === digest || sameApplication(taken, h)))
      return { status: 200, receipt: earlier.receipt, handoff: earlier.handoff };
    throw new Conflict('handoff_conflict', `case ${h.number} was handed over already, with other content`);
  }
  if (cross.handlerOf(h.item_code.slice(0, 18))) throw new BadRequest('not_handled_here', `${h.item_code} is not handled by this platform`);
  const row = await deps.catalog.version(h.item_code, h.item_version);
  if (!isImplementation(row.content)) throw new BadRequest('invalid_request', `${h.item_code} is not an implementation item`);
  const item = row.content;
  const directory = (await deps.catalog.version(item.basic_code)).content as DirectoryItem;
  const rules = handlingRules(item, directory);
  const person = {
    kind: h.applicant.kind,
    name: h.applicant.name,
    idNumber: h.applicant.id_number,
    phone: h.applicant.phone,
    ...(h.applicant.agent ? { agent: h.applicant.agent } : {}),
  };
  const at = deps.now();
  const receipt = await sign(cross.signingKey(), RECEIPT_TYP, deps.self, caller, {
    number: h.number,
    digest,
    received_at: at.toISOString(),
  });
  const text = `【政务服务】办件 ${h.number}（${item.name}）已由收件平台转交本平台办理。`;
  await deps.db.transaction(async (tx) => {
    const corrections = h.corrections.map((s) => ({ kind: 'correction' as const, reason: s.reason, from: s.from, to: s.to, notice: null }));
    const facts = {
      state: 'received' as CaseState,
      received_on: h.received_on,
      accepted_on: null,
      decided_on: null,
      promised_days: rules.limits.promisedDays,
      legal_days: rules.limits.legalDays,
      extension_days: 0,
    };
    const clock = clockColumns(deps.clock, facts, corrections);
    const applicant = applicantIndex(deps, person);
    const id = await store.insertCase(tx, {
      number: h.number,
      platform: h.platform,
      item_snapshot: null,
      item_code: item.implementing_code,
      item_version: row.version,
      item_name: item.name,
      authority: item.implementing_authority,
      state: 'received',
      applicant_index: applicant,
      applicant_enc: sealPerson(deps, person),
      applicant_issuer: h.login.issuer,
      applicant_subject: h.login.subject,
      client_id: h.login.client_id,
      acr: h.login.level,
      delivery: h.delivery,
      delivery_address_enc: h.delivery_address ? deps.cipher.encrypt(h.delivery_address, ADDRESS_AAD) : null,
      idempotency_key: `handoff-${h.number}`,
      request_digest: digest,
      // The query code stays with the receiving platform; here the number and the phone tail find the case.
      query_code_hash: randomBytes(32).toString('base64url'),
      on_the_spot: rules.onTheSpot,
      publication_required: rules.publishesApprovals,
      review_methods: rules.reviewMethods,
      opinion_quorum: rules.opinionQuorum,
      legal_days: rules.limits.legalDays,
      promised_days: rules.limits.promisedDays,
      received_at: h.received_at,
      received_on: h.received_on,
      ...clock,
    });
    await store.setReceivedBy(tx, id, caller);
    for (const s of corrections) await store.importSuspension(tx, id, s);
    for (const m of h.materials) {
      const content = m.content ? Buffer.from(m.content, 'base64') : null;
      if (content)
        await store.insertHandedUpload(tx, {
          uploadId: randomUUID(),
          ownerIndex: applicant,
          caseId: id,
          slot: m.slot,
          round: m.round,
          mediaType: m.media_type ?? 'application/octet-stream',
          size: content.length,
          digest: createHash('sha256').update(content).digest('base64url'),
          contentEnc: deps.cipher.encrypt(m.content!, MATERIAL_AAD),
        });
      else
        await store.insertExchangedMaterial(tx, {
          uploadId: randomUUID(),
          ownerIndex: applicant,
          caseId: id,
          slot: m.slot,
          round: m.round,
          reference: m.reference ?? '',
          ...(m.record
            ? { contentEnc: deps.cipher.encrypt(m.record, MATERIAL_AAD), digest: createHash('sha256').update(m.record).digest('base64url') }
            : {}),
        });
    }
    for (const s of h.steps)
      await store.importStep(tx, id, { ...s, state: s.state as CaseState, note: { ...s.note, platform: h.platform } });
    await store.openStep(tx, id, 'received', at, clock.due_on);
    await store.insertNotice(tx, id, 'handoff', text, at);
    await store.insertHandoff(tx, { number: h.number, direction: 'received', peer: caller, handoff: jws, digest, receipt });
    await appendAudit(tx, {
      event: 'case.handoff_received',
      subject: `case:${h.number}`,
      detail: { from: caller, digest, item: item.implementing_code },
    });
    await sendNotices(deps, [{ phone: person.phone, text }], tx);
  });
  crashPoint('handoff.received', deps.self);
  return { status: 201, receipt, handoff: jws };
}

/** A case the handling side keeps for `caller`, which received it: refused for anyone else. */
export async function caseReceivedBy(deps: CaseDeps, caller: string, number: string): Promise<store.CaseRow> {
  const c = await store.caseByNumber(deps.db, number);
  if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
  if (c.received_by !== caller) throw new Forbidden('not_received_by_caller', `${caller} did not receive case ${number}`);
  return c;
}

/** Asks the handling side for a case handed over: the applicant's or the public view. */
export async function handledView(deps: CaseDeps, c: store.CaseRow, view: 'applicant' | 'public'): Promise<Record<string, unknown>> {
  const { status, json } = await postAsEntity({
    from: deps.self,
    key: crossRegionOf(deps).signingKey(),
    to: c.handled_by!,
    path: `${HANDOFF_PATH}/view`,
    body: { number: c.number, view },
    timeoutMs: CALL_TIMEOUT_MS,
  });
  if (status !== 200) throw new UpstreamUnavailable(`the handling platform did not show case ${c.number}: ${status}`);
  return { ...json, received_here: true };
}

/** Forwards the applicant's corrections of a case handed over, the uploads' contents with them. */
export async function forwardSupply(
  deps: CaseDeps,
  c: store.CaseRow,
  materials: { slot: number; upload_id?: string; reference?: string }[],
) {
  const ids = materials.flatMap((m) => (m.upload_id ? [m.upload_id] : []));
  const staged = new Map((await store.stagedContents(deps.db, c.applicant_index, ids)).map((r) => [r.upload_id, r]));
  const missing = ids.filter((id) => !staged.has(id));
  if (missing.length) throw new BadRequest('unknown_upload', `materials: no upload of yours waiting under ${missing.join(', ')}`);
  const body = materials.map((m) => {
    const up = m.upload_id ? staged.get(m.upload_id)! : null;
    return {
      slot: m.slot,
      media_type: up?.media_type ?? null,
      content: up ? contentOf(deps, up.content_enc) : null,
      reference: m.reference ?? null,
    };
  });
  const { status, json } = await postAsEntity({
    from: deps.self,
    key: crossRegionOf(deps).signingKey(),
    to: c.handled_by!,
    path: `${HANDOFF_PATH}/supply`,
    body: { number: c.number, materials: body },
    timeoutMs: CALL_TIMEOUT_MS,
  });
  if (status >= 400 && status < 500)
    throw new HttpError(
      status,
      String(json.error ?? 'invalid_request'),
      String(json.error_description ?? 'the handling platform refused the correction'),
    );
  if (status !== 200) throw new UpstreamUnavailable(`the handling platform did not take the correction: ${status}`);
  // The uploads went with the correction: they are this case's now.
  await deps.db.transaction(async (tx) => {
    for (const m of materials) if (m.upload_id) await store.attachUpload(tx, m.upload_id, c.id, m.slot, 1);
  });
  return { ...json, received_here: true };
}

export const forwardedMaterials = z
  .array(
    z
      .object({
        slot: z.number().int().min(0).max(49),
        media_type: z.string().max(40).nullable(),
        content: z.string().max(3_000_000).nullable(),
        reference: z.string().max(200).nullable(),
      })
      .strict(),
  )
  .min(1)
  .max(50);
