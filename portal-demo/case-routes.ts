/**
 * The portal's case pages, over the platform's cases API with the signed-in person's access
 * token (docs/cases.md):
 * - `GET /apply/:code`, `POST /apply/:code` (multipart: the files go to the API one by one, then
 *   the application, under the form's own idempotency key, so sending it twice makes one case);
 * - `GET /my-cases`, `GET /my-cases/:number`, `POST /my-cases/:number/supply|withdraw` (我的办件);
 * - `GET /track`, `POST /track` (办件查询: number and phone tail or query code, no sign-in);
 * - `GET /workbench`, `GET /workbench/cases/:number`, its materials, and
 *   `POST /workbench/cases/:number/:action` (the staff workbench); `GET /workbench/supervision`
 *   (supervisors: cases, closed, overdue and time against the promise per authority and item).
 * Every form carries the portal's CSRF token.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { randomToken } from '../infra/crypto.ts';
import { parseFormBody } from '../infra/request-body.ts';
import { CaseRefusal, CasesUnavailable, type CaseClient, type Json } from './case-client.ts';
import { caseTranslator, isCaseMessageKey } from './case-i18n.ts';
import { readMultipartForm, type MultipartForm } from './multipart-form.ts';
import type { PortalSession } from './portal-state.ts';
import type { PageContext } from './views/pages.ts';
import {
  applicantCasePage,
  applyPage,
  caseErrorPage,
  myCasesPage,
  receiptPage,
  signInPage,
  staffCasePage,
  trackPage,
  supervisionPage,
  workbenchPage,
  type CasePageContext,
} from './views/case-pages.ts';

/** Files of one application: up to a few materials of 2 MiB each. */
const FORM_LIMIT = 12 * 1024 * 1024;
const NUMBER = /^[A-Za-z0-9-]{10,40}$/;
const CODE = /^[0-9A-Z]{12,40}$/;
const ACTIONS = new Set([
  'request_correction',
  'accept',
  'refuse',
  'decide_on_the_spot',
  'record_review',
  'give_opinion',
  'suspend',
  'resume',
  'extend',
  'complete_review',
  'decide',
  'make_result',
  'deliver',
  'publish',
  'close',
]);

export interface CaseRouteDeps {
  cases: CaseClient;
  page: (ctx: Koa.Context) => PageContext;
  csrfFor: (ctx: Koa.Context) => string;
  csrfOk: (ctx: Koa.Context, body: Record<string, string>) => boolean;
  session: (ctx: Koa.Context) => Promise<PortalSession | null>;
  log: { warn: (message: string, fields: Record<string, unknown>) => void };
}

/** A page answered early: not signed in, a refusal, the API down. */
class Stop extends Error {
  constructor(
    readonly status: number,
    readonly render: (p: CasePageContext) => string,
  ) {
    super('stop');
  }
}

function formFields(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new Stop(400, (p) => caseErrorPage(p, p.ct('error.bad_form')));
    out[k] = v;
  }
  return out;
}

/** The sentence for an API refusal, in the page's language. */
function refusalText(p: CasePageContext, err: CaseRefusal): string {
  const key = `error.${err.code}`;
  if (isCaseMessageKey(key)) return p.ct(key, { level: String(err.details.min_loa ?? ''), description: err.description });
  return p.ct('error.case_refused', { description: err.description || err.code });
}

/** The body of a staff action, from its form. */
function actionBody(action: string, f: Record<string, string>): Json {
  const text = (name: string) => (f[name]?.trim() ? f[name].trim() : undefined);
  switch (action) {
    case 'request_correction': {
      const missing: Json[] = Object.keys(f)
        .filter((k) => /^missing_\d{1,2}$/.test(k))
        .map((k) => {
          const slot = Number(k.slice(8));
          return { slot, reason: text(`reason_${slot}`) ?? '请补正' };
        });
      if (text('other')) missing.push({ name: '其他', reason: text('other')! });
      return { missing };
    }
    case 'accept':
      return text('opinion_days') ? { opinion_days: Number(f.opinion_days) } : {};
    case 'refuse':
      return { reasons: text('reasons') ?? '' };
    case 'extend':
      return { reason: text('reasons') ?? '' };
    case 'record_review':
      return { method: f.method ?? '', finding: text('finding') ?? '' };
    case 'suspend':
      return { kind: f.kind ?? '', reason: text('reasons') ?? '' };
    case 'resume':
      return { finding: text('finding') ?? '' };
    case 'give_opinion':
      return { opinion: f.opinion ?? '', reason: text('reasons') ?? '' };
    case 'complete_review':
      return text('summary') ? { summary: text('summary') } : {};
    case 'decide':
    case 'decide_on_the_spot':
      return { outcome: f.outcome ?? '', ...(text('reasons') ? { reasons: text('reasons') } : {}) };
    default:
      return {};
  }
}

