/**
 * The cases' HTTP API (docs/cases.md), on the management platform's services entity.
 * - Applicant (a person's access token for this entity): POST /cases/uploads, POST /cases
 *   (Idempotency-Key), GET /cases/mine, GET /cases/:number, POST /cases/:number/supply|withdraw
 * - Staff (their own access token; roles from grants): GET /staff/me, GET /staff/queue,
 *   GET /staff/cases/:number, GET /staff/cases/:number/materials/:id, POST /staff/cases/:number/:action
 * - Anyone: POST /cases/lookup (number + phone tail or query code; rate-limited), GET /cases/published
 * - Admin: POST /admin/staff/grants, POST /admin/staff/revocations, GET /admin/staff/grants,
 *   GET /admin/cases/stats
 * - Demo only: POST /demo/cases/:number/age (moves a case's dates back, as if days had passed)
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { requireAdmin } from '../../infra/admin-auth.ts';
import { appendAudit, recordAudit } from '../../infra/audit-log.ts';
import { safeEqual } from '../../infra/crypto.ts';
import { BadRequest, Forbidden, HttpError, NotFound, TooManyRequests } from '../../infra/errors.ts';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import { parseBody, readRaw } from '../../infra/request-body.ts';
import { validate } from '../../infra/validation.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import { act, ownCase, PAYLOADS, settle, type Actor } from './case-actions.ts';
import { forwardSupply, handledView } from './cross-region.ts';
import { apply, idempotencyKey, MAX_MATERIAL_BYTES, queryCodeHash, upload } from './applications.ts';
import { MATERIAL_AAD, openPerson, applicantIndex, type CaseDeps } from './case-context.ts';
import { CASE_EVENTS, type CaseEvent } from './case-lifecycle.ts';
import { parseCaseNumber } from './case-numbers.ts';
import { casesOf, published, queue, stats, supervisedAuthorities, type QueueFilter } from './case-queries.ts';
import * as store from './case-store.ts';
import { applicantView, publicView, staffView } from './case-views.ts';
import { ageCase } from './demo-aging.ts';
import { parseRoles, type Staff, type StaffGrants } from './staff-grants.ts';
import { callerOfToken, limitParam, staffOfToken, throttle } from './case-callers.ts';

export interface CaseRoutesOptions {
  deps: CaseDeps;
  staff: StaffGrants;
  access: ServiceAccess;
  kv: KeyValueStore;
  adminToken: string;
  demo: boolean;
  /** OPs whose logins staff of this platform use; any OP of the federation when absent. */
  staffIssuers?: readonly string[];
}

const STAFF_EVENTS: readonly CaseEvent[] = CASE_EVENTS.filter((e) => e !== 'supply' && e !== 'withdraw' && e !== 'deem_accepted');

const lookupBody = z
  .object({
    number: z.string().min(1).max(40),
    phone_tail: z
      .string()
      .regex(/^\d{4}$/, 'is the last four digits of the phone number')
      .optional(),
    query_code: z.string().trim().min(4).max(16).optional(),
  })
  .strict()
  .refine((b) => Boolean(b.phone_tail) !== Boolean(b.query_code), {
    message: 'give either phone_tail or query_code',
    path: ['phone_tail'],
  });
const grantBody = z
  .object({
    id_number: z.string().min(1).max(32),
    authority: z.string().min(1).max(18),
    role: z.union([z.string().min(1).max(100), z.array(z.string().min(1).max(20)).max(5)]),
  })
  .strict();
const ageBody = z.object({ days: z.number().int().min(1).max(366) }).strict();

