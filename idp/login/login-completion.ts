/**
 * Completing a login, as one story (DESIGN.md, "Mutual recognition"). The routes serve the pages;
 * the steps they take are here, in the order a login goes through them:
 *   1. identifier   `identified`: the ID number or phone typed, or the `login_hint` a neighbour pushed;
 *   2. home lookup  `sendToHome`: an account here, or the home the registry of homes names
 *                   (a neighbour's `home_hint` saves the lookup, a relocation record overrides it);
 *                   a hop in the middle of a route, hinted so, goes on from inside the
 *                   authorization request (`routedAhead`), without the pages;
 *   3. here         the password or SMS page (login-routes.ts), then `authenticated`: signed in as
 *                   the natural person, or on to pick the organization they act for
 *                   (`organizationPicker`, `authenticatedPerson`);
 *      elsewhere    `routeToHome`: pushed on through the brokers (login/cross-tier-hops.ts), and
 *                   `returnedFromHome` when the answer comes back (to the browser that started
 *                   the hop: login/hop-binding.ts): the recognized account linked,
 *                   signed in with the home's claims, capped level and authentication time;
 *   4. consent and tokens  `finishInteraction`: back to oidc-provider, which asks for consent
 *                   when the client wants new scopes (consent-routes.ts), then issues the code.
 * A refusal on the way (`refuse`) is told to the person on this OP's page, or, in the middle of a
 * route, passed back to the previous hop as an OAuth error.
 */
import type Koa from 'koa';
import type { Interaction } from 'oidc-provider';
import { recordAudit } from '../../infra/audit-log.ts';
import { isIdNumber } from '../../infra/identifiers.ts';
import { HOME_HINT_PARAM, ROUTE_PARAM } from '../../federation/recognition-routing.ts';
import type { NaturalPerson } from '../accounts/natural-person-accounts.ts';
import { LocalAccountExists } from '../accounts/recognized-accounts.ts';
import { endedSessionKey } from '../broker/session-termination.ts';
import { wantsLegalPerson } from '../oidc/interaction-policy.ts';
import { TTL } from '../oidc/provider-config.ts';
import type { MessageKey } from '../i18n.ts';
import type { OpDependencies } from '../op-dependencies.ts';
import { whenUnavailable } from '../upstream-outage.ts';
import { loginPage, loginView, orgPickerPage, passwordPage, type LoginView, type OrgPickerView } from '../views/pages.ts';
import { InteractionExpired, sendPage, type InteractionScope } from '../interactions/interaction-context.ts';
import { RecognitionError, type HopResult } from './cross-tier-hops.ts';
import { bindHopToBrowser } from './hop-binding.ts';

/** This OP's login page: identifier first in a federation, identifier and password on one form outside any. */
export function sendLoginPage(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, extra: Partial<LoginView> = {}, status = 200) {
  sendPage(ctx, loginPage(loginView(s, { ...extra, federated: deps.recognition !== undefined })), status);
}

/** 1. Identifier given: this OP's password page, or on to the account's home elsewhere. */
export async function identified(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, identifier: string) {
  const index = deps.accounts.identifierIndex(identifier);
  if (!index) return sendLoginPage(ctx, deps, s, { identifier, error: 'error.identifier_format' }, 400);
  if (!(await deps.accounts.findByIdentifierIndex(index)) && (await sendToHome(ctx, deps, s, identifier))) return;
  sendPage(ctx, passwordPage({ ...loginView(s), identifier }));
}

/**
 * 2. Sends the login on to the account's home when that is another OP; returns false when the
 * account is (or can only be) here, and this OP goes on with its own login page. Without an
 * identifier (the person chose the platform), only a home named by the previous hop is followed.
 */
export async function sendToHome(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, identifier: string | null): Promise<boolean> {
  if (!deps.recognition) return false;
  if (identifier === null) {
    const home = await hintedHome(deps, s.details);
    if (!home) return false;
    await routeToHome(ctx, deps, s, null, home);
    return true;
  }
  if (!isIdNumber(identifier)) return false;
  // The person typing here (not a neighbour relaying): lookups are limited per address.
  if (!isHop(s.details) && (await deps.throttle.homeLookupAllowed(ctx.ip))) {
    sendLoginPage(ctx, deps, s, { identifier, error: 'error.rate_limited' }, 429);
    return true;
  }
  let home: string | null;
  try {
    home = await homeOf(deps, s, identifier);
  } catch (err) {
    if (!(err instanceof RecognitionError)) throw err;
    await refuse(ctx, deps, s, err, identifier);
    return true;
  }
  if (!home || home === deps.runtime.self.url) return false;
  await routeToHome(ctx, deps, s, identifier, home);
  return true;
}

