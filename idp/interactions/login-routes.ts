/**
 * Login: in a federation identifier first, the ID number or phone and then the password (here, or
 * at the person's home elsewhere); outside any federation both on one page (one POST). An SMS code
 * is the second way in. Messages never reveal whether an account exists; failures count towards
 * the per-account lockout and the per-IP limit before any password work is done.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { recordAudit } from '../../infra/audit-log.ts';
import { verifyPassword } from '../accounts/password.ts';
import type { NaturalPerson } from '../accounts/natural-person-accounts.ts';
import type { Attempt, Refusal } from '../accounts/login-throttle.ts';
import { loginView, otpLoginPage, passwordPage } from '../views/pages.ts';
import type { MessageKey } from '../i18n.ts';
import type { OpDependencies } from '../op-dependencies.ts';
import { answeringOutages, orUnavailable } from '../upstream-outage.ts';
import { authenticated, identified, sendLoginPage, sendToHome } from '../login/login-completion.ts';
import { interactionScope, sendPage, type InteractionScope } from './interaction-context.ts';

function refusalMessage(r: Refusal): { error: MessageKey; errorVars: Record<string, number> } {
  return r.reason === 'locked'
    ? { error: 'error.locked', errorVars: { minutes: Math.ceil(r.retryAfterSeconds / 60) } }
    : { error: 'error.ip_limited', errorVars: {} };
}

export function loginRoutes(router: Router, deps: OpDependencies) {
  const { accounts, throttle, otp, runtime } = deps;

  const completeLogin = async (
    ctx: Koa.Context,
    s: InteractionScope,
    account: NaturalPerson,
    method: 'password' | 'sms',
    attempt: Attempt,
  ) => {
    const amr = [method === 'password' ? 'pwd' : 'sms'];
    runtime.metrics.login(method, 'success');
    await throttle.success(account.subject, attempt);
    await recordAudit(runtime.db, {
      event: 'login.succeeded',
      subject: account.subject,
      clientId: String(s.details.params.client_id),
      detail: { amr, ip: ctx.ip },
    });
    await authenticated(ctx, deps, s, account, amr);
  };

  const loginFailed = async (
    ctx: Koa.Context,
    s: InteractionScope,
    account: NaturalPerson | null,
    identifierIndex: string,
    method: 'password' | 'sms',
    reason: string,
  ) => {
    runtime.metrics.login(method, 'failure');
    const refusal = await throttle.failure(account?.subject ?? identifierIndex, ctx.ip);
    if (refusal) runtime.metrics.lockout();
    await recordAudit(runtime.db, {
      event: 'login.failed',
      subject: account?.subject ?? null,
      clientId: String(s.details.params.client_id),
      detail: { reason, ip: ctx.ip, identifier_index: identifierIndex },
    });
    return refusal;
  };

  /** The attempt as the limits see it: refused (lockout, IP limit) before any credential is checked, or not. */
  const attempt = async (lockKey: string, ip: string) => {
    const a = await throttle.attempt(lockKey, ip);
    if (a.refusal) runtime.metrics.loginRefused(a.refusal.reason);
    return a;
  };

  router.get('/interaction/:uid', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    if (s.details.prompt.name === 'consent') return ctx.redirect(`${s.form.action}/consent?lang=${s.locale}`);
    // A login_hint (pushed, so never seen in a URL) skips the identifier page.
    const hint = s.details.params.login_hint;
    if (typeof hint === 'string' && hint) return identified(ctx, deps, s, hint.trim().toUpperCase());
    // A neighbour relaying a login whose person chose the platform rather than give the identifier.
    if (await sendToHome(ctx, deps, s, null)) return;
    sendLoginPage(ctx, deps, s);
  });

  /**
   * The password checked for the identifier given: the password page's, or the login page's one
   * POST outside any federation. An account whose home is elsewhere is sent there first, its
   * password left unread.
   */
  const passwordStep = async (ctx: Koa.Context, s: InteractionScope, identifier: string, password: string) => {
    const index = accounts.identifierIndex(identifier);
    if (!index) return sendLoginPage(ctx, deps, s, { identifier, error: 'error.identifier_format' }, 400);
    const account = await accounts.findByIdentifierIndex(index);
    // Not here: the home may be elsewhere (and the registry may have learned it since an earlier
    // identifier step: a registration elsewhere moments ago, or a directory unreachable then).
    if (!account && (await sendToHome(ctx, deps, s, identifier))) return;
    const lockKey = account?.subject ?? index;
    const tried = await attempt(lockKey, ctx.ip);
    if (tried.refusal) return sendPage(ctx, passwordPage({ ...loginView(s, refusalMessage(tried.refusal)), identifier }), 429);
    if (await verifyPassword(account?.passwordHash ?? null, password)) return completeLogin(ctx, s, account!, 'password', tried);
    const nowRefused = await loginFailed(ctx, s, account, index, 'password', 'password');
    const message = nowRefused ? refusalMessage(nowRefused) : { error: 'error.credentials' as const };
    sendPage(ctx, passwordPage({ ...loginView(s, message), identifier }), nowRefused ? 429 : 401);
  };

  // The login page's form: outside any federation, with a password, the whole login in this one
  // request; otherwise the password page (or the account's home elsewhere) comes next.
  router.post('/interaction/:uid/identifier', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const identifier = (s.body.identifier ?? '').trim().toUpperCase();
    // In a federation a password is only ever given at the person's home, after the identifier
    // (DESIGN.md): one posted with it is refused, its value neither read nor logged.
    if (deps.recognition && 'password' in s.body)
      return sendLoginPage(ctx, deps, s, { identifier, error: 'error.password_not_with_identifier' }, 400);
    if (s.body.password) return passwordStep(ctx, s, identifier, s.body.password);
    await identified(ctx, deps, s, identifier);
  });

  router.post('/interaction/:uid/password', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    await passwordStep(ctx, s, (s.body.identifier ?? '').trim().toUpperCase(), s.body.password ?? '');
  });

  router.post('/interaction/:uid/otp/send', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const identifier = (s.body.identifier ?? '').trim().toUpperCase();
    const index = accounts.identifierIndex(identifier);
    if (!index) return sendLoginPage(ctx, deps, s, { identifier, error: 'error.identifier_format' }, 400);
    const ipWait = await throttle.ipRequestAllowed(ctx.ip);
    if (ipWait) return sendPage(ctx, otpLoginPage({ ...loginView(s, { error: 'error.rate_limited' }), identifier }), 429);
    // Limits, storage and answers are keyed by the identifier, so an unknown account is
    // indistinguishable from a real one: it gets a code too, sent to nobody.
    const wait = await throttle.otpAllowed(index);
    if (wait)
      return sendPage(ctx, otpLoginPage({ ...loginView(s, { error: 'error.otp_rate', errorVars: { seconds: wait } }), identifier }), 429);
    const account = await accounts.findByIdentifierIndex(index);
    await answeringOutages(
      async () => {
        await orUnavailable(
          account ? otp.send('login', accounts.phoneOf(account), index) : otp.decoy('login', index),
          'error.sms_unavailable',
        );
        // Same answer whether or not the account exists.
        sendPage(ctx, otpLoginPage({ ...loginView(s, { notice: 'text.otp_sent' }), identifier }));
      },
      (error) => sendPage(ctx, otpLoginPage({ ...loginView(s, { error }), identifier }), 503),
    );
  });

  router.post('/interaction/:uid/otp', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const identifier = (s.body.identifier ?? '').trim().toUpperCase();
    const index = accounts.identifierIndex(identifier);
    if (!index) return sendLoginPage(ctx, deps, s, { identifier, error: 'error.identifier_format' }, 400);
    const account = await accounts.findByIdentifierIndex(index);
    const tried = await attempt(account?.subject ?? index, ctx.ip);
    if (tried.refusal) return sendPage(ctx, otpLoginPage({ ...loginView(s, refusalMessage(tried.refusal)), identifier }), 429);
    const problem = await otp.check('login', index, (s.body.otp ?? '').trim());
    if (!problem && account) return completeLogin(ctx, s, account, 'sms', tried);
    const nowRefused = await loginFailed(ctx, s, account, index, 'sms', problem ?? 'otp_invalid');
    const message = nowRefused ? refusalMessage(nowRefused) : { error: `error.${problem ?? 'otp_invalid'}` as MessageKey };
    sendPage(ctx, otpLoginPage({ ...loginView(s, message), identifier }), nowRefused ? 429 : 401);
  });
}
