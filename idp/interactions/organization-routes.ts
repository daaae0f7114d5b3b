/**
 * Acting for an organization. When the client asks for `legal_person`, a successful natural-
 * person authentication does not end the interaction: it is kept server-side under the
 * interaction, and the person picks one of the organizations they may act for (form field
 * `org`) or, as its legal representative, registers one. Picking creates a grant of its own,
 * bound to the acting person and their mandate, and signs the session in as the organization.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { recordAudit } from '../../infra/audit-log.ts';
import { TTL } from '../oidc/provider-config.ts';
import { wantsLegalPerson } from '../oidc/interaction-policy.ts';
import type { NaturalPerson } from '../accounts/natural-person-accounts.ts';
import { registerOrganization } from '../accounts/organization-registration.ts';
import { orgPickerPage, type OrgPickerView } from '../views/pages.ts';
import {
  finishInteraction,
  interactionScope,
  InteractionExpired,
  sendPage,
  type InteractionScope,
  type OpDependencies,
} from './interaction-context.ts';

interface PendingLogin {
  accountId: string;
  acr: string;
  amr: string[];
  ts: number;
}

const pendingKey = (uid: string) => `interaction:${uid}:authenticated`;

async function pickerView(
  deps: OpDependencies,
  s: InteractionScope,
  person: NaturalPerson,
  extra: Partial<OrgPickerView> = {},
): Promise<OrgPickerView> {
  const mandates = await deps.legalPersons.mandatesOf(person.idNumberIndex);
  return {
    ...s.form,
    clientName: s.clientName,
    orgs: mandates.map((m) => ({ subject: m.legal.subject, orgName: m.legal.orgName, role: s.t(`role.${m.role}`) })),
    registerErrors: {},
    values: {},
    ...extra,
  };
}

/**
 * The end of every successful authentication (password, SMS code, registration): sign in as the
 * natural person, or, when the client asked for a legal person, go on to pick the organization.
 */
export async function authenticated(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, person: NaturalPerson, amr: string[]) {
  const login: PendingLogin = { accountId: person.subject, acr: deps.acrUris[person.loa], amr, ts: Math.floor(Date.now() / 1000) };
  if (!wantsLegalPerson(String(s.details.params.scope ?? '')))
    return finishInteraction(ctx, deps, s, { login: { ...login, remember: true } });
  await deps.runtime.kv.set(pendingKey(s.details.uid), JSON.stringify(login), TTL.Interaction);
  sendPage(ctx, orgPickerPage(await pickerView(deps, s, person)));
}

export function organizationRoutes(router: Router, deps: OpDependencies) {
  const { provider, accounts, legalPersons, runtime } = deps;

  /** The person this interaction already authenticated; a forged or stale form finds none. */
  const authenticatedPerson = async (s: InteractionScope): Promise<{ login: PendingLogin; person: NaturalPerson }> => {
    const raw = await runtime.kv.get(pendingKey(s.details.uid));
    const login = raw ? (JSON.parse(raw) as PendingLogin) : null;
    const person = login ? await accounts.findBySubject(login.accountId) : null;
    if (!login || !person) throw new InteractionExpired();
    return { login, person };
  };

  router.post('/interaction/:uid/org', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const { login, person } = await authenticatedPerson(s);
    const mandate = await legalPersons.mandate(person.idNumberIndex, s.body.org ?? '');
    const clientId = String(s.details.params.client_id);
    if (!mandate) {
      await recordAudit(runtime.db, {
        event: 'login.org_refused',
        subject: person.subject,
        clientId,
        detail: { org: (s.body.org ?? '').slice(0, 64) },
      });
      return sendPage(ctx, orgPickerPage(await pickerView(deps, s, person, { error: 'error.org_not_authorized' })), 403);
    }
    // A grant of its own for this authorization, so that its tokens always name this actor.
    const grant = new provider.Grant({ accountId: mandate.legal.subject, clientId });
    grant.addOIDCScope(String(s.details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    await legalPersons.bindActor(grantId, mandate, person.subject, TTL.Grant);
    await runtime.kv.del(pendingKey(s.details.uid));
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
    const { person } = await authenticatedPerson(s);
    const values = { uscc: s.body.uscc ?? '', org_name: s.body.org_name ?? '' };
    const result = await registerOrganization(
      deps,
      person,
      { uscc: values.uscc, orgName: values.org_name },
      String(s.details.params.client_id),
      s.locale,
    );
    if ('subject' in result) return sendPage(ctx, orgPickerPage(await pickerView(deps, s, person, { notice: 'text.org_registered' })), 201);
    const registerErrors = result.field ? { [result.field]: result.error } : {};
    sendPage(
      ctx,
      orgPickerPage(
        await pickerView(deps, s, person, {
          values,
          registerErrors,
          ...(result.field ? {} : { error: result.error, ...(result.errorVars ? { errorVars: result.errorVars } : {}) }),
        }),
      ),
      result.status,
    );
  });
}
