/**
 * The portal's e-license pages (docs/licenses.md, "Portal pages"):
 * - `GET /licenses/verify` (public): the verify form; with `?license=JWS` (the QR code's link) the
 *   result at once. `POST /licenses/verify`: a pasted or uploaded licence or presentation.
 * - 我的证照, for the signed-in person through the platform's services entity and the person's
 *   access token: `GET /licenses`, `GET /licenses/:id` (with its QR code), `GET /licenses/:id/download`,
 *   `GET|POST /licenses/:id/share` (choose what to disclose: a presentation with Key Binding),
 *   `POST /licenses/demo` (demo mode: demo licences for the person).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import QRCode from 'qrcode';
import type { Locale } from '../infra/i18n.ts';
import { parseFormBody, parseFormOrUpload } from '../infra/request-body.ts';
import { LicenseRefusal, LicenseServiceUnavailable, type LicenseClient } from './license-client.ts';
import { licenseTranslator, type LicenseMessageKey } from './license-i18n.ts';
import type { PortalSession } from './portal-state.ts';
import {
  licensePage,
  licenseErrorPage,
  mineListPage,
  sharedPage,
  sharePage,
  signInPage,
  verifyPage,
  verifyResultPage,
  withLang,
  type LicensePageContext,
  type ShareForm,
} from './views/license-pages.ts';
import type { PageContext } from './views/pages.ts';

export interface LicenseRouteDeps {
  client: LicenseClient;
  /** The portal's own URL (the QR code's verify link). */
  self: string;
  demo: boolean;
  page: (ctx: Koa.Context, lang?: string) => PageContext;
  platformName: (entityId: string, locale: Locale) => string | undefined;
  csrfFor: (ctx: Koa.Context) => string;
  csrfOk: (ctx: Koa.Context, body: Record<string, string>) => boolean;
  session: (ctx: Koa.Context) => Promise<PortalSession | null>;
  log: { warn: (message: string, fields: Record<string, unknown>) => void };
}

const LICENSE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_FIELD = 16 * 1024;

/** A page the request ends with instead of the one it asked for. */
class PageAnswer extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super('page answer');
  }
}

const explicitLang = (value: unknown): Locale | undefined => (value === 'en' || value === 'zh-CN' ? value : undefined);

/** Form fields: one string each, except the listed repeatable ones (arrays); anything else is refused. */
function fields(body: unknown, repeatable: string[] = []): { one: Record<string, string>; many: Record<string, string[]> } | null {
  const one: Record<string, string> = {};
  const many: Record<string, string[]> = Object.fromEntries(repeatable.map((k) => [k, []]));
  for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    const values = Array.isArray(v) ? v : [v];
    if (!values.every((x) => typeof x === 'string' && x.length <= MAX_FIELD)) return null;
    if (repeatable.includes(k)) many[k] = values as string[];
    else if (values.length === 1) one[k] = values[0] as string;
    else return null;
  }
  return { one, many };
}

