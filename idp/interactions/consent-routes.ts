/**
 * Consent: the person sees which client asks for which of their data and allows or denies it.
 * Granted scopes are remembered in the grant, so the page is shown again only for new ones.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { recordAudit } from '../../infra/audit-log.ts';
import { consentPage } from '../views/pages.ts';
import { SERVICES_SCOPE } from '../oidc/provider-config.ts';
import type { OpDependencies } from '../op-dependencies.ts';
import { finishInteraction } from '../login/login-completion.ts';
import { interactionScope, InteractionExpired, sendPage, type InteractionScope } from './interaction-context.ts';
import { dataConsentSection, giveDataConsents } from '../exchange/data-consent-step.ts';
import { GIVEN_CONSENTS } from '../exchange/data-access-authorization.ts';
import type { MessageKey } from '../i18n.ts';

/** RFC 8707 resources the client asked to act at, with the scopes not granted yet. */
function missingResourceScopes(details: { prompt: { details: Record<string, unknown> } }): Record<string, string[]> {
  return (details.prompt.details.missingResourceScopes as Record<string, string[]> | undefined) ?? {};
}

export function consentRoutes(router: Router, deps: OpDependencies) {
  const { provider, runtime } = deps;

  const showConsent = async (ctx: Koa.Context, s: InteractionScope, status = 200, modeError?: MessageKey) => {
    const missing = (s.details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    const requested = String(s.details.params.scope ?? '')
      .split(' ')
      .filter((scope) => scope && scope !== SERVICES_SCOPE);
    // A services entity the client will act at for the person, by the platform's name.
    const resources = Object.keys(missingResourceScopes(s.details)).map((r) => deps.recognition?.siteName(r, s.locale) ?? r);
    const data = await dataConsentSection(deps, s, modeError);
    // Asked for data only, the page names the data, not the sign-in scopes granted already.
    const scopes = missing.length ? missing : data ? [] : requested;
    sendPage(
      ctx,
      consentPage({
        ...s.form,
        clientName: s.clientName,
        scopes,
        resources,
        ...(data ? { data: data.section, mayAllow: data.mayAllow } : {}),
      }),
      status,
    );
  };

  router.get('/interaction/:uid/consent', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    if (s.details.prompt.name !== 'consent') return ctx.redirect(`${s.form.action}?lang=${s.locale}`);
    await showConsent(ctx, s);
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
    const data = await giveDataConsents(deps, s);
    if ('refused' in data)
      return showConsent(ctx, s, data.refused === 'mode' ? 400 : 403, data.refused === 'mode' ? 'error.consent_mode' : undefined);
    const missingScope = details.prompt.details.missingOIDCScope as string[] | undefined;
    const missingClaims = details.prompt.details.missingOIDCClaims as string[] | undefined;
    if (missingScope) grant.addOIDCScope(missingScope.join(' '));
    if (missingClaims) grant.addOIDCClaims(missingClaims);
    for (const [resource, scopes] of Object.entries(missingResourceScopes(details))) grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await recordAudit(runtime.db, {
      event: 'consent.granted',
      subject: details.session.accountId,
      clientId,
      detail: { scope: missingScope ?? [], resources: Object.keys(missingResourceScopes(details)) },
    });
    await finishInteraction(ctx, deps, s, { consent: { grantId }, ...(data.given.length ? { [GIVEN_CONSENTS]: data.given } : {}) }, true);
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
