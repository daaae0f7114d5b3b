/**
 * Consent: the person sees which client asks for which of their data and allows or denies it.
 * Granted scopes are remembered in the grant, so the page is shown again only for new ones.
 */
import type Router from '@koa/router';
import { recordAudit } from '../../infra/audit-log.ts';
import { consentPage } from '../views/pages.ts';
import { finishInteraction, interactionScope, InteractionExpired, sendPage, type OpDependencies } from './interaction-context.ts';

export function consentRoutes(router: Router, deps: OpDependencies) {
  const { provider, runtime } = deps;

  router.get('/interaction/:uid/consent', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    if (s.details.prompt.name !== 'consent') return ctx.redirect(`${s.form.action}?lang=${s.locale}`);
    const missing = (s.details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    const requested = String(s.details.params.scope ?? '')
      .split(' ')
      .filter(Boolean);
    sendPage(ctx, consentPage({ ...s.form, clientName: s.clientName, scopes: missing.length ? missing : requested }));
  });

  router.post('/interaction/:uid/consent', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const { details } = s;
    if (details.prompt.name !== 'consent' || !details.session?.accountId) throw new InteractionExpired();
    const clientId = String(details.params.client_id);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId });
    if (!grant) throw new InteractionExpired();
    const missingScope = details.prompt.details.missingOIDCScope as string[] | undefined;
    const missingClaims = details.prompt.details.missingOIDCClaims as string[] | undefined;
    if (missingScope) grant.addOIDCScope(missingScope.join(' '));
    if (missingClaims) grant.addOIDCClaims(missingClaims);
    const grantId = await grant.save();
    await recordAudit(runtime.db, {
      event: 'consent.granted',
      subject: details.session.accountId,
      clientId,
      detail: { scope: missingScope ?? [] },
    });
    await finishInteraction(ctx, deps, s, { consent: { grantId } }, true);
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    await recordAudit(runtime.db, {
      event: 'consent.denied',
      subject: s.details.session?.accountId ?? null,
      clientId: String(s.details.params.client_id),
    });
    await finishInteraction(ctx, deps, s, { error: 'access_denied', error_description: 'End-User aborted interaction' });
  });
}