export function addLicenseRoutes(router: Router, deps: LicenseRouteDeps): void {
  const { client } = deps;

  const context = async (ctx: Koa.Context, lang?: string): Promise<LicensePageContext> => {
    const explicit = explicitLang(lang ?? ctx.query.lang);
    const base = deps.page(ctx, explicit);
    const types = await client.types();
    return {
      ...base,
      ...(explicit ? { lang: explicit } : {}),
      l: licenseTranslator(base.locale),
      typeNames: Object.fromEntries(types.map((t) => [t.code, t.name])),
      claimLabels: Object.fromEntries(types.map((t) => [t.code, t.claims])),
      platformName: (id) => deps.platformName(id, base.locale),
    };
  };

  const errorPage = (p: LicensePageContext, status: number, message: LicenseMessageKey) =>
    new PageAnswer(status, licenseErrorPage(p, p.l(message)));

  /** The signed-in person's access token for the services entity, or the sign-in page. */
  const tokenOf = async (ctx: Koa.Context, p: LicensePageContext): Promise<string> => {
    const session = await deps.session(ctx);
    if (!session) throw new PageAnswer(200, signInPage(p, deps.csrfFor(ctx), false));
    if (session.servicesToken.expiresAt <= Date.now()) throw new PageAnswer(200, signInPage(p, deps.csrfFor(ctx), true));
    return session.servicesToken.value;
  };

  /** What a refusal of the services entity means on a page. */
  const refused = (ctx: Koa.Context, p: LicensePageContext, err: unknown): PageAnswer => {
    if (err instanceof PageAnswer) return err;
    if (err instanceof LicenseRefusal) {
      if (err.status === 401) return new PageAnswer(200, signInPage(p, deps.csrfFor(ctx), true));
      if (err.status === 404) return errorPage(p, 404, 'error.not_found');
    }
    if (err instanceof LicenseServiceUnavailable || err instanceof LicenseRefusal) {
      deps.log.warn('the e-license API refused or cannot be reached', { reason: (err as Error).message });
      return errorPage(p, 502, 'error.unavailable');
    }
    throw err;
  };

  const answer =
    (
      handler: (ctx: Koa.Context, p: LicensePageContext) => Promise<string | void>,
      opts: { lang?: (ctx: Koa.Context) => string | undefined } = {},
    ) =>
    async (ctx: Koa.Context) => {
      const p = await context(ctx, opts.lang?.(ctx));
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Vary', 'Accept-Language, Cookie');
      try {
        const body = await handler(ctx, p);
        if (typeof body === 'string') {
          ctx.type = 'html';
          ctx.body = body;
        }
      } catch (err) {
        const page = refused(ctx, p, err);
        ctx.status = page.status;
        ctx.type = 'html';
        ctx.body = page.body;
      }
    };

  const idOf = (ctx: Koa.Context, p: LicensePageContext) => {
    const id = ctx.params.id ?? '';
    if (!LICENSE_ID.test(id)) throw errorPage(p, 404, 'error.not_found');
    return id;
  };

  /** A form that passed its CSRF check, or the page that says it did not. */
  const form = (ctx: Koa.Context, p: LicensePageContext, repeatable: string[] = []) => {
    const f = fields(ctx.request.body, repeatable);
    if (!f) throw new PageAnswer(400, licenseErrorPage(p, p.t('error.bad_request')));
    if (!deps.csrfOk(ctx, f.one)) throw new PageAnswer(403, licenseErrorPage(p, p.t('error.csrf')));
    return f;
  };

  const bodyLang = (ctx: Koa.Context) => {
    const lang = (ctx.request.body as Record<string, unknown> | undefined)?.lang;
    return typeof lang === 'string' ? lang : undefined;
  };

  router.get(
    '/licenses/verify',
    answer(async (ctx, p) => {
      const csrf = deps.csrfFor(ctx);
      const license = ctx.query.license;
      if (license === undefined) return verifyPage(p, csrf, { license: '', audience: '', nonce: '' });
      if (typeof license !== 'string' || !license.trim() || license.length > MAX_FIELD)
        return verifyPage(p, csrf, { license: '', audience: '', nonce: '', error: p.l('error.no_license') });
      return verifyResultPage(p, await client.verify(license, {}), csrf);
    }),
  );

  router.post(
    '/licenses/verify',
    parseFormOrUpload,
    answer(
      async (ctx, p) => {
        const { one } = form(ctx, p);
        const csrf = deps.csrfFor(ctx);
        const license = (one.license_file ?? '').trim() || (one.license ?? '').trim();
        const values = { license: one.license ?? '', audience: one.audience ?? '', nonce: one.nonce ?? '' };
        if (!license) return verifyPage(p, csrf, { ...values, error: p.l('error.no_license') });
        const expect = {
          ...(values.audience.trim() ? { audience: values.audience.trim() } : {}),
          ...(values.nonce.trim() ? { nonce: values.nonce.trim() } : {}),
        };
        try {
          return verifyResultPage(p, await client.verify(license, expect), csrf);
        } catch (err) {
          if (err instanceof LicenseRefusal && err.status === 400) return verifyPage(p, csrf, { ...values, error: err.message });
          throw err;
        }
      },
      { lang: bodyLang },
    ),
  );

  router.get(
    '/licenses',
    answer(async (ctx, p) => {
      const token = await tokenOf(ctx, p);
      return mineListPage(p, await client.mine(token), { csrf: deps.csrfFor(ctx), demo: deps.demo });
    }),
  );

  if (deps.demo) {
    router.post(
      '/licenses/demo',
      parseFormBody,
      answer(
        async (ctx, p) => {
          form(ctx, p);
          await client.demo(await tokenOf(ctx, p));
          ctx.redirect(withLang('/licenses', p.lang));
          ctx.status = 303;
        },
        { lang: bodyLang },
      ),
    );
  }

  router.get(
    '/licenses/:id',
    answer(async (ctx, p) => {
      const id = idOf(ctx, p);
      const held = await client.one(await tokenOf(ctx, p), id);
      // The QR code holds the compact JWS only: no claim in clear, no personal data in the URL.
      const verifyUrl = `${deps.self}/licenses/verify?license=${held.jws}`;
      const svg = await QRCode.toString(verifyUrl, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 });
      const issuer = String(JSON.parse(Buffer.from(held.jws.split('.')[1]!, 'base64url').toString('utf8')).iss);
      return licensePage(p, {
        held,
        issuer,
        qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
        verifyUrl: withLang(`/licenses/verify?license=${held.jws}`, p.lang),
      });
    }),
  );

  router.get(
    '/licenses/:id/download',
    answer(async (ctx, p) => {
      const id = idOf(ctx, p);
      const held = await client.one(await tokenOf(ctx, p), id);
      ctx.type = 'application/dc+sd-jwt';
      ctx.attachment(`license-${id}.sd-jwt`);
      ctx.body = held.credential;
    }),
  );

  router.get(
    '/licenses/:id/share',
    answer(async (ctx, p) => {
      const id = idOf(ctx, p);
      const held = await client.one(await tokenOf(ctx, p), id);
      return sharePage(p, held, deps.csrfFor(ctx), { disclose: [], audience: '', nonce: '' });
    }),
  );

  router.post(
    '/licenses/:id/share',
    parseFormBody,
    answer(
      async (ctx, p) => {
        const id = idOf(ctx, p);
        const { one, many } = form(ctx, p, ['disclose']);
        const token = await tokenOf(ctx, p);
        const request: ShareForm = {
          disclose: many.disclose ?? [],
          audience: (one.audience ?? '').trim(),
          nonce: (one.nonce ?? '').trim(),
        };
        if (!request.audience) {
          const held = await client.one(token, id);
          return sharePage(p, held, deps.csrfFor(ctx), { ...request, error: p.l('error.no_audience') });
        }
        const shared = await client.present(token, id, {
          disclose: request.disclose,
          audience: request.audience,
          ...(request.nonce ? { nonce: request.nonce } : {}),
        });
        if (one.as === 'file') {
          ctx.type = 'application/dc+sd-jwt';
          ctx.attachment(`presentation-${id}.sd-jwt`);
          ctx.body = shared.presentation;
          return;
        }
        return sharedPage(p, shared);
      },
      { lang: bodyLang },
    ),
  );
}
