/**
 * The interaction side of mutual recognition. When the identifier given at login (typed, or the
 * `login_hint` a neighbour OP pushed) is not an account of this OP, the registry of homes says
 * where it is registered and the login goes there through the brokers (broker/cross-tier-login.ts).
 * When the answer comes back to `/broker/callback`, the recognized account is linked and the
 * interaction ends as a login here: with the home's claims, the capped level and the home's
 * authentication time. A failure at a hop in the middle of the route is passed back to the
 * previous hop as an OAuth error, so the person always reads the message on the OP they visited.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { recordAudit } from '../../infra/audit-log.ts';
import { UpstreamUnavailable } from '../../infra/errors.ts';
import { isIdNumber } from '../../infra/identifiers.ts';
import { ROUTE_PARAM, HOME_HINT_PARAM } from '../../federation/recognition-routing.ts';
import { BROKER_CALLBACK_PATH, RecognitionError, type HopResult } from '../broker/cross-tier-login.ts';
import { LocalAccountExists } from '../accounts/recognized-accounts.ts';
import { wantsLegalPerson } from '../oidc/interaction-policy.ts';
import { TTL } from '../oidc/provider-config.ts';
import { identifierPage, regionsPage } from '../views/pages.ts';
import type { MessageKey } from '../i18n.ts';
import {
  finishInteraction,
  interactionScope,
  InteractionExpired,
  sendPage,
  type InteractionScope,
  type OpDependencies,
} from './interaction-context.ts';

/** The OAuth error a hop in the middle of a route answers with, for each refusal. */
function oauthErrorFor(err: RecognitionError): string {
  return err.code === 'home_unavailable' ? 'temporarily_unavailable' : 'access_denied';
}

function messageFor(err: RecognitionError): { error: MessageKey; errorVars?: Record<string, string> } {
  if (err.code === 'home_unavailable' || (err.code === 'upstream_error' && /temporarily_unavailable/.test(err.message)))
    return { error: 'error.home_unavailable' };
  return { error: 'error.recognition_refused', errorVars: { reason: err.code } };
}

/** True when this request is itself a hop of a cross-tier login (a neighbour OP sent it). */
function isHop(s: InteractionScope): boolean {
  return typeof s.details.params[ROUTE_PARAM] === 'string';
}

/** Tells the person on this OP's page, or, in the middle of a route, the previous hop. */
async function refuse(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, err: RecognitionError, identifier: string) {
  await recordAudit(deps.runtime.db, {
    event: 'recognition.refused',
    clientId: String(s.details.params.client_id),
    detail: { reason: err.code, message: err.message },
  });
  deps.runtime.log.warn('cross-tier login refused', { reason: err.code, message: err.message });
  if (isHop(s))
    return finishInteraction(ctx, deps, s, { error: oauthErrorFor(err), error_description: `${deps.runtime.self.url}: ${err.message}` });
  sendPage(
    ctx,
    identifierPage({
      ...s.form,
      clientName: s.clientName,
      registerUrl: `${s.form.action}/register?lang=${s.locale}`,
      identifier,
      ...messageFor(err),
    }),
    err.code === 'home_unavailable' ? 503 : 403,
  );
}

/** Pushes the login on towards `home` and sends the browser there (or says why not). */
async function route(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, identifier: string | null, home: string) {
  const recognition = deps.recognition!;
  try {
    const legal = wantsLegalPerson(String(s.details.params.scope ?? ''));
    const interaction = {
      uid: s.details.uid,
      params: s.details.params,
      ...(s.details.session?.uid ? { sessionUid: s.details.session.uid } : {}),
    };
    const { url, next } = await recognition.login.start(interaction, legal ? 'legal' : 'natural', identifier, home);
    await recordAudit(deps.runtime.db, {
      event: 'recognition.routed',
      clientId: String(s.details.params.client_id),
      detail: { home, next },
    });
    ctx.status = 303;
    ctx.redirect(url);
  } catch (err) {
    if (!(err instanceof RecognitionError)) throw err;
    await refuse(ctx, deps, s, err, identifier ?? '');
  }
}

/** The home a neighbour OP named for this request (only brokers may), unless it is this OP. */
function hintedHome(deps: OpDependencies, s: InteractionScope): string | null {
  const hint = s.details.params[HOME_HINT_PARAM];
  return typeof hint === 'string' && hint !== deps.runtime.self.url && deps.recognition?.isBroker(String(s.details.params.client_id))
    ? hint
    : null;
}

/**
 * Sends the login on to the account's home when that is another OP; returns false when the
 * account is (or can only be) here, and this OP goes on with its own login page. Without an
 * identifier (the person chose the platform), only a home named by the previous hop is followed.
 */
