/**
 * The account area of an OP (/account): the signed-in person's organizations, registering one,
 * and — for a legal representative or an administrator agent — authorizing and revoking agents.
 * It relies on the OP's own session; to sign in it runs an ordinary authorization request of
 * the OP's first-party account client, so every login rule (lockout, LoA, persona) applies.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { Forbidden, HttpError } from '../../infra/errors.ts';
import { InvalidIdentifier, maskIdNumber, parseIdNumber } from '../../infra/identifiers.ts';
import { pickLocale, translator, type MessageKey } from '../i18n.ts';
import { AgentAlreadyAuthorized, SERVICE_CATEGORIES, type Mandate, type ServiceCategory } from '../accounts/legal-person-accounts.ts';
import type { NaturalPerson } from '../accounts/natural-person-accounts.ts';
import { registerOrganization } from '../accounts/organization-registration.ts';
import {
  accountElsewherePage,
  accountMovedPage,
  accountPage,
  organizationPage,
  type AccountContext,
  type AccountView,
  type OrganizationView,
} from '../views/account-pages.ts';
import { verifyPassword } from '../accounts/password.ts';
import { organizationRefusalAnswer } from '../views/organization-refusals.ts';
import type { OpDependencies } from '../op-dependencies.ts';
import { answeringOutages, orUnavailable } from '../upstream-outage.ts';
import { sendPage } from '../interactions/interaction-context.ts';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID, accountRequest, signInToAccount } from './account-session.ts';

export { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID };

interface Signed {
  person: NaturalPerson;
  page: AccountContext;
  body: Record<string, string | string[]>;
}

const agentForm = z.object({
  name: z.string().trim().min(1).max(64),
  id_number: z.string().trim().min(1).max(32),
  role: z.enum(['agent', 'admin']),
  categories: z.array(z.enum(SERVICE_CATEGORIES)).min(1),
  expires: z.string().trim().max(10),
});

/** Tomorrow or later, as the end of that day in China (UTC+8); null for an empty field. */
function expiryOf(input: string): string | null | undefined {
  if (!input) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input)) return undefined;
  const end = new Date(`${input}T23:59:59+08:00`);
  if (Number.isNaN(end.getTime()) || end.toISOString().slice(0, 10) < new Date().toISOString().slice(0, 10) || end.getTime() <= Date.now())
    return undefined;
  return end.toISOString();
}

