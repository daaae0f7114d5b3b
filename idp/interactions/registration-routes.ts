/**
 * Real-name registration inside a login: name, ID number, phone (proved with an SMS code) and a
 * password. The name and ID number are verified against the population registry; the result is
 * a loa1 account, and the person is signed in. Nothing is written unless every check passed.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { InvalidIdentifier, maskPhone, parseIdNumber, parsePhone } from '../../infra/identifiers.ts';
import { UpstreamUnavailable } from '../../infra/errors.ts';
import { recordAudit } from '../../infra/audit-log.ts';
import { hashPassword, passwordProblem } from '../accounts/password.ts';
import { AccountExists } from '../accounts/natural-person-accounts.ts';
import { HomeConflict } from '../../federation/registry-of-homes.ts';
import { registerPage, type RegisterView } from '../views/pages.ts';
import type { MessageKey } from '../i18n.ts';
import { interactionScope, sendPage, type InteractionScope, type OpDependencies } from './interaction-context.ts';
import { authenticated } from './organization-routes.ts';

type Field = 'name' | 'id_number' | 'phone' | 'otp' | 'password';
type FieldErrors = RegisterView['fieldErrors'];

/** Names as on the ID card: Chinese characters (with the middle dot of minority names) or Latin letters. */
const NAME = /^(?:[\u3400-\u9fff\u00b7·]{2,30}|[A-Za-z][A-Za-z .'-]{1,63})$/;

function registerView(s: InteractionScope, fieldErrors: FieldErrors = {}, extra: Partial<RegisterView> = {}): RegisterView {
  const { name, id_number, phone } = s.body;
  return { ...s.form, loginUrl: `${s.form.action}?lang=${s.locale}`, values: { name, id_number, phone }, fieldErrors, ...extra };
}

interface Parsed {
  name: string;
  idNumber: string;
  phone: string;
}

/** Checks the format of the identity fields; returns the normalized values or the field errors. */
function parseIdentity(body: Record<string, string>, need: Field[]): { value?: Parsed; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = (body.name ?? '').trim();
  let idNumber = '';
  let phone = '';
  if (need.includes('name') && !NAME.test(name)) errors.name = 'error.name_format';
  if (need.includes('id_number')) {
    try {
      idNumber = parseIdNumber(body.id_number ?? '');
    } catch (err) {
      if (!(err instanceof InvalidIdentifier)) throw err;
      errors.id_number = `error.${err.problem}`;
    }
  }
  try {
    phone = parsePhone(body.phone ?? '');
  } catch {
    errors.phone = 'error.phone_format';
  }
  return Object.keys(errors).length ? { errors } : { value: { name, idNumber, phone }, errors };
}

export function registrationRoutes(router: Router, deps: OpDependencies) {
  const { accounts, throttle, otp, services, runtime } = deps;

  const fail = (ctx: Koa.Context, s: InteractionScope, status: number, fieldErrors: FieldErrors, error?: MessageKey) =>
    sendPage(ctx, registerPage(registerView(s, fieldErrors, error ? { error } : {})), status);

  router.get('/interaction/:uid/register', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    sendPage(ctx, registerPage(registerView(s)));
  });

  router.post('/interaction/:uid/register/otp', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const { value, errors } = parseIdentity(s.body, ['phone']);
    if (!value) return fail(ctx, s, 400, errors);
    const phoneIndex = accounts.phoneIndex(value.phone);
    const wait = (await throttle.ipRequestAllowed(ctx.ip)) ?? (await throttle.otpAllowed(phoneIndex));
    if (wait) return fail(ctx, s, 429, {}, 'error.rate_limited');
    try {
      await otp.send('register', value.phone, phoneIndex);
    } catch (err) {
      if (!(err instanceof UpstreamUnavailable)) throw err;
      return fail(ctx, s, 503, {}, 'error.sms_unavailable');
    }
    sendPage(
      ctx,
      registerPage(registerView(s, {}, { notice: { key: 'text.register_otp_sent', vars: { phone: maskPhone(value.phone) } } })),
    );
  });

  router.post('/interaction/:uid/register', async (ctx) => {
    const s = await interactionScope(ctx, deps);
    const clientId = String(s.details.params.client_id);
    const { value, errors } = parseIdentity(s.body, ['name', 'id_number', 'phone']);
    const password = s.body.password ?? '';
    // Compared with the parsed values: "+86 138-..." and "138..." are the same phone.
    const pwProblem = passwordProblem(
      password,
      [value?.idNumber ?? s.body.id_number ?? '', value?.phone ?? s.body.phone ?? ''].map((x) => x.trim()),
    );
    if (pwProblem) errors.password = pwProblem;
    if (!/^\d{6}$/.test((s.body.otp ?? '').trim())) errors.otp = 'error.otp_invalid';
    if (!value || Object.keys(errors).length) return fail(ctx, s, 400, errors);

    if (await throttle.ipRequestAllowed(ctx.ip)) return fail(ctx, s, 429, {}, 'error.rate_limited');
    const taken = await accounts.taken(value.idNumber, value.phone);
    if (taken) return fail(ctx, s, 409, { [taken]: `error.${taken}_registered` as MessageKey });
    // Register once: a person whose home is another platform logs in with that account instead.
    let home: string | null = null;
    try {
      home = (await deps.recognition?.homes.lookup('natural', value.idNumber)) ?? null;
    } catch (err) {
      if (!(err instanceof UpstreamUnavailable)) throw err;
      return fail(ctx, s, 503, {}, 'error.directory_unavailable');
    }
    if (home && home !== runtime.self.url) {
      await recordAudit(runtime.db, { event: 'registration.refused', clientId, detail: { reason: 'registered_elsewhere', home } });
      return sendPage(
        ctx,
        registerPage(registerView(s, {}, { elsewhere: { site: deps.recognition!.siteName(home, s.locale), idNumber: value.idNumber } })),
        409,
      );
    }

    let match: boolean;
    try {
      match = await services.verifyPerson(value.name, value.idNumber);
    } catch (err) {
      if (!(err instanceof UpstreamUnavailable)) throw err;
      return fail(ctx, s, 503, {}, 'error.registry_unavailable');
    }
    if (!match) {
      await recordAudit(runtime.db, {
        event: 'registration.refused',
        clientId,
        detail: { reason: 'registry_mismatch', id_number_index: accounts.idNumberIndex(value.idNumber) },
      });
      return fail(ctx, s, 422, { name: 'error.person_mismatch' });
    }

    const otpProblem = await otp.check('register', accounts.phoneIndex(value.phone), s.body.otp!.trim());
    if (otpProblem) return fail(ctx, s, 400, { otp: `error.${otpProblem}` });

    let account;
    try {
      account = await accounts.register({ ...value, passwordHash: await hashPassword(password), loa: 'loa1' }, clientId);
    } catch (err) {
      if (err instanceof HomeConflict) {
        // Registered elsewhere between the lookup and now: the registry of this broker refused the second home.
        return sendPage(
          ctx,
          registerPage(
            registerView(s, {}, { elsewhere: { site: deps.recognition!.siteName(err.home, s.locale), idNumber: value.idNumber } }),
          ),
          409,
        );
      }
      if (!(err instanceof AccountExists)) throw err;
      return fail(ctx, s, 409, { [err.field]: `error.${err.field}_registered` as MessageKey });
    }
    await authenticated(ctx, deps, s, account, ['pwd', 'sms']);
  });
}
