/**
 * "My data use" (数据使用记录) on the portal: `GET /data-use` shows the accesses to the signed-in
 * person's data and their consents; `POST /data-use/consents/:id/revoke` (a form with the CSRF
 * token) revokes one at the OP that holds it, through the portal's data-sharing node. Both need
 * the access token the portal got for its node at sign-in; once it has expired the person signs
 * in again.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { parseFormBody } from '../infra/request-body.ts';
import { DataUseClient, DataUseRefusal, type PersonAccess, type PersonConsent } from './data-use-client.ts';
import type { Locale, MessageKey } from './i18n.ts';
import type { PortalSession } from './portal-state.ts';
import { dataUsePage, type DataUseView, type NamedRequest } from './views/data-use-pages.ts';
import type { PageContext } from './views/pages.ts';

export interface DataUseRouteDeps {
  /** The portal's data-sharing node (its platform's services entity). */
  nodeUrl: string;
  session: (ctx: Koa.Context) => Promise<PortalSession | null>;
  csrf: (ctx: Koa.Context) => string;
  csrfOk: (ctx: Koa.Context, body: Record<string, string>) => boolean;
  /** The form's fields, each once; null when one is repeated. */
  form: (ctx: Koa.Context) => Record<string, string> | null;
  page: (ctx: Koa.Context, lang?: string) => PageContext;
  platformName: (id: string, locale: Locale) => string | undefined;
  refuse: (ctx: Koa.Context, status: number, message: MessageKey, lang?: string) => void;
}

type Detail = Pick<PersonAccess, 'requester' | 'holder' | 'dataset' | 'attributes' | 'purpose' | 'item' | 'case'>;

const explicitLang = (v: unknown) => (v === 'en' || v === 'zh-CN' ? v : undefined);

export function addDataUseRoutes(router: Router, d: DataUseRouteDeps) {
  const client = new DataUseClient(d.nodeUrl);

  /** A request in words: platforms by name, the dataset, its attributes and the purpose from the holder's catalog. */
  const named = async (r: Detail, locale: Locale): Promise<NamedRequest> => {
    const catalog = await client.catalog(r.holder);
    const dataset = catalog?.datasets.find((x) => x.id === r.dataset);
    return {
      requester: d.platformName(r.requester, locale) ?? r.requester,
      holder: d.platformName(r.holder, locale) ?? catalog?.name[locale] ?? r.holder,
      dataset: dataset?.name[locale] ?? r.dataset,
      attributes: r.attributes.map((a) => dataset?.attributes.find((x) => x.name === a)?.label[locale] ?? a),
      purpose: catalog?.purposes.find((p) => p.code === r.purpose)?.name[locale] ?? r.purpose,
      item: r.item,
      case: r.case,
    };
  };
  const consentDetail = (c: PersonConsent): Detail => ({
    requester: c.detail.requester,
    holder: c.detail.locations[0] ?? '',
    dataset: c.detail.dataset,
    attributes: c.detail.attributes,
    purpose: c.detail.purpose,
    item: c.detail.item ?? null,
    case: c.detail.case ?? null,
  });

  /** The person's page, or the refusal that stands in for it. */
  const show = async (ctx: Koa.Context, lang: string | undefined, status = 200, extra: Pick<DataUseView, 'notice' | 'error'> = {}) => {
    ctx.set('Cache-Control', 'no-store');
    const session = await d.session(ctx);
    if (!session || session.servicesToken.expiresAt <= Date.now()) return d.refuse(ctx, 401, 'error.data_use_sign_in', lang);
    const token = session.servicesToken.value;
    const p = d.page(ctx, lang);
    let found;
    try {
      found = await Promise.all([client.accesses(token), client.consents(token)]);
    } catch (err) {
      if (err instanceof DataUseRefusal && err.status === 401) return d.refuse(ctx, 401, 'error.data_use_sign_in', lang);
      return d.refuse(ctx, 502, 'error.data_use_unavailable', lang);
    }
    const [{ accesses, unavailable }, consents] = found;
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = dataUsePage({
      ...p,
      ...extra,
      csrf: d.csrf(ctx),
      lang,
      switchLanguagePath: '/data-use',
      accesses: await Promise.all(
        accesses.map(async (a) => ({
          ...(await named(a, p.locale)),
          requestId: a.request_id,
          at: a.at,
          result: a.result,
          reason: a.reason,
          loggedBy: a.logged_by.map((n) => d.platformName(n, p.locale) ?? n),
        })),
      ),
      unavailable: unavailable.map((n) => d.platformName(n, p.locale) ?? n),
      consents: await Promise.all(
        consents.map(async (c) => ({
          ...(await named(consentDetail(c), p.locale)),
          id: c.id,
          status: c.status,
          mode: c.mode,
          until: c.expires_at,
        })),
      ),
    });
  };

  router.get('/data-use', (ctx) => show(ctx, explicitLang(ctx.query.lang)));

  router.post('/data-use/consents/:id/revoke', parseFormBody, async (ctx) => {
    const body = d.form(ctx);
    if (!body) return d.refuse(ctx, 400, 'error.bad_request');
    const lang = explicitLang(body.lang);
    if (!d.csrfOk(ctx, body)) return d.refuse(ctx, 403, 'error.csrf', lang);
    const session = await d.session(ctx);
    if (!session || session.servicesToken.expiresAt <= Date.now()) return d.refuse(ctx, 401, 'error.data_use_sign_in', lang);
    try {
      await client.revoke(session.servicesToken.value, ctx.params.id!);
    } catch (err) {
      if (!(err instanceof DataUseRefusal)) return d.refuse(ctx, 502, 'error.data_use_unavailable', lang);
      if (err.status === 401) return d.refuse(ctx, 401, 'error.data_use_sign_in', lang);
      const notFound = err.status === 404;
      return show(ctx, lang, notFound ? 404 : 409, { error: notFound ? 'error.consent_not_found' : 'error.consent_ended' });
    }
    await show(ctx, lang, 200, { notice: 'text.consent_revoked' });
  });
}