export function accountRoutes(router: Router, deps: OpDependencies) {
  const { provider, accounts, legalPersons, runtime } = deps;
  const issuer = runtime.self.url;

  /** The natural person signed in at this OP, or a redirect to sign in. */
  const signedIn = async (ctx: Koa.Context): Promise<Signed | null> => {
    const session = await provider.Session.get(ctx as unknown as Parameters<typeof provider.Session.get>[0]);
    const person = session.accountId ? await accounts.findBySubject(session.accountId) : null;
    const recognized = !person && session.accountId ? await deps.recognized.findBySubject(session.accountId) : null;
    if (recognized) {
      const locale = pickLocale(typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined, ctx.get('accept-language'));
      const name = String(recognized.claims.name ?? '');
      const homeName = deps.recognition?.siteName(recognized.home, locale) ?? recognized.home;
      sendPage(
        ctx,
        accountElsewherePage({
          t: translator(locale),
          locale,
          siteName: runtime.self.name[locale],
          name,
          homeName,
          homeAccountUrl: `${recognized.home}/account`,
          dataConsents: deps.exchange !== undefined,
        }),
      );
      return null;
    }
    if (!person) {
      signInToAccount(ctx, issuer);
      return null;
    }
    return { person, ...accountRequest(ctx, runtime, session.uid) };
  };

  const text = (v: string | string[] | undefined) => (typeof v === 'string' ? v : '');

  /** Where the person may move the account to: the other platforms of the federation. */
  const platformsFor = (s: Signed) =>
    (deps.recognition?.platforms() ?? [])
      .filter((id) => id !== issuer)
      .map((id) => ({ id, name: deps.recognition!.siteName(id, s.page.locale) }));

  type AccountExtra = Pick<AccountView, 'error' | 'errorVars' | 'notice' | 'moveError' | 'moveErrorVars'> & {
    registerErrors?: AccountView['registerErrors'];
    values?: AccountView['values'];
  };
  const showAccount = async (ctx: Koa.Context, s: Signed, status = 200, extra: AccountExtra = {}) => {
    sendPage(
      ctx,
      accountPage({
        ...s.page,
        platforms: platformsFor(s),
        dataConsents: deps.exchange !== undefined,
        name: s.person.name,
        maskedIdNumber: maskIdNumber(accounts.idNumberOf(s.person)),
        mandates: await legalPersons.mandatesOf(s.person.idNumberIndex),
        registerErrors: extra.registerErrors ?? {},
        values: extra.values ?? {},
        ...(extra.error ? { error: extra.error } : {}),
        ...(extra.errorVars ? { errorVars: extra.errorVars } : {}),
        ...(extra.notice ? { notice: extra.notice } : {}),
        ...(extra.moveError ? { moveError: extra.moveError } : {}),
        ...(extra.moveErrorVars ? { moveErrorVars: extra.moveErrorVars } : {}),
      }),
      status,
    );
  };

  /** The mandate that lets this person manage the organization, or a 403. */
  const managing = async (s: Signed, legalSubject: string): Promise<Mandate> => {
    const mandate = await legalPersons.mandate(s.person.idNumberIndex, legalSubject);
    if (!mandate || (mandate.role !== 'representative' && mandate.role !== 'admin'))
      throw new Forbidden('not_org_admin', 'not an administrator of this organization');
    return mandate;
  };

  const showOrganization = async (ctx: Koa.Context, s: Signed, mandate: Mandate, status = 200, extra: Partial<OrganizationView> = {}) => {
    sendPage(
      ctx,
      organizationPage({
        ...s.page,
        mandate,
        agents: await legalPersons.authorizations(mandate.legal.subject),
        categories: SERVICE_CATEGORIES,
        fieldErrors: {},
        values: {},
        ...extra,
      }),
      status,
    );
  };

  router.get(ACCOUNT_CALLBACK_PATH, (ctx) => {
    // The OP session is now set; the account area reads it directly.
    ctx.redirect('/account');
  });

  router.get('/account', async (ctx) => {
    const s = await signedIn(ctx);
    if (s) await showAccount(ctx, s);
  });

  router.post('/account/organizations', async (ctx) => {
    const s = await signedIn(ctx);
    if (!s) return;
    const values = { uscc: text(s.body.uscc), org_name: text(s.body.org_name) };
    const result = await registerOrganization(
      { accounts, legalPersons, services: deps.services, homes: deps.recognition?.homes, self: issuer },
      s.person,
      { uscc: values.uscc, orgName: values.org_name },
      ACCOUNT_CLIENT_ID,
    );
    if ('registered' in result) return showAccount(ctx, s, 201, { notice: 'text.org_registered' });
    const { status, ...answer } = organizationRefusalAnswer(result, (home) => deps.recognition?.siteName(home, s.page.locale) ?? home);
    await showAccount(ctx, s, status, { values, ...answer });
  });

  // Relocation by the person: the password again, then the account leaves for its new home.
  router.post('/account/move', async (ctx) => {
    const s = await signedIn(ctx);
    if (!s) return;
    const relocation = deps.recognition?.relocation;
    const home = text(s.body.home);
    if (!relocation || !platformsFor(s).some((p) => p.id === home))
      return showAccount(ctx, s, 400, { moveError: 'error.platform_unknown' });
    if (await deps.throttle.check(s.person.subject, ctx.ip)) return showAccount(ctx, s, 429, { moveError: 'error.rate_limited' });
    if (!(await verifyPassword(s.person.passwordHash, text(s.body.password)))) {
      await deps.throttle.failure(s.person.subject, ctx.ip);
      return showAccount(ctx, s, 401, { moveError: 'error.credentials' });
    }
    try {
      await relocation.moveAway(accounts.idNumberOf(s.person), home);
    } catch (err) {
      // An outage (503: the store, or the new home, out of reach) is said as one: try later. If the new
      // home may have taken the account (no answer in time), it stays stopped until the move is asked again.
      if (!(err instanceof HttpError) || err.status >= 500) throw err;
      return showAccount(
        ctx,
        s,
        err.status,
        err.code === 'acts_for_organizations'
          ? { moveError: 'error.move_has_orgs' }
          : { moveError: 'error.move_refused', moveErrorVars: { reason: err.code } },
      );
    }
    sendPage(
      ctx,
      accountMovedPage({ ...s.page, homeName: deps.recognition!.siteName(home, s.page.locale), homeAccountUrl: `${home}/account` }),
    );
  });

  router.get('/account/organizations/:subject', async (ctx) => {
    const s = await signedIn(ctx);
    if (s) await showOrganization(ctx, s, await managing(s, ctx.params.subject!));
  });

  router.post('/account/organizations/:subject/agents', async (ctx) => {
    const s = await signedIn(ctx);
    if (!s) return;
    const mandate = await managing(s, ctx.params.subject!);
    const raw = {
      ...s.body,
      categories: ([] as string[]).concat(s.body.categories ?? []),
      expires: text(s.body.expires),
      role: text(s.body.role) || 'agent',
    };
    const values = { name: text(s.body.name), id_number: text(s.body.id_number), expires: raw.expires };
    const fail = (status: number, fieldErrors: OrganizationView['fieldErrors'], error?: MessageKey) =>
      showOrganization(ctx, s, mandate, status, { values, fieldErrors, ...(error ? { error } : {}) });
    const parsed = agentForm.safeParse(raw);
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]!.path[0]);
      return fail(
        400,
        field === 'categories'
          ? { categories: 'error.categories_required' }
          : field === 'name'
            ? { name: 'error.name_format' }
            : { id_number: 'error.id_number_format' },
      );
    }
    const form = parsed.data;
    if (form.role === 'admin' && mandate.role !== 'representative') return fail(403, {}, 'error.admin_by_representative');
    let idNumber: string;
    try {
      idNumber = parseIdNumber(form.id_number);
    } catch (err) {
      if (!(err instanceof InvalidIdentifier)) throw err;
      return fail(400, { id_number: `error.${err.problem}` as MessageKey });
    }
    const expiresAt = expiryOf(form.expires);
    if (expiresAt === undefined) return fail(400, { expires: 'error.expires_format' });
    await answeringOutages(
      async () => {
        if (!(await orUnavailable(deps.services.verifyPerson(form.name, idNumber), 'error.registry_unavailable')))
          return fail(422, { name: 'error.agent_mismatch' });
        try {
          await legalPersons.authorize(
            mandate.legal.subject,
            {
              agentIndex: accounts.idNumberIndex(idNumber),
              agentName: form.name,
              role: form.role,
              serviceCategories: form.categories as ServiceCategory[],
              expiresAt,
            },
            s.person.subject,
          );
        } catch (err) {
          if (!(err instanceof AgentAlreadyAuthorized)) throw err;
          return fail(409, { id_number: 'error.agent_exists' });
        }
        await showOrganization(ctx, s, mandate, 201, { notice: 'text.agent_authorized' });
      },
      (error) => fail(503, {}, error),
    );
  });

  router.post('/account/organizations/:subject/agents/:id/revoke', async (ctx) => {
    const s = await signedIn(ctx);
    if (!s) return;
    const mandate = await managing(s, ctx.params.subject!);
    const revoked = await legalPersons.revoke(mandate.legal.subject, ctx.params.id!, s.person.subject);
    await showOrganization(
      ctx,
      s,
      mandate,
      revoked ? 200 : 404,
      revoked ? { notice: 'text.agent_revoked' } : { error: 'error.authorization_not_found' },
    );
  });
}