export function addCaseRoutes(router: Router, deps: CaseRouteDeps): void {
  const { cases } = deps;
  const pageOf = (ctx: Koa.Context): CasePageContext => {
    const p = deps.page(ctx);
    return { ...p, ct: caseTranslator(p.locale), csrf: deps.csrfFor(ctx) };
  };

  /** Runs a page handler; what it stops with (or the API's refusal) is a page too. */
  const answer = (handler: (ctx: Koa.Context, p: CasePageContext) => Promise<string | void>) => async (ctx: Koa.Context) => {
    const p = pageOf(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Vary', 'Accept-Language, Cookie');
    try {
      const body = await handler(ctx, p);
      if (body === undefined) return;
      ctx.type = 'html';
      ctx.body = body;
    } catch (err) {
      let stop: Stop;
      if (err instanceof Stop) stop = err;
      else if (err instanceof CaseRefusal && err.status === 401 && err.code !== 'insufficient_user_authentication')
        stop = new Stop(401, (q) => signInPage(q, 'text.token_expired'));
      else if (err instanceof CaseRefusal) stop = new Stop(err.status, (q) => caseErrorPage(q, refusalText(q, err)));
      else if (err instanceof CasesUnavailable) {
        deps.log.warn('the cases API cannot be reached', { reason: err.message });
        stop = new Stop(502, (q) => caseErrorPage(q, q.ct('error.cases_unavailable')));
      } else throw err;
      ctx.status = stop.status;
      ctx.type = 'html';
      ctx.body = stop.render(p);
    }
  };

  /** The signed-in person's access token for the services entity, or a page asking to sign in. */
  const tokenOf = async (ctx: Koa.Context): Promise<string> => {
    const session = await deps.session(ctx);
    if (!session) throw new Stop(401, (p) => signInPage(p, 'text.login_first'));
    if (session.servicesToken.expiresAt < Date.now() + 5_000) throw new Stop(401, (p) => signInPage(p, 'text.token_expired'));
    return session.servicesToken.value;
  };

  const checked = (ctx: Koa.Context, fields: Record<string, string>) => {
    if (!deps.csrfOk(ctx, fields)) throw new Stop(403, (p) => caseErrorPage(p, p.t('error.csrf')));
  };
  const param = (ctx: Koa.Context, name: string, pattern: RegExp) => {
    const value = ctx.params[name] ?? '';
    if (!pattern.test(value)) throw new Stop(404, (p) => caseErrorPage(p, p.t('error.not_found')));
    return value;
  };

  /** Uploads the form's files (`file_<slot>`) and returns them as materials. */
  const uploadFiles = async (token: string, form: MultipartForm): Promise<Json[]> => {
    const materials: Json[] = [];
    for (const [name, file] of Object.entries(form.files)) {
      const slot = /^file_(\d{1,2})$/.exec(name)?.[1];
      if (slot === undefined) continue;
      const { upload_id } = await cases.upload(token, file.type, file.content);
      materials.push({ slot: Number(slot), upload_id });
    }
    return materials;
  };

  router.get(
    '/apply/:code',
    answer(async (ctx, p) => {
      await tokenOf(ctx);
      return applyPage(p, await cases.item(param(ctx, 'code', CODE)), randomToken(16));
    }),
  );

  router.post(
    '/apply/:code',
    answer(async (ctx, p) => {
      const code = param(ctx, 'code', CODE);
      const token = await tokenOf(ctx);
      const form = await readMultipartForm(ctx, FORM_LIMIT);
      checked(ctx, form.fields);
      const f = form.fields;
      const references = Object.entries(f)
        .filter(([k]) => /^ref_\d{1,2}$/.test(k))
        .map(([k, v]) => ({ slot: Number(k.slice(4)), reference: v }));
      try {
        const materials = [...(await uploadFiles(token, form)), ...references];
        const receipt = await cases.apply(token, f.key ?? '', {
          item_code: code,
          ...(/^\d{1,9}$/.test(f.version ?? '') ? { item_version: Number(f.version) } : {}),
          delivery: f.delivery ?? '',
          ...(f.address?.trim() ? { delivery_address: f.address.trim() } : {}),
          materials,
        });
        ctx.status = receipt.replayed ? 200 : 201;
        return receiptPage(p, receipt);
      } catch (err) {
        if (!(err instanceof CaseRefusal) || err.status === 401) throw err;
        ctx.status = err.status;
        return applyPage(p, await cases.item(code), f.key ?? randomToken(16), refusalText(p, err));
      }
    }),
  );

  router.get(
    '/my-cases',
    answer(async (ctx, p) => myCasesPage(p, await cases.mine(await tokenOf(ctx)))),
  );

  router.get(
    '/my-cases/:number',
    answer(async (ctx, p) => applicantCasePage(p, await cases.caseOf(await tokenOf(ctx), param(ctx, 'number', NUMBER)))),
  );

  router.post(
    '/my-cases/:number/supply',
    answer(async (ctx) => {
      const number = param(ctx, 'number', NUMBER);
      const token = await tokenOf(ctx);
      const form = await readMultipartForm(ctx, FORM_LIMIT);
      checked(ctx, form.fields);
      await cases.applicantAction(token, number, 'supply', { materials: await uploadFiles(token, form) });
      ctx.status = 303;
      ctx.redirect(`/my-cases/${number}`);
    }),
  );

  router.post(
    '/my-cases/:number/withdraw',
    parseFormBody,
    answer(async (ctx) => {
      const number = param(ctx, 'number', NUMBER);
      const token = await tokenOf(ctx);
      checked(ctx, formFields(ctx.request.body));
      await cases.applicantAction(token, number, 'withdraw', {});
      ctx.status = 303;
      ctx.redirect(`/my-cases/${number}`);
    }),
  );

  router.get(
    '/track',
    answer(async (_ctx, p) => trackPage(p)),
  );

  router.post(
    '/track',
    parseFormBody,
    answer(async (ctx, p) => {
      const f = formFields(ctx.request.body);
      checked(ctx, f);
      const number = (f.number ?? '').trim();
      const second = f.phone_tail?.trim() ? { phone_tail: f.phone_tail.trim() } : { query_code: (f.query_code ?? '').trim() };
      try {
        return trackPage(p, await cases.lookup({ number, ...second }), undefined, number);
      } catch (err) {
        if (!(err instanceof CaseRefusal)) throw err;
        ctx.status = err.status;
        return trackPage(p, undefined, refusalText(p, err), number);
      }
    }),
  );

  router.get(
    '/workbench',
    answer(async (ctx, p) => {
      const status = ['due_soon', 'overdue'].includes(String(ctx.query.status)) ? String(ctx.query.status) : 'all';
      return workbenchPage(p, await cases.queue(await tokenOf(ctx), status), status);
    }),
  );

  router.get(
    '/workbench/supervision',
    answer(async (ctx, p) => supervisionPage(p, await cases.supervision(await tokenOf(ctx)))),
  );

  router.get(
    '/workbench/cases/:number',
    answer(async (ctx, p) => {
      const done = typeof ctx.query.done === 'string' && ACTIONS.has(ctx.query.done) ? ctx.query.done : undefined;
      return staffCasePage(p, await cases.staffCase(await tokenOf(ctx), param(ctx, 'number', NUMBER)), done);
    }),
  );

  router.get(
    '/workbench/cases/:number/materials/:id',
    answer(async (ctx) => {
      const number = param(ctx, 'number', NUMBER);
      const id = param(ctx, 'id', /^[0-9a-f-]{36}$/);
      const file = await cases.material(await tokenOf(ctx), number, id);
      ctx.set('Content-Disposition', 'attachment');
      ctx.type = file.type;
      ctx.body = file.content;
    }),
  );

  router.post(
    '/workbench/cases/:number/:action',
    parseFormBody,
    answer(async (ctx) => {
      const number = param(ctx, 'number', NUMBER);
      const action = param(ctx, 'action', /^[a-z_]{3,30}$/);
      if (!ACTIONS.has(action)) throw new Stop(404, (p) => caseErrorPage(p, p.t('error.not_found')));
      const token = await tokenOf(ctx);
      const f = formFields(ctx.request.body);
      checked(ctx, f);
      await cases.staffAction(token, number, action, actionBody(action, f));
      ctx.status = 303;
      ctx.redirect(`/workbench/cases/${number}?done=${action}`);
    }),
  );
}