export function caseRouter(opts: CaseRoutesOptions): Router {
  const { deps, access } = opts;
  const router = new Router();
  const admin = requireAdmin(opts.adminToken);
  const lookupsPerClient = opts.kv.rateLimiter({ keyPrefix: 'cases:lookup:ip', points: 120, durationSeconds: 60 });
  const missesPerCase = opts.kv.rateLimiter({ keyPrefix: 'cases:lookup:miss', points: 5, durationSeconds: 3600, blockSeconds: 3600 });

  // Organizations apply and follow their cases through whoever signs in for them.
  // Who acted is kept for the audit of a refusal: the caller's blind index, never their identifiers.
  const callerOf = async (ctx: Koa.Context) => {
    const caller = await callerOfToken(access, ctx, { organizations: true });
    ctx.state.actor = applicantIndex(deps, caller.person);
    return caller;
  };
  const staffOf = async (ctx: Koa.Context) => {
    const staff = await staffOfToken(access, opts.staff, ctx, opts.staffIssuers);
    ctx.state.actor = staff.index;
    return staff;
  };

  const numberOf = (ctx: Koa.Context) => parseCaseNumber(ctx.params.number);

  /**
   * Every refused request (a 4xx: a bad token, a role or case not theirs, bad input, a move the
   * lifecycle does not allow) leaves an audit entry, under the case's number when it names one.
   */
  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof HttpError && err.status >= 400 && err.status < 500 && ctx._matchedRoute) {
        const number = /^[A-Za-z0-9-]{10,40}$/.test(ctx.params?.number ?? '') ? ctx.params.number!.toUpperCase() : null;
        await recordAudit(deps.db, {
          event: 'case.refused',
          subject: number ? `case:${number}` : null,
          detail: {
            request: `${ctx.method} ${String(ctx._matchedRoute)}`,
            code: err.code,
            by: (ctx.state as { actor?: string }).actor ?? null,
          },
        });
      }
      throw err;
    }
  });

  // Applicants ---------------------------------------------------------------------------------
  router.post('/cases/uploads', async (ctx) => {
    const caller = await callerOf(ctx);
    const content = await readRaw(ctx, MAX_MATERIAL_BYTES + 1);
    ctx.status = 201;
    ctx.body = await upload(deps, caller, ctx.get('content-type'), content);
  });

  router.post('/cases', parseBody, async (ctx) => {
    const caller = await callerOf(ctx);
    const key = validate(z.object({ 'idempotency-key': idempotencyKey }), { 'idempotency-key': ctx.get('idempotency-key') || undefined })[
      'idempotency-key'
    ];
    const receipt = await apply(deps, caller, key, ctx.request.body);
    ctx.status = receipt.replayed ? 200 : 201;
    ctx.body = receipt;
  });

  router.get('/cases/mine', async (ctx) => {
    const caller = await callerOf(ctx);
    ctx.body = { cases: await casesOf(deps, applicantIndex(deps, caller.person), limitParam(ctx.query.limit)) };
  });

  router.get('/cases/published', async (ctx) => {
    const authority = typeof ctx.query.authority === 'string' ? ctx.query.authority : null;
    ctx.body = { decisions: await published(deps.db, authority, limitParam(ctx.query.limit)) };
  });

  router.post('/cases/lookup', parseBody, async (ctx) => {
    await throttle(lookupsPerClient, ctx.ip, 'case lookups from this address');
    const body = validate(lookupBody, ctx.request.body);
    const number = parseCaseNumber(body.number);
    const blocked = await missesPerCase.get(number);
    if (blocked && blocked.remainingPoints <= 0) {
      const seconds = Math.max(1, Math.ceil(blocked.msBeforeNext / 1000));
      throw new TooManyRequests(`too many wrong answers for ${number}; retry in ${seconds} s`, seconds);
    }
    const c = await store.caseByNumber(deps.db, number);
    const phone = c ? openPerson(deps, c.applicant_enc).phone : null;
    const matches =
      c !== undefined &&
      (body.query_code
        ? safeEqual(queryCodeHash(deps, number, body.query_code), c.query_code_hash)
        : phone !== null && safeEqual(phone.slice(-4), body.phone_tail!));
    if (!matches) {
      await missesPerCase.penalty(number);
      throw new NotFound('no case with that number and that phone tail or query code', 'unknown_case');
    }
    await settle(deps, number);
    ctx.set('Cache-Control', 'no-store');
    const found = (await store.caseByNumber(deps.db, number))!;
    ctx.body = found.handled_by ? await handledView(deps, found, 'public') : await publicView(deps, found);
  });

  router.get('/cases/:number', async (ctx) => {
    const caller = await callerOf(ctx);
    const number = numberOf(ctx);
    await settle(deps, number);
    const c = ownCase(deps, await store.caseByNumber(deps.db, number), number, caller);
    // A case handed to another platform is read there: the same case and timeline.
    ctx.body = c.handled_by ? await handledView(deps, c, 'applicant') : await applicantView(deps, c);
  });

  for (const event of ['supply', 'withdraw'] as const) {
    router.post(`/cases/:number/${event}`, parseBody, async (ctx) => {
      const caller = await callerOf(ctx);
      const number = numberOf(ctx);
      const c = ownCase(deps, await store.caseByNumber(deps.db, number), number, caller);
      if (c.handled_by && event === 'supply') {
        ctx.body = await forwardSupply(deps, c, validate(PAYLOADS.supply, ctx.request.body).materials);
        return;
      }
      await act(deps, number, event, { kind: 'applicant', caller }, ctx.request.body);
      ctx.body = await applicantView(deps, (await store.caseByNumber(deps.db, number))!);
    });
  }

  // Staff ---------------------------------------------------------------------------------------
  router.get('/staff/me', async (ctx) => {
    ctx.body = { grants: (await staffOf(ctx)).grants };
  });

  router.get('/staff/queue', async (ctx) => {
    const staff = await staffOf(ctx);
    const filter = (ctx.query.status ?? 'all') as QueueFilter;
    if (!['all', 'due_soon', 'overdue'].includes(filter)) throw new BadRequest('invalid_request', 'status: all, due_soon or overdue');
    ctx.body = await queue(deps, staff, filter, limitParam(ctx.query.limit));
  });

  // Supervisors (the supervisor role) read the figures of the authorities they oversee.
  router.get('/staff/supervision', async (ctx) => {
    const staff = await staffOf(ctx);
    const own = [...new Set(staff.grants.filter((g) => g.role === 'supervisor').map((g) => g.authority))];
    if (own.length === 0) throw new Forbidden('role_required', 'supervision needs the supervisor role');
    const authorities = [...new Set((await Promise.all(own.map((a) => supervisedAuthorities(deps.db, a)))).flat())];
    ctx.body = { authorities, ...(await stats(deps, { authorities })) };
  });

  /** The case, for staff who hold a role at its authority or owe it an opinion; the reading is audited. */
  const caseForStaff = async (staff: Staff, number: string, what: string) => {
    await settle(deps, number);
    const c = await store.caseByNumber(deps.db, number);
    if (!c) throw new NotFound(`no case ${number}`, 'unknown_case');
    const asked = (await store.opinions(deps.db, c.id)).map((o) => o.authority);
    const grant = staff.grants.find((g) => g.authority === c.authority || asked.includes(g.authority));
    if (!grant) throw new Forbidden('outside_authority', `case ${number} is handled by ${c.authority}; you hold no role there`);
    await deps.db.transaction((tx) =>
      appendAudit(tx, {
        event: `case.${what}`,
        subject: `case:${number}`,
        detail: { role: grant.role, authority: grant.authority, actor: staff.index },
      }),
    );
    return c;
  };

  router.get('/staff/cases/:number', async (ctx) => {
    const staff = await staffOf(ctx);
    ctx.body = await staffView(deps, await caseForStaff(staff, numberOf(ctx), 'read'), staff);
  });

  router.get('/staff/cases/:number/materials/:id', async (ctx) => {
    const staff = await staffOf(ctx);
    const c = await caseForStaff(staff, numberOf(ctx), 'material_read');
    const m = await store.materialContent(deps.db, c.id, ctx.params.id!);
    if (!m) throw new NotFound(`case ${c.number} has no material ${ctx.params.id} to read`, 'unknown_material');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Disposition', 'attachment');
    ctx.type = m.media_type;
    const plain = deps.cipher.decrypt(m.content_enc, MATERIAL_AAD);
    // An upload is kept as base64; a record the exchange served, as its JSON.
    ctx.body = m.source === 'upload' ? Buffer.from(plain, 'base64') : plain;
  });

  router.post('/staff/cases/:number/:action', parseBody, async (ctx) => {
    const staff = await staffOf(ctx);
    const event = ctx.params.action as CaseEvent;
    if (!STAFF_EVENTS.includes(event))
      throw new NotFound(`no staff action ${ctx.params.action}; actions: ${STAFF_EVENTS.join(', ')}`, 'unknown_action');
    const number = numberOf(ctx);
    await act(deps, number, event, { kind: 'staff', staff } satisfies Actor, ctx.request.body);
    ctx.body = await staffView(deps, (await store.caseByNumber(deps.db, number))!, staff);
  });

  // Administration ------------------------------------------------------------------------------
  router.post('/admin/staff/grants', admin, parseBody, async (ctx) => {
    const body = validate(grantBody, ctx.request.body);
    ctx.status = 201;
    ctx.body = await opts.staff.grant({
      idNumber: body.id_number,
      authority: body.authority,
      roles: parseRoles(body.role),
      grantedBy: 'admin',
    });
  });
  router.post('/admin/staff/revocations', admin, parseBody, async (ctx) => {
    const body = validate(grantBody, ctx.request.body);
    ctx.body = await opts.staff.revoke({
      idNumber: body.id_number,
      authority: body.authority,
      roles: parseRoles(body.role),
      revokedBy: 'admin',
    });
  });
  router.get('/admin/staff/grants', admin, async (ctx) => {
    if (typeof ctx.query.authority !== 'string') throw new BadRequest('invalid_request', 'authority: which authority’s staff to list');
    ctx.body = { staff: await opts.staff.list(ctx.query.authority) };
  });
  router.get('/admin/cases/stats', admin, async (ctx) => {
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    ctx.body = await stats(deps, { authority: str(ctx.query.authority), item: str(ctx.query.item) });
  });

  if (opts.demo) {
    router.post('/demo/cases/:number/age', parseBody, async (ctx) => {
      const body = validate(ageBody, ctx.request.body);
      ctx.body = await ageCase(deps, numberOf(ctx), body.days);
    });
  }
  return router;
}