/** Where the natural person with this ID number has their account, as far as this OP can tell. */
function homeOf(deps: OpDependencies, s: InteractionScope, identifier: string): Promise<string | null> {
  const lookup = async () =>
    // An account that moved away from here: its new home, even before the registry has caught up.
    (await deps.accounts.movedTo(deps.accounts.idNumberIndex(identifier))) ??
    // A hint from the previous hop saves a registry round trip; the answer is checked against it anyway.
    (await hintedHome(deps, s.details)) ??
    (await deps.recognition!.homes.lookup('natural', identifier));
  return whenUnavailable(lookup(), (err) => {
    if (isHop(s.details)) throw new RecognitionError('home_unavailable', `registry of homes unreachable: ${err.message}`);
    // Without the directory this OP cannot tell where else the account could be; it answers as
    // for an unknown identifier, so local logins and the login form's answers stay as they are.
    deps.runtime.log.warn('registry of homes unreachable at login', { err: err.message });
    return null;
  });
}

/** The home a neighbour OP named for this request (only brokers of this OP may), unless it is this OP. */
async function hintedHome(deps: OpDependencies, details: Interaction): Promise<string | null> {
  const hint = details.params[HOME_HINT_PARAM];
  if (typeof hint !== 'string' || hint === deps.runtime.self.url) return null;
  return (await deps.recognition?.trust.isBroker(String(details.params.client_id))) ? hint : null;
}

/** 3, here: the end of every successful authentication at this OP (password, SMS code, registration). */
export async function authenticated(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, person: NaturalPerson, amr: string[]) {
  const login: PendingLogin = { accountId: person.subject, acr: deps.acrUris[person.loa], amr, ts: Math.floor(Date.now() / 1000) };
  if (!wantsLegalPerson(String(s.details.params.scope ?? '')))
    return finishInteraction(ctx, deps, s, { login: { ...login, remember: true } });
  // Acting for an organization: the authentication waits under the interaction while the person picks one.
  await deps.runtime.kv.set(pendingLoginKey(s.details.uid), JSON.stringify(login), TTL.Interaction);
  sendPage(ctx, await organizationPicker(deps, s, person));
}

/** A natural person's authentication that waits for the organization they will act for. */
export interface PendingLogin {
  accountId: string;
  acr: string;
  amr: string[];
  ts: number;
}

const pendingLoginKey = (uid: string) => `interaction:${uid}:authenticated`;

/** The person this interaction already authenticated; a forged or stale form finds none. */
export async function authenticatedPerson(
  deps: OpDependencies,
  s: InteractionScope,
): Promise<{ login: PendingLogin; person: NaturalPerson }> {
  const raw = await deps.runtime.kv.get(pendingLoginKey(s.details.uid));
  const login = raw ? (JSON.parse(raw) as PendingLogin) : null;
  const person = login ? await deps.accounts.findBySubject(login.accountId) : null;
  if (!login || !person) throw new InteractionExpired();
  return { login, person };
}

/** The organization is picked: the waiting authentication is used up. */
export async function pickedOrganization(deps: OpDependencies, s: InteractionScope): Promise<void> {
  await deps.runtime.kv.del(pendingLoginKey(s.details.uid));
}

/** The page listing the organizations the person may act for, with the form to register one. */
export async function organizationPicker(
  deps: OpDependencies,
  s: InteractionScope,
  person: NaturalPerson,
  extra: Partial<OrgPickerView> = {},
): Promise<string> {
  const mandates = await deps.legalPersons.mandatesOf(person.idNumberIndex);
  return orgPickerPage({
    ...s.form,
    clientName: s.clientName,
    orgs: mandates.map((m) => ({ subject: m.legal.subject, orgName: m.legal.orgName, role: s.t(`role.${m.role}`) })),
    registerErrors: {},
    values: {},
    ...extra,
  });
}

/** 3, elsewhere: pushes the login on towards `home` and sends the browser there (or says why not). */
export async function routeToHome(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, identifier: string | null, home: string) {
  try {
    const url = await pushTowardsHome(ctx, deps, s.details, identifier, home);
    ctx.status = 303;
    ctx.redirect(url);
  } catch (err) {
    if (!(err instanceof RecognitionError)) throw err;
    await refuse(ctx, deps, s, err, identifier ?? '');
  }
}

/**
 * 2 and 3 ahead of the pages, inside the authorization request (oidc-provider's
 * `interactions.url`): a neighbour relaying a login with the ID number and the home, where the
 * account is not, is pushed on at once, without the browser visiting this OP's interaction first.
 * Returns where the browser goes next (the next hop, or on a refusal the previous one, through the
 * resumed authorization), or null when the interaction's pages have anything to do: no hint, an
 * account here, consent, or anything unexpected (they look again and answer as ever).
 */
export async function routedAhead(ctx: Koa.Context, deps: OpDependencies, interaction: Interaction): Promise<string | null> {
  const hint = interaction.params.login_hint;
  if (!deps.recognition || interaction.prompt.name !== 'login' || !isHop(interaction) || typeof hint !== 'string') return null;
  const identifier = hint.trim().toUpperCase();
  if (!isIdNumber(identifier)) return null;
  let home;
  try {
    const hinted = await hintedHome(deps, interaction);
    if (!hinted) return null;
    const { here, movedTo } = await deps.accounts.standing(deps.accounts.idNumberIndex(identifier));
    if (here) return null;
    home = movedTo ?? hinted;
  } catch {
    return null;
  }
  if (home === deps.runtime.self.url) return null;
  try {
    return await pushTowardsHome(ctx, deps, interaction, identifier, home);
  } catch (err) {
    if (!(err instanceof RecognitionError)) throw err;
    return concluded(interaction, await refusal(deps, interaction, err));
  }
}

