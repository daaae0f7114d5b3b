/**
 * The portal's pages of 我要问, 我要评 and 我的, and the staff views behind them, read from and
 * posted to the services entity's API (voice-client.ts) with the signed-in person's access token:
 * - anyone: GET /ratings (the public figures of 好差评)
 * - person: GET /my, /my/notices (POST /my/notices/settings), /my/questions (GET
 *   /my/questions/:id/offered, POST …/accept|escalate), /my/ratings (POST /my/ratings/:id/view),
 *   GET|POST /rate/:number, GET|POST /ask (?item=CODE or ?case=NUMBER)
 * - staff: GET /staff/questions[/:id] (POST …/answer|publish), /staff/rectifications[/:id]
 *   (POST …/:step, …/appeal), /staff/appeals[/:id] (POST …/decide)
 * Every form carries the CSRF token; a successful POST answers 303 to the page that shows it.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { parseFormBody } from '../infra/request-body.ts';
import { html } from '../infra/html.ts';
import { formFields } from './form-fields.ts';
import type { Locale } from './i18n.ts';
import type { PortalSession } from './portal-state.ts';
import { ServiceRefusal, ServiceUnavailable, type Json, type VoiceClient } from './voice-client.ts';
import { isVoiceKey, voiceTranslator } from './voice-i18n.ts';
import { withLang } from './views/catalog-pages.ts';
import { hidden, layout, type PageContext } from './views/pages.ts';
import {
  appealPage,
  appealQueuePage,
  questionQueuePage,
  rectificationPage,
  rectificationQueuePage,
  staffQuestionPage,
  type AppealView,
  type QueuedQuestion,
  type QueuedTask,
  type StaffQuestion,
  type TaskView,
} from './views/staff-voice-pages.ts';
import { ratingFiguresPage, type FiguresView } from './views/rating-figures-page.ts';
import { alertBox, type VoicePageContext } from './views/voice-forms.ts';
import {
  askPage,
  myNoticesPage,
  myQuestionsPage,
  myRatingsPage,
  mySpacePage,
  offeredPage,
  ratePage,
  type CaseSummary,
  type NoticeView,
  type ProfileView,
  type QuestionView,
  type RatingView,
} from './views/voice-pages.ts';

export interface VoicePageDeps {
  client: VoiceClient;
  page: (ctx: Koa.Context, lang?: string) => PageContext;
  session: (ctx: Koa.Context) => Promise<PortalSession | null>;
  csrfFor: (ctx: Koa.Context) => string;
  csrfOk: (ctx: Koa.Context, body: Record<string, string>) => boolean;
  log: { warn: (message: string, fields: Record<string, unknown>) => void };
}

const ID = /^\d{1,18}$/;
const CASE_NUMBER = /^[A-Z][A-Z0-9]{1,15}-\d{8}-\d{6,}-[0-9A-Z]$/;
const ITEM_CODE = /^[0-9A-Z]{12,40}$/;
const STEPS = ['call_back', 'resolve', 'schedule_fix', 'complete_fix'];
const CRITERIA = ['efficiency', 'guide_accuracy', 'convenience', 'platform_usability'];

/** A request the portal refuses before asking the API: its status and message key. */
class PageRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

interface Call {
  ctx: Koa.Context;
  p: VoicePageContext;
  body: Record<string, string>;
  api: <T = Json>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => Promise<T>;
}

/** A number when the field is one digit or more, else the text as typed (the API names what is wrong with it). */
const numberOr = (v: string) => (/^\d{1,3}$/.test(v) ? Number(v) : v);

