/**
 * The person's data-sharing consents in the OP's account area (/account/consents): every consent
 * they gave here, about their own data or for an organization they act for, with its status, and
 * a revoke button on the active ones. A recognized account (its home is elsewhere) sees the
 * consents it gave at this OP, which live here.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import type { OpDependencies } from '../op-dependencies.ts';
import { sendPage } from '../interactions/interaction-context.ts';
import { describeDataRequests } from '../exchange/data-consent-requests.ts';
import { dataConsentsPage, type DataConsentsView } from '../views/data-consent-pages.ts';
import { accountRequest, signInToAccount, type AccountRequest } from './account-session.ts';

export function consentAccountRoutes(router: Router, deps: OpDependencies) {
  const { provider, runtime, exchange } = deps;
  if (!exchange) return;

  const signedIn = async (ctx: Koa.Context): Promise<(AccountRequest & { subject: string }) | null> => {
    const session = await provider.Session.get(ctx as unknown as Parameters<typeof provider.Session.get>[0]);
    if (!session.accountId) {
      signInToAccount(ctx, runtime.self.url);
      return null;
    }
    return { subject: session.accountId, ...accountRequest(ctx, runtime, session.uid) };
  };

  const show = async (
    ctx: Koa.Context,
    s: AccountRequest & { subject: string },
    status = 200,
    extra: Pick<DataConsentsView, 'notice' | 'error'> = {},
  ) => {
    const consents = await exchange.consents.of(s.subject);
    const siteName = deps.recognition?.siteName ?? ((id: string) => id);
    const requests = await describeDataRequests(
      consents.map((c) => c.detail),
      null,
      s.page,
      { catalogs: exchange.catalogs, siteName },
    );
    const orgNames = new Map<string, string>();
    for (const c of consents.filter((c) => c.subjectKind === 'legal')) {
      if (orgNames.has(c.accountSubject)) continue;
      const found = await exchange.directory.find(c.accountSubject);
      orgNames.set(
        c.accountSubject,
        found?.kind === 'legal' ? found.legal.orgName : found?.kind === 'recognized' ? String(found.account.claims.org_name ?? '') : '',
      );
    }
    sendPage(
      ctx,
      dataConsentsPage({
        ...s.page,
        ...extra,
        consents: consents.map((c, i) => ({
          id: c.id,
          request: requests[i]!,
          status: c.status,
          createdAt: c.createdAt,
          expiresAt: c.expiresAt,
          org: c.subjectKind === 'legal' ? (orgNames.get(c.accountSubject) ?? null) : null,
        })),
      }),
      status,
    );
  };

  router.get('/account/consents', async (ctx) => {
    const s = await signedIn(ctx);
    if (s) await show(ctx, s);
  });

  router.post('/account/consents/:id/revoke', async (ctx) => {
    const s = await signedIn(ctx);
    if (!s) return;
    const outcome = await exchange.consents.revoke(s.subject, ctx.params.id!);
    if (outcome === 'revoked') return show(ctx, s, 200, { notice: 'text.data_consent_revoked' });
    await show(ctx, s, outcome === 'not_found' ? 404 : 409, {
      error: outcome === 'not_found' ? 'error.consent_not_found' : 'error.consent_ended',
    });
  });
}