/** Pushes the login on towards `home`, bound to this browser; returns the URL the browser goes to next. */
async function pushTowardsHome(
  ctx: Koa.Context,
  deps: OpDependencies,
  details: Interaction,
  identifier: string | null,
  home: string,
): Promise<string> {
  const legal = wantsLegalPerson(String(details.params.scope ?? ''));
  const interaction = {
    uid: details.uid,
    params: details.params,
    ...(details.session?.uid ? { sessionUid: details.session.uid } : {}),
  };
  try {
    const { url, next, state } = await deps.recognition!.login.start(interaction, legal ? 'legal' : 'natural', identifier, home);
    bindHopToBrowser(ctx, deps.runtime, state, details.uid, TTL.Interaction);
    deps.runtime.metrics.hop('start', 'ok');
    await recordAudit(deps.runtime.db, {
      event: 'recognition.routed',
      clientId: String(details.params.client_id),
      detail: { home, next },
    });
    return url;
  } catch (err) {
    if (err instanceof RecognitionError) deps.runtime.metrics.hop('start', err.code);
    throw err;
  }
}

/** 3, back from home: the answer of the neighbour (the callback's query string) verified, linked and signed in. */
export async function returnedFromHome(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, query: string) {
  const clientId = String(s.details.params.client_id);
  try {
    const result = await deps.recognition!.login.finish(query, s.details.uid);
    const { identifier, claims, actor } = homeClaims(result);
    if (typeof identifier !== 'string' || !identifier)
      throw new RecognitionError(
        'invalid_response',
        `${result.upstream} did not say the ${result.kind === 'legal' ? 'uscc' : 'id_number'}`,
      );
    let account;
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
    deps.runtime.metrics.hop('finish', 'ok');
    if (!isHop(s.details)) deps.runtime.metrics.login('recognized', 'success');
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
    deps.runtime.metrics.hop('finish', err.code);
    if (!isHop(s.details)) deps.runtime.metrics.login('recognized', 'failure');
    await refuse(ctx, deps, s, err, '');
  }
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

/** True when this request is itself a hop of a cross-tier login (a neighbour OP sent it). */
function isHop(details: Interaction): boolean {
  return typeof details.params[ROUTE_PARAM] === 'string';
}

/** A cross-tier login that cannot go on: told to the person on this OP's page, or, in the middle of a route, to the previous hop. */
async function refuse(ctx: Koa.Context, deps: OpDependencies, s: InteractionScope, err: RecognitionError, identifier: string) {
  const result = await refusal(deps, s.details, err);
  if (isHop(s.details)) return finishInteraction(ctx, deps, s, result);
  sendLoginPage(ctx, deps, s, { identifier, ...refusalMessage(err) }, err.homeUnavailable ? 503 : 403);
}

/** The refusal audited and logged; the OAuth error the previous hop gets, if there is one. */
async function refusal(deps: OpDependencies, details: Interaction, err: RecognitionError): Promise<Record<string, unknown>> {
  await recordAudit(deps.runtime.db, {
    event: 'recognition.refused',
    clientId: String(details.params.client_id),
    detail: { reason: err.code, message: err.message },
  });
  deps.runtime.log.warn('cross-tier login refused', { reason: err.code, message: err.message });
  // A home (or hop) that is down is passed down the route as such, to the page the person sees (503).
  return {
    error: err.homeUnavailable ? 'temporarily_unavailable' : 'access_denied',
    error_description: `${deps.runtime.self.url}: ${err.message}`,
  };
}

function refusalMessage(err: RecognitionError): { error: MessageKey; errorVars?: Record<string, string> } {
  return err.homeUnavailable
    ? { error: 'error.home_unavailable' }
    : { error: 'error.recognition_refused', errorVars: { reason: err.code } };
}

/** 4. Ends the interaction and sends the browser back to the authorization endpoint (303), for consent and the code. */
export async function finishInteraction(
  ctx: Koa.Context,
  deps: OpDependencies,
  s: InteractionScope,
  result: Record<string, unknown>,
  merge = false,
) {
  // A fresh login: the browser session is good again even if a logout from elsewhere had ended it.
  const sessionUid = s.details.session?.uid;
  if (result.login && sessionUid) await deps.runtime.kv.del(endedSessionKey(sessionUid));
  ctx.redirect(await concluded(s.details, result, merge));
  ctx.status = 303;
}

/**
 * What oidc-provider's interactionResult does, on the interaction this request loaded already
 * (checked against the cookie and its session) rather than loading it again: the result stored,
 * the resumed authorization's URL returned.
 */
async function concluded(interaction: Interaction, result: Record<string, unknown>, merge = false): Promise<string> {
  interaction.result = merge && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
  await interaction.persist();
  return interaction.returnTo;
}