export async function sendToHome(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, identifier: string | null): Promise<boolean> {
  const recognition = deps.recognition;
  if (!recognition) return false;
  if (identifier === null) {
    const home = hintedHome(deps, s);
    if (!home) return false;
    await route(ctx, deps, s, null, home);
    return true;
  }
  if (!isIdNumber(identifier)) return false;
  // The person typing here (not a neighbour relaying): lookups are limited per address.
  if (!isHop(s) && (await deps.throttle.homeLookupAllowed(ctx.ip))) {
    sendPage(
      ctx,
      identifierPage({
        ...s.form,
        clientName: s.clientName,
        registerUrl: `${s.form.action}/register?lang=${s.locale}`,
        identifier,
        error: 'error.rate_limited',
      }),
      429,
    );
    return true;
  }
  let home: string | null;
  try {
    // An account that moved away from here: its new home, even before the registry has caught up.
    const movedTo = await deps.accounts.movedTo(deps.accounts.idNumberIndex(identifier));
    // A hint from the previous hop saves a registry round trip; the answer is checked against it anyway.
    home = movedTo ?? hintedHome(deps, s) ?? (await recognition.homes.lookup('natural', identifier));
  } catch (err) {
    if (!(err instanceof UpstreamUnavailable)) throw err;
    if (isHop(s))
      return refuse(
        ctx,
        deps,
        s,
        new RecognitionError('home_unavailable', `registry of homes unreachable: ${err.message}`),
        identifier,
      ).then(() => true);
    // Without the directory this OP cannot tell where else the account could be; it answers as
    // for an unknown identifier, so local logins and the login form's answers stay as they are.
    deps.runtime.log.warn('registry of homes unreachable at login', { err: err.message });
    return false;
  }
  if (!home || home === deps.runtime.self.url) return false;
  await route(ctx, deps, s, identifier, home);
  return true;
}

/** The claims a recognized account keeps from home (and this OP repeats), by kind. */
function homeClaims(r: HopResult): { identifier: unknown; claims: Record<string, unknown>; actor: Record<string, unknown> } {
  const c = r.claims;
  if (r.kind === 'legal') {
    return {
      identifier: c.uscc,
      claims: { name: c.name, org_name: c.org_name, uscc: c.uscc },
      actor: { act: c.act, agent_role: c.agent_role, service_categories: c.service_categories },
    };
  }
  return {
    identifier: c.id_number,
    claims: { name: c.name, id_number: c.id_number, phone_number: c.phone_number, phone_number_verified: c.phone_number_verified },
    actor: {},
  };
}

export function crossTierRoutes(router: Router, deps: OpDependencies) {
  const platforms = (s: InteractionScope) =>
    deps
      .recognition!.platforms()
      .filter((id) => id !== deps.runtime.self.url)
      .map((id) => ({ id, name: deps.recognition!.siteName(id, s.locale) }));

  router.get('/interaction/:uid/regions', async (ctx) => {
    if (!deps.recognition) throw new InteractionExpired();
    const s = await interactionScope(ctx, deps);
    sendPage(ctx, regionsPage({ ...s.form, platforms: platforms(s) }));
  });

  router.post('/interaction/:uid/regions', async (ctx) => {
    if (!deps.recognition) throw new InteractionExpired();
    const s = await interactionScope(ctx, deps);
    const home = s.body.home ?? '';
    if (!platforms(s).some((p) => p.id === home))
      return sendPage(ctx, regionsPage({ ...s.form, platforms: platforms(s), error: 'error.platform_unknown' }), 400);
    await route(ctx, deps, s, null, home);
  });

  // The neighbour sends the browser to the fixed redirect URI; the interaction cookie is scoped to
  // the interaction's path, so the answer continues there, where the cookie binds it to the browser.
  router.get(BROKER_CALLBACK_PATH, async (ctx) => {
    const uid = await deps.recognition?.login.pendingInteraction(String(ctx.query.state ?? ''));
    if (!uid) throw new InteractionExpired();
    ctx.status = 303;
    ctx.redirect(`/interaction/${uid}/upstream${ctx.search}`);
  });

  router.get('/interaction/:uid/upstream', async (ctx) => {
    const recognition = deps.recognition;
    if (!recognition) throw new InteractionExpired();
    const s = await interactionScope(ctx, deps);
    const uid = s.details.uid;
    const clientId = String(s.details.params.client_id);
    let result: HopResult;
    let account;
    try {
      result = await recognition.login.finish(ctx.search, uid);
      const { identifier, claims, actor } = homeClaims(result);
      if (typeof identifier !== 'string' || !identifier)
        throw new RecognitionError(
          'invalid_response',
          `${result.upstream} did not say the ${result.kind === 'legal' ? 'uscc' : 'id_number'}`,
        );
      try {
        account = await deps.recognized.link(
          {
            kind: result.kind,
            identifier,
            home: result.home,
            upstream: result.upstream,
            upstreamSubject: String(result.claims.sub),
            loa: result.loa,
            claims,
          },
          clientId,
          {
            event: 'login.recognized',
            detail: { home: result.home, upstream: result.upstream, loa: result.loa, amr: result.amr },
          },
        );
      } catch (err) {
        if (err instanceof LocalAccountExists)
          throw new RecognitionError('local_account_exists', `${result.home} answered for an account that is also registered here`);
        throw err;
      }
      const login = { accountId: account.subject, acr: deps.acrUris[result.loa], amr: result.amr, ts: result.authTime, remember: true };
      if (result.kind === 'natural') return await finishInteraction(ctx, deps, s, { login });
      // A legal person: a grant of its own, bound to the acting person as the home asserted them.
      const grant = new deps.provider.Grant({ accountId: account.subject, clientId });
      grant.addOIDCScope(String(s.details.params.scope ?? 'openid'));
      const grantId = await grant.save();
      await deps.recognized.bindActor(grantId, account.subject, actor, TTL.Grant);
      await finishInteraction(ctx, deps, s, { login, consent: { grantId } });
    } catch (err) {
      if (!(err instanceof RecognitionError)) throw err;
      await refuse(ctx, deps, s, err, '');
    }
  });
}