export function addVoicePages(router: Router, deps: VoicePageDeps): void {
  const explicit = (v: unknown): Locale | undefined => (v === 'en' || v === 'zh-CN' ? v : undefined);

  const context = (ctx: Koa.Context, lang: Locale | undefined): VoicePageContext => {
    const base = deps.page(ctx, lang);
    return {
      ...base,
      lang,
      v: voiceTranslator(base.locale),
      csrf: deps.csrfFor(ctx),
      switchLanguagePath: ctx.method === 'GET' ? ctx.path : undefined,
    };
  };

  const send = (ctx: Koa.Context, status: number, page: string) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = page;
  };

  /** A refusal as a page: the message of its code, the code for support, and a way on. */
  const refusalPage = (p: VoicePageContext, code: string, description?: string) => {
    const message = isVoiceKey(`error.${code}`) ? p.v(`error.${code}` as 'error.generic') : p.v('error.generic');
    const signIn = code === 'not_signed_in' || code === 'token_expired' || code === 'invalid_token';
    return layout(
      p,
      p.v('page.refused'),
      html`${alertBox(signIn && code === 'invalid_token' ? p.v('error.token_expired') : message)}
        <p class="hint">${p.v('text.error_code')}: <code>${code}</code>${description ? html` — ${description}` : ''}</p>
        ${
          signIn
            ? html`<form method="post" action="/login">
              ${hidden('csrf', p.csrf)}${p.lang ? hidden('lang', p.lang) : ''}
              <button type="submit">${p.v('action.sign_in_again')}</button>
            </form>`
            : html`<p><a href="${withLang('/my', p.lang)}">${p.v('nav.my')}</a></p>`
        }`,
    );
  };

  const see = (ctx: Koa.Context, p: VoicePageContext, path: string) => {
    ctx.status = 303;
    ctx.redirect(withLang(path, p.lang));
  };

  /** Runs a page's handler for a signed-in person with a live token; refusals become pages. */
  const page =
    (handler: (c: Call) => Promise<string | void>): Koa.Middleware =>
    async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Vary', 'Accept-Language, Cookie');
      const post = ctx.method === 'POST';
      const body = post ? formFields(ctx.request.body) : {};
      const p = context(ctx, explicit(body?.lang ?? ctx.query.lang));
      if (!body) return send(ctx, 400, refusalPage(p, 'invalid_request'));
      if (post && !deps.csrfOk(ctx, body)) return send(ctx, 403, layout(p, p.v('page.refused'), html`${alertBox(p.t('error.csrf'))}`));
      const session = await deps.session(ctx);
      if (!session) return send(ctx, 401, refusalPage(p, 'not_signed_in'));
      if (session.servicesToken.expiresAt <= Date.now()) return send(ctx, 401, refusalPage(p, 'token_expired'));
      const api = <T = Json>(method: 'GET' | 'POST' | 'PUT', path: string, payload?: unknown) =>
        deps.client.call<T>(session.servicesToken.value, method, path, payload);
      try {
        const out = await handler({ ctx, p, body, api });
        // A form shown again with its refusal has set its status already.
        if (typeof out === 'string') {
          ctx.type = 'html';
          ctx.body = out;
        }
      } catch (err) {
        if (err instanceof PageRefusal) return send(ctx, err.status, refusalPage(p, err.code));
        if (err instanceof ServiceRefusal) return send(ctx, err.status, refusalPage(p, err.code, err.message));
        if (err instanceof ServiceUnavailable) {
          deps.log.warn('the services entity cannot be reached', { reason: err.message });
          return send(ctx, 502, refusalPage(p, 'unavailable'));
        }
        throw err;
      }
    };

  /** A form's refusal, shown above the form again: its status and message. */
  const formError = (p: VoicePageContext, err: unknown): { status: number; message: string } => {
    if (!(err instanceof ServiceRefusal) || err.status === 401) throw err;
    return {
      status: err.status,
      message: isVoiceKey(`error.${err.code}`) ? p.v(`error.${err.code}` as 'error.generic') : p.v('error.generic'),
    };
  };

  const param = (ctx: Koa.Context, name: string, pattern: RegExp) => {
    const value = ctx.params[name] ?? '';
    if (!pattern.test(value)) throw new PageRefusal(404, 'not_found');
    return value;
  };

  const myCase = async (c: Call, number: string): Promise<CaseSummary> => {
    const { cases } = await c.api<{ cases: CaseSummary[] }>('GET', '/my/cases?limit=200');
    const found = cases.find((x) => x.number === number);
    if (!found) throw new PageRefusal(404, 'unknown_case');
    return found;
  };

  // The public figures of 好差评: no sign-in.
  router.get('/ratings', async (ctx) => {
    const p = context(ctx, explicit(ctx.query.lang));
    ctx.set('Vary', 'Accept-Language');
    try {
      send(ctx, 200, ratingFiguresPage(p, await deps.client.call<FiguresView>(null, 'GET', '/ratings/stats')));
    } catch (err) {
      if (!(err instanceof ServiceUnavailable || err instanceof ServiceRefusal)) throw err;
      deps.log.warn('the services entity cannot be reached', { reason: err.message });
      send(ctx, 502, refusalPage(p, 'unavailable'));
    }
  });

  // The person's space -------------------------------------------------------------------------

  router.get(
    '/my',
    page(async (c) => {
      const [profile, { cases }] = await Promise.all([
        c.api<ProfileView>('GET', '/my/profile'),
        c.api<{ cases: CaseSummary[] }>('GET', '/my/cases'),
      ]);
      const grants = await c
        .api<{ grants: { role: string }[] }>('GET', '/staff/me')
        .then((r) => r.grants)
        .catch((err: unknown) => {
          if (err instanceof ServiceRefusal && err.status === 403) return [];
          throw err;
        });
      const holds = (role: string) => grants.some((g) => g.role === role);
      const staff = grants.length ? { answerer: holds('answerer'), rectifier: holds('rectifier'), supervisor: holds('supervisor') } : null;
      return mySpacePage(c.p, profile, cases, staff);
    }),
  );

  router.get(
    '/my/notices',
    page(async (c) => {
      const { notices, settings } = await c.api<{ notices: NoticeView[]; settings: Record<string, boolean> }>('GET', '/my/notices');
      return myNoticesPage(c.p, notices, settings);
    }),
  );
  router.post(
    '/my/notices/settings',
    parseFormBody,
    page(async (c) => {
      const { settings } = await c.api<{ settings: Record<string, boolean> }>('GET', '/my/notices');
      const changes = Object.fromEntries(
        Object.keys(settings)
          .filter((k) => k !== 'replies')
          .map((k) => [k, c.body[k] === '1']),
      );
      await c.api('PUT', '/my/notice-settings', changes);
      see(c.ctx, c.p, '/my/notices');
    }),
  );

  router.get(
    '/my/questions',
    page(async (c) => myQuestionsPage(c.p, (await c.api<{ questions: QuestionView[] }>('GET', '/my/questions')).questions)),
  );
  router.get(
    '/my/questions/:id/offered',
    page(async (c) => offeredPage(c.p, await c.api<QuestionView>('GET', `/my/questions/${param(c.ctx, 'id', ID)}`))),
  );
  for (const action of ['accept', 'escalate']) {
    router.post(
      `/my/questions/:id/${action}`,
      parseFormBody,
      page(async (c) => {
        await c.api('POST', `/my/questions/${param(c.ctx, 'id', ID)}/${action}`);
        see(c.ctx, c.p, '/my/questions');
      }),
    );
  }

  router.get(
    '/my/ratings',
    page(async (c) => myRatingsPage(c.p, (await c.api<{ ratings: RatingView[] }>('GET', '/my/ratings')).ratings)),
  );
  router.post(
    '/my/ratings/:id/view',
    parseFormBody,
    page(async (c) => {
      await c.api('POST', `/my/ratings/${param(c.ctx, 'id', ID)}/view`, {
        satisfied: c.body.satisfied === '1',
        ...(c.body.comment ? { comment: c.body.comment } : {}),
      });
      see(c.ctx, c.p, '/my/ratings');
    }),
  );

  // 我要评 -------------------------------------------------------------------------------------------

  const stageOf = (summary: CaseSummary, asked: unknown): 'acceptance' | 'closure' => {
    if (asked === 'acceptance' || asked === 'closure') return asked;
    return summary.rating.closure === 'open' ? 'closure' : 'acceptance';
  };

  router.get(
    '/rate/:number',
    page(async (c) => {
      const summary = await myCase(c, param(c.ctx, 'number', CASE_NUMBER));
      const stage = stageOf(summary, c.ctx.query.stage);
      if (summary.rating[stage] === 'rated') throw new PageRefusal(409, 'already_rated');
      if (summary.rating[stage] === 'not_yet') throw new PageRefusal(409, 'not_ratable_yet');
      return ratePage(c.p, { number: summary.number, itemName: summary.item.name, stage });
    }),
  );
  router.post(
    '/rate/:number',
    parseFormBody,
    page(async (c) => {
      const summary = await myCase(c, param(c.ctx, 'number', CASE_NUMBER));
      const stage = stageOf(summary, c.body.stage);
      const criteria = Object.fromEntries(CRITERIA.filter((k) => c.body[k]).map((k) => [k, numberOr(c.body[k]!)]));
      try {
        await c.api('POST', '/ratings', {
          case_number: summary.number,
          stage,
          level: numberOr(c.body.level ?? ''),
          ...(Object.keys(criteria).length ? { criteria } : {}),
          ...(c.body.comment ? { comment: c.body.comment } : {}),
          ...(c.body.complaint ? { complaint: c.body.complaint } : {}),
          anonymous: c.body.anonymous === '1',
        });
      } catch (err) {
        const { status, message } = formError(c.p, err);
        c.ctx.status = status;
        return ratePage(c.p, { number: summary.number, itemName: summary.item.name, stage, error: message, values: c.body });
      }
      see(c.ctx, c.p, '/my/ratings');
    }),
  );

  // 我要问 -------------------------------------------------------------------------------------------

  /** What a question is about, named for the form. */
  const subject = async (c: Call, item: string | undefined, caseNumber: string | undefined) => {
    if (caseNumber) {
      if (!CASE_NUMBER.test(caseNumber)) throw new PageRefusal(404, 'unknown_case');
      const summary = await myCase(c, caseNumber);
      return {
        caseNumber,
        about: `${c.p.v('text.asked_about', { item: summary.item.name })}${c.p.v('text.about_case', { number: caseNumber })}`,
      };
    }
    if (!item || !ITEM_CODE.test(item)) throw new PageRefusal(404, 'not_found');
    const found = await c.api<{ item: { name: string } }>('GET', `/catalog/items/${item}`);
    return { item, about: c.p.v('text.asked_about', { item: found.item.name }) };
  };
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

  router.get(
    '/ask',
    page(async (c) => askPage(c.p, await subject(c, str(c.ctx.query.item), str(c.ctx.query.case)))),
  );
  router.post(
    '/ask',
    parseFormBody,
    page(async (c) => {
      const about = await subject(c, str(c.body.item), str(c.body.case));
      let asked: QuestionView;
      try {
        asked = await c.api<QuestionView>('POST', '/questions', {
          ...(about.item ? { item_code: about.item } : { case_number: about.caseNumber }),
          text: c.body.text ?? '',
          to_staff: c.body.to_staff === '1',
        });
      } catch (err) {
        const { status, message } = formError(c.p, err);
        c.ctx.status = status;
        return askPage(c.p, { ...about, error: message, text: c.body.text });
      }
      if (asked.state === 'offered') return offeredPage(c.p, asked);
      see(c.ctx, c.p, '/my/questions');
    }),
  );

  // Staff ------------------------------------------------------------------------------------------

  router.get(
    '/staff/questions',
    page(async (c) => questionQueuePage(c.p, (await c.api<{ questions: QueuedQuestion[] }>('GET', '/staff/questions')).questions)),
  );
  router.get(
    '/staff/questions/:id',
    page(async (c) => staffQuestionPage(c.p, await c.api<StaffQuestion>('GET', `/staff/questions/${param(c.ctx, 'id', ID)}`))),
  );
  for (const action of ['answer', 'publish']) {
    router.post(
      `/staff/questions/:id/${action}`,
      parseFormBody,
      page(async (c) => {
        const id = param(c.ctx, 'id', ID);
        const payload = action === 'answer' ? { answer: c.body.answer ?? '' } : { question: c.body.question, answer: c.body.answer };
        try {
          await c.api('POST', `/staff/questions/${id}/${action}`, payload);
        } catch (err) {
          const { status, message } = formError(c.p, err);
          c.ctx.status = status;
          return staffQuestionPage(c.p, await c.api<StaffQuestion>('GET', `/staff/questions/${id}`), message);
        }
        see(c.ctx, c.p, `/staff/questions/${id}`);
      }),
    );
  }

  router.get(
    '/staff/rectifications',
    page(async (c) => rectificationQueuePage(c.p, (await c.api<{ tasks: QueuedTask[] }>('GET', '/staff/rectifications')).tasks)),
  );
  router.get(
    '/staff/rectifications/:id',
    page(async (c) => rectificationPage(c.p, await c.api<TaskView>('GET', `/staff/rectifications/${param(c.ctx, 'id', ID)}`))),
  );
  /** A staff form posted to the API; its refusal is shown above the task again. */
  const taskForm = async (c: Call, taskId: string, path: string, payload: Record<string, unknown>) => {
    try {
      await c.api('POST', path, payload);
    } catch (err) {
      const { status, message } = formError(c.p, err);
      c.ctx.status = status;
      return rectificationPage(c.p, await c.api<TaskView>('GET', `/staff/rectifications/${taskId}`), message);
    }
    see(c.ctx, c.p, `/staff/rectifications/${taskId}`);
  };
  router.post(
    '/staff/rectifications/:id/:step',
    parseFormBody,
    page(async (c) => {
      const id = param(c.ctx, 'id', ID);
      const step = c.ctx.params.step!;
      const { csrf: _csrf, lang: _lang, ...fields } = c.body;
      if (step === 'appeal') {
        // An appeal is against the task's rating, filed by the authority the task belongs to.
        const task = await c.api<TaskView>('GET', `/staff/rectifications/${id}`);
        return taskForm(c, id, `/staff/ratings/${task.rating.id}/appeal`, { reason: fields.reason ?? '' });
      }
      if (!STEPS.includes(step)) throw new PageRefusal(404, 'not_found');
      const payload: Record<string, unknown> = step === 'call_back' ? { ...fields, reached: fields.reached === '1' } : fields;
      return taskForm(c, id, `/staff/rectifications/${id}/${step}`, payload);
    }),
  );
  router.get(
    '/staff/appeals',
    page(async (c) => appealQueuePage(c.p, (await c.api<{ appeals: AppealView[] }>('GET', '/staff/appeals')).appeals)),
  );
  router.get(
    '/staff/appeals/:id',
    page(async (c) => appealPage(c.p, await c.api<AppealView>('GET', `/staff/appeals/${param(c.ctx, 'id', ID)}`))),
  );
  router.post(
    '/staff/appeals/:id/decide',
    parseFormBody,
    page(async (c) => {
      const id = param(c.ctx, 'id', ID);
      try {
        await c.api('POST', `/staff/appeals/${id}/decide`, { decision: c.body.decision ?? '', reason: c.body.reason ?? '' });
      } catch (err) {
        const { status, message } = formError(c.p, err);
        c.ctx.status = status;
        return appealPage(c.p, await c.api<AppealView>('GET', `/staff/appeals/${id}`), message);
      }
      see(c.ctx, c.p, `/staff/appeals/${id}`);
    }),
  );
}
