/**
 * Acting for an organization. When the client asks for `legal_person`, a successful natural-
 * person authentication does not end the interaction: it waits server-side under the interaction
 * (login/login-completion.ts, `authenticated`), and the person picks one of the organizations
 * they may act for (form field `org`) or, as its legal representative, registers one. Picking
 * creates a grant of its own, bound to the acting person and their mandate, and signs the session
 * in as the organization.
 */
import type Router from '@koa/router';
import { recordAudit } from '../../infra/audit-log.ts';
import { TTL } from '../oidc/provider-config.ts';
import { registerOrganization } from '../accounts/organization-registration.ts';
import type { OpDependencies } from '../op-dependencies.ts';
import { authenticatedPerson, finishInteraction, organizationPicker, pickedOrganization } from '../login/login-completion.ts';
import { organizationRefusalAnswer } from '../views/organization-refusals.ts';
import { interactionScope, sendPage } from './interaction-context.ts';

export function organizationRoutes(router: Router, deps: OpDependencies) {
  const { provider, accounts, legalPersons, services, runtime } = deps;

  router.post('/interaction/:uid/org', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const { login, person } = await authenticatedPerson(deps, s);
    const mandate = await legalPersons.mandate(person.idNumberIndex, s.body.org ?? '');
    const clientId = String(s.details.params.client_id);
    if (!mandate) {
      await recordAudit(runtime.db, {
        event: 'login.org_refused',
        subject: person.subject,
        clientId,
        detail: { org: (s.body.org ?? '').slice(0, 64) },
      });
      return sendPage(ctx, await organizationPicker(deps, s, person, { error: 'error.org_not_authorized' }), 403);
    }
    // A grant of its own for this authorization, so that its tokens always name this actor.
    const grant = new provider.Grant({ accountId: mandate.legal.subject, clientId });
    grant.addOIDCScope(String(s.details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    await legalPersons.bindActor(grantId, mandate, person.subject, TTL.Grant);
    await pickedOrganization(deps, s);
    await recordAudit(runtime.db, {
      event: 'login.acting_for',
      subject: mandate.legal.subject,
      clientId,
      detail: { actor: person.subject, role: mandate.role, authorization: mandate.authorizationId },
    });
    await finishInteraction(ctx, deps, s, { login: { ...login, accountId: mandate.legal.subject, remember: true }, consent: { grantId } });
  });

  router.post('/interaction/:uid/org/register', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const { person } = await authenticatedPerson(deps, s);
    const values = { uscc: s.body.uscc ?? '', org_name: s.body.org_name ?? '' };
    const result = await registerOrganization(
      { accounts, legalPersons, services, homes: deps.recognition?.homes, self: runtime.self.url },
      person,
      { uscc: values.uscc, orgName: values.org_name },
      String(s.details.params.client_id),
    );
    if ('registered' in result) return sendPage(ctx, await organizationPicker(deps, s, person, { notice: 'text.org_registered' }), 201);
    const { status, ...answer } = organizationRefusalAnswer(result, (home) => deps.recognition?.siteName(home, s.locale) ?? home);
    sendPage(ctx, await organizationPicker(deps, s, person, { values, ...answer }), status);
  });
}
