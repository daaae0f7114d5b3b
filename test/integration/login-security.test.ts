/**
 * Login security at an OP: no user enumeration, lockout after five failures, the SMS code as
 * a second way in, the phone as identifier, interactions bound to their browser, and English
 * pages on request.
 *
 * Accounts are created directly in the OP's database (as a completed registration leaves them),
 * so that the phone's one SMS code per minute is left for the login being tested.
 */
import test from 'ava';
import { UserAgent, findForm, pageError, type Page } from '../helpers/user-agent.ts';
import {
  authorize,
  latestOtp,
  passwordLogin,
  redeem,
  relyingParty,
  throughConsent,
  REDIRECT_URI,
  type Person,
  type RelyingParty,
} from '../helpers/flows.ts';
import { standaloneOp, type StandaloneOp } from '../helpers/standalone-op.ts';
import { federationWithClient } from '../helpers/gd-fixture.ts';
import { randomInt } from 'node:crypto';
import { openRegisterPage, pageLang, seededPerson, unknownIdNumber, wrongCheckDigit } from '../helpers/integration-extra.ts';

const PASSWORD = 'Login-pass-42';
const WRONG = 'Wrong-pass-42';

const ZH = {
  credentials: '账号或密码错误。',
  otpInvalid: '验证码错误。',
  otpExpired: '验证码已失效，请重新获取。',
  otpSent: '如该账号存在，验证码已发送至其绑定的手机，5 分钟内有效。',
  sessionExpired: '登录会话已过期，请从原网站重新发起登录。',
  identifierFormat: '请输入有效的身份证号码或手机号码。',
  passwordNotWithIdentifier: '此页只填写身份证号或手机号，点“下一步”；密码在下一步、您账号所在的平台输入。随此页提交的密码未被读取。',
};

const env = federationWithClient(['gd', 'registries'], 'gd');

const account = (): Promise<Person> => seededPerson(env.fed, 'gd', PASSWORD);

/** The same accounts at an OP outside any federation (standalone-op.ts), and a client there; started by the first test that needs it. */
let outsideStarted: Promise<{ op: StandaloneOp; rp: RelyingParty }> | undefined;
const outside = () =>
  (outsideStarted ??= standaloneOp(env.fed, 'gd').then(async (op) => ({ op, rp: await relyingParty(op.addresses, 'gd') })));
test.after.always(async () => (await outsideStarted)?.op.close());

/** A fresh browser on the OP's password page for `identifier`. */
async function passwordPageFor(identifier: string, ua = new UserAgent(), rp = env.rp) {
  const auth = await authorize(rp, ua);
  const page = await ua.submit(auth.page, '/identifier', { identifier });
  return { ua, auth, page };
}

async function tryPassword(identifier: string, password: string, rp = env.rp): Promise<Page> {
  const { ua, page } = await passwordPageFor(identifier, new UserAgent(), rp);
  return ua.submit(page, '/password', { password }, REDIRECT_URI);
}

/** The page without what legitimately differs between two browsers and identifiers. */
function normalized(page: Page, identifier: string): string {
  return page.html
    .replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID')
    .replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value="CSRF"')
    .split(identifier)
    .join('IDENTIFIER');
}

test("outside any federation the login page takes identifier and password in one POST; its failures are the password page's", async (t) => {
  const person = await account();
  const { op, rp } = await outside();
  const onLoginPage = async (identifier: string, password: string) => {
    const ua = new UserAgent();
    const auth = await authorize(rp, ua);
    t.regex(auth.page.html, /<label for="password">密码<\/label>\n<input id="password" name="password" type="password"/);
    return { ua, auth, page: await ua.submit(auth.page, '/identifier', { identifier, password }, REDIRECT_URI) };
  };
  const wrong = await onLoginPage(person.id_number, WRONG);
  const unknownId = unknownIdNumber();
  const unknown = await onLoginPage(unknownId, WRONG);
  for (const page of [wrong.page, unknown.page]) {
    t.is(page.status, 401);
    t.is(pageError(page), ZH.credentials);
  }
  t.is(normalized(wrong.page, person.id_number), normalized(unknown.page, unknownId));
  t.is(normalized(wrong.page, person.id_number), normalized(await tryPassword(person.id_number, WRONG, rp), person.id_number));
  // The right password: signed in by the one POST (the OP's redirects followed to the client).
  const right = await onLoginPage(person.id_number, PASSWORD);
  const tokens = await redeem(rp, await throughConsent(right.ua, right.page), right.auth);
  t.deepEqual(tokens.claims()!.amr, ['pwd']);
  t.is(tokens.claims()!.iss, op.url);
  // The test flows' passwordLogin signs in on this page shape too.
  const ua = new UserAgent();
  const auth = await authorize(rp, ua);
  t.deepEqual((await redeem(rp, await passwordLogin(ua, auth.page, person.id_number, PASSWORD), auth)).claims()!.amr, ['pwd']);
});

test('in a federation the login page asks for the identifier first, and a password posted with it is refused unread', async (t) => {
  const person = await account();
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  t.notRegex(auth.page.html, /name="password"/);
  t.regex(auth.page.html, /<button type="submit">下一步<\/button>\n<\/form>/);
  const refused = await ua.submit(auth.page, '/identifier', { identifier: person.id_number, password: PASSWORD }, REDIRECT_URI);
  t.is(refused.status, 400);
  t.is(pageError(refused), ZH.passwordNotWithIdentifier);
  t.false(refused.html.includes(PASSWORD));
  t.notRegex(refused.html, /name="password"/);
  // Nothing was tried: no failure counted, and the identifier, then the password, sign the person in.
  t.truthy((await redeem(env.rp, await passwordLogin(ua, refused, person.id_number, PASSWORD), auth)).claims()!.sub);
});

test('a wrong password and an unknown identifier get the same 401 and the same generic message', async (t) => {
  const person = await account();
  const wrongPassword = await tryPassword(person.id_number, WRONG);
  const unknownId = unknownIdNumber();
  const unknownAccount = await tryPassword(unknownId, WRONG);
  const unknownPhone = `199${String(randomInt(100_000_000)).padStart(8, '0')}`;
  const unknownByPhone = await tryPassword(unknownPhone, WRONG);

  for (const [label, page] of [
    ['wrong password', wrongPassword],
    ['unknown ID number', unknownAccount],
    ['unknown phone', unknownByPhone],
  ] as const) {
    t.is(page.status, 401, label);
    t.is(pageError(page), ZH.credentials, label);
    t.false(page.url.startsWith(REDIRECT_URI), label);
  }
  t.is(normalized(wrongPassword, person.id_number), normalized(unknownAccount, unknownId), 'the pages do not tell the two apart');

  // The identifier step does not tell either: both get the password page.
  const known = await passwordPageFor(person.id_number);
  const unknown = await passwordPageFor(unknownId);
  t.is(known.page.status, 200);
  t.is(unknown.page.status, 200);
  t.is(normalized(known.page, person.id_number), normalized(unknown.page, unknownId));

  // Nor does asking for an SMS code.
  const sentUnknown = await unknown.ua.submit(unknown.page, '/otp/send', {});
  t.is(sentUnknown.status, 200);
  t.true(sentUnknown.html.includes(ZH.otpSent));
});

test('an identifier that is neither an ID number nor a phone is refused on the identifier page', async (t) => {
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  for (const identifier of ['hello', '12345', wrongCheckDigit(unknownIdNumber()), '12345678901']) {
    const page = await ua.submit(auth.page, '/identifier', { identifier });
    t.is(page.status, 400, identifier);
    t.is(pageError(page), ZH.identifierFormat, identifier);
  }
});

test('five wrong passwords lock the account: then even the right password is refused', async (t) => {
  const person = await account();
  for (let i = 1; i <= 4; i++) {
    const page = await tryPassword(person.id_number, `${WRONG}${i}`);
    t.is(page.status, 401, `failure ${i}`);
    t.is(pageError(page), ZH.credentials);
  }
  const fifth = await tryPassword(person.id_number, `${WRONG}5`);
  t.is(fifth.status, 429, 'the fifth failure locks');
  t.regex(pageError(fifth) ?? '', /锁定.*\d+ 分钟/, String(pageError(fifth)));
  t.true((pageError(fifth) ?? '').includes('15 分钟'), 'locked for 15 minutes');

  const right = await tryPassword(person.id_number, PASSWORD);
  t.is(right.status, 429, 'the right password is refused while locked');
  t.regex(pageError(right) ?? '', /分钟/);
  t.false(right.url.startsWith(REDIRECT_URI));

  // The lock is on the account, whichever identifier names it, and on the SMS code too.
  const byPhone = await tryPassword(person.phone, PASSWORD);
  t.is(byPhone.status, 429, 'locked by phone as well');
  const { ua, page } = await passwordPageFor(person.id_number);
  const otpPage = await ua.submit(page, '/otp/send', {});
  const otp = await ua.submit(otpPage, '/otp', { otp: '123456' }, REDIRECT_URI);
  t.is(otp.status, 429, 'an SMS code login is refused while locked');
  t.false(otp.url.startsWith(REDIRECT_URI));

  // Another account is not affected.
  const other = await account();
  const { ua: ua2, auth } = await passwordPageFor(other.id_number);
  const ok = await passwordLogin(ua2, auth.page, other.id_number, PASSWORD);
  t.truthy((await redeem(env.rp, ok, auth)).claims()!.sub);
});

test('an unknown identifier is locked out the same way as a real account', async (t) => {
  const unknownId = unknownIdNumber();
  const statuses: number[] = [];
  for (let i = 1; i <= 6; i++) statuses.push((await tryPassword(unknownId, `${WRONG}${i}`)).status);
  t.deepEqual(statuses, [401, 401, 401, 401, 429, 429]);
});

test('a successful login clears the failures counted so far', async (t) => {
  const person = await account();
  for (let i = 1; i <= 4; i++) t.is((await tryPassword(person.id_number, `${WRONG}${i}`)).status, 401);
  const { ua, auth } = await passwordPageFor(person.id_number);
  const ok = await passwordLogin(ua, auth.page, person.id_number, PASSWORD);
  t.truthy((await redeem(env.rp, ok, auth)).claims()!.sub);
  for (let i = 1; i <= 4; i++)
    t.is((await tryPassword(person.id_number, `${WRONG}${i}`)).status, 401, `failure ${i} after the reset is not yet a lock`);
});

test('an SMS code logs in, the ID token says amr sms, and the code works only once', async (t) => {
  const person = await account();
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  const pw = await ua.submit(auth.page, '/identifier', { identifier: person.id_number });
  const sent = await ua.submit(pw, '/otp/send', {});
  t.is(sent.status, 200);
  t.true(sent.html.includes(ZH.otpSent));
  const otp = await latestOtp(env.fed, person.phone);
  const done = await throughConsent(ua, await ua.submit(sent, '/otp', { otp }, REDIRECT_URI));
  const tokens = await redeem(env.rp, done, auth);
  const claims = tokens.claims()!;
  t.true(Array.isArray(claims.amr) && (claims.amr as string[]).includes('sms'), `amr ${JSON.stringify(claims.amr)}`);
  t.false((claims.amr as string[]).includes('pwd'));
  t.is(claims.acr, 'urn:gov-id:loa:1');
  t.is(claims.name, person.name);

  // The same code again, in another browser: it has been used.
  const ua2 = new UserAgent();
  const auth2 = await authorize(env.rp, ua2);
  const pw2 = await ua2.submit(auth2.page, '/identifier', { identifier: person.id_number });
  const { action, hidden } = findForm(pw2.html, '/otp/send');
  const again = await ua2.navigate(new URL(action.replace(/\/send$/, ''), pw2.url).toString(), { form: { ...hidden, otp } }, REDIRECT_URI);
  t.is(again.status, 401);
  t.is(pageError(again), ZH.otpExpired);
});

test('a wrong SMS code is refused, and the right one still works after it', async (t) => {
  const person = await account();
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  const pw = await ua.submit(auth.page, '/identifier', { identifier: person.phone });
  const sent = await ua.submit(pw, '/otp/send', {});
  const otp = await latestOtp(env.fed, person.phone);
  const wrong = String((Number(otp) + 1) % 1_000_000).padStart(6, '0');
  for (const code of [wrong, '', 'abcdef']) {
    const refused = await ua.submit(sent, '/otp', { otp: code }, REDIRECT_URI);
    t.is(refused.status, 401, `code "${code}"`);
    t.is(pageError(refused), ZH.otpInvalid, `code "${code}"`);
    t.false(refused.url.startsWith(REDIRECT_URI));
  }
  const done = await throughConsent(ua, await ua.submit(sent, '/otp', { otp }, REDIRECT_URI));
  t.true(((await redeem(env.rp, done, auth)).claims()!.amr as string[]).includes('sms'));
});

test('the phone number works as the identifier, for the same account', async (t) => {
  const person = await account();
  const ua1 = new UserAgent();
  const a1 = await authorize(env.rp, ua1);
  const byId = (await redeem(env.rp, await passwordLogin(ua1, a1.page, person.id_number, PASSWORD), a1)).claims()!;

  const ua2 = new UserAgent();
  const a2 = await authorize(env.rp, ua2);
  const byPhone = (await redeem(env.rp, await passwordLogin(ua2, a2.page, person.phone, PASSWORD), a2)).claims()!;
  t.is(byPhone.sub, byId.sub);
  t.deepEqual(byPhone.amr, ['pwd']);

  // Written the international way, with spaces.
  const ua3 = new UserAgent();
  const a3 = await authorize(env.rp, ua3);
  const spaced = `+86 ${person.phone.slice(0, 3)} ${person.phone.slice(3, 7)} ${person.phone.slice(7)}`;
  const byIntl = (await redeem(env.rp, await passwordLogin(ua3, a3.page, spaced, PASSWORD), a3)).claims()!;
  t.is(byIntl.sub, byId.sub);
});

test('an interaction URL opened by another browser, or without cookies, gets the 400 session-expired page', async (t) => {
  const person = await account();
  const ua1 = new UserAgent();
  const a1 = await authorize(env.rp, ua1);
  const interactionUrl = a1.page.url;
  t.regex(new URL(interactionUrl).pathname, /^\/interaction\/[^/]+$/);

  // No cookies at all.
  const bare = await new UserAgent().navigate(interactionUrl);
  t.is(bare.status, 400);
  t.is(pageError(bare), ZH.sessionExpired);
  const bareRegister = await new UserAgent().navigate(`${interactionUrl}/register`);
  t.is(bareRegister.status, 400);
  t.is(pageError(bareRegister), ZH.sessionExpired);

  // Another browser, with an interaction of its own.
  const ua2 = new UserAgent();
  await authorize(env.rp, ua2);
  const foreign = await ua2.navigate(interactionUrl);
  t.is(foreign.status, 400);
  t.is(pageError(foreign), ZH.sessionExpired);

  // Posting the first browser's form, CSRF token included, from the second browser.
  const { action, hidden } = findForm(a1.page.html, '/identifier');
  const pw1 = await ua1.submit(a1.page, '/identifier', { identifier: person.id_number });
  const pwForm = findForm(pw1.html, '/password');
  const stolen = await ua2.navigate(
    new URL(pwForm.action, pw1.url).toString(),
    { form: { ...pwForm.hidden, password: PASSWORD } },
    REDIRECT_URI,
  );
  t.is(stolen.status, 400);
  t.is(pageError(stolen), ZH.sessionExpired);
  t.false(stolen.url.startsWith(REDIRECT_URI));
  const stolenIdentifier = await ua2.navigate(new URL(action, a1.page.url).toString(), {
    form: { ...hidden, identifier: person.id_number },
  });
  t.is(stolenIdentifier.status, 400);

  // The first browser still logs in.
  const done = await throughConsent(ua1, await ua1.submit(pw1, '/password', { password: PASSWORD }, REDIRECT_URI));
  t.truthy((await redeem(env.rp, done, a1)).claims()!.sub);

  // And its finished interaction cannot be replayed.
  const replay = await ua1.navigate(interactionUrl);
  t.is(replay.status, 400);
  t.is(pageError(replay), ZH.sessionExpired);
});

test('ui_locales=en gives English pages, errors and consent', async (t) => {
  const person = await account();
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua, { ui_locales: 'en' });
  t.is(auth.page.status, 200);
  t.is(pageLang(auth.page), 'en');
  t.true(auth.page.html.includes('Sign in'));
  const register = await openRegisterPage(ua, auth.page);
  t.is(pageLang(register), 'en');
  t.true(register.html.includes('Real-name registration'));

  const pw = await ua.submit(auth.page, '/identifier', { identifier: person.id_number });
  t.is(pageLang(pw), 'en');
  const wrong = await ua.submit(pw, '/password', { password: WRONG }, REDIRECT_URI);
  t.is(wrong.status, 401);
  t.is(pageError(wrong), 'Wrong account or password.');
  const consent = await ua.submit(wrong, '/password', { password: PASSWORD }, REDIRECT_URI);
  if (!consent.url.startsWith(REDIRECT_URI)) {
    t.is(pageLang(consent), 'en');
    t.true(consent.html.includes('Allow'));
  }
  t.truthy((await redeem(env.rp, await throughConsent(ua, consent), auth)).claims()!.sub);

  // Another browser that asks for Chinese gets its session-expired page in Chinese.
  const expired = await new UserAgent().navigate(auth.page.url);
  t.is(expired.status, 400);
  t.is(pageLang(expired), 'zh-CN');
  t.is(pageError(expired), ZH.sessionExpired);
});

test('Accept-Language: en gives English pages; Chinese stays the default', async (t) => {
  const ua = new UserAgent();
  ua.acceptLanguage = 'en-US,en;q=0.9';
  const auth = await authorize(env.rp, ua);
  t.is(pageLang(auth.page), 'en');
  t.true(auth.page.html.includes('Sign in'));
  const bad = await ua.submit(auth.page, '/identifier', { identifier: 'nonsense' });
  t.is(bad.status, 400);
  t.is(pageError(bad), 'Enter a valid ID number or mobile number.');
  const expired = await (() => {
    const other = new UserAgent();
    other.acceptLanguage = 'en';
    return other.navigate(auth.page.url);
  })();
  t.is(expired.status, 400);
  t.is(pageLang(expired), 'en');
  t.is(pageError(expired), 'Your sign-in session has expired. Start again from the website you came from.');

  // ui_locales wins over Accept-Language.
  const ua2 = new UserAgent();
  ua2.acceptLanguage = 'en';
  const zh = await authorize(env.rp, ua2, { ui_locales: 'zh-CN' });
  t.is(pageLang(zh.page), 'zh-CN');

  // No preference at all: Simplified Chinese.
  const ua3 = new UserAgent();
  ua3.acceptLanguage = '';
  const plain = await authorize(env.rp, ua3);
  t.is(pageLang(plain.page), 'zh-CN');
  t.true(plain.page.html.includes('登录'));
});

// "Messages never reveal whether an account exists" (idp/interactions/login-routes.ts): asking
// for a login code twice within a minute gets 429 "获取验证码过于频繁" for a real account (its
// phone is rate-limited) but the 200 "sent" notice for an identifier without an account, every time.
test('asking for SMS codes gets the same answers whether or not the account exists', async (t) => {
  const person = await account();
  const answers = async (identifier: string) => {
    const { ua, page } = await passwordPageFor(identifier);
    const first = await ua.submit(page, '/otp/send', {});
    const second = await ua.submit(page, '/otp/send', {});
    // The seconds left to wait count from the first request, so they depend on when the second one
    // arrives (a real send takes a moment longer): compared without the number.
    const shown = (page: Page) => (pageError(page) ?? 'notice').replace(/\d+/g, 'N');
    return [first.status, shown(first), second.status, shown(second)];
  };
  const known = await answers(person.id_number);
  const unknown = await answers(unknownIdNumber());
  t.deepEqual(known, unknown, `known account ${JSON.stringify(known)} / no account ${JSON.stringify(unknown)}`);
});

// The same principle for the code itself: without a code requested, a real account gets
// "验证码已失效" (there is no code to compare with) and an unknown identifier "验证码错误".
test('a login code submitted without one requested gets the same answer whether or not the account exists', async (t) => {
  const person = await account();
  const answer = async (identifier: string) => {
    const { ua, page } = await passwordPageFor(identifier);
    const { action, hidden } = findForm(page.html, '/otp/send');
    const res = await ua.navigate(
      new URL(action.replace(/\/send$/, ''), page.url).toString(),
      { form: { ...hidden, otp: '123456' } },
      REDIRECT_URI,
    );
    return [res.status, pageError(res)];
  };
  const known = await answer(person.id_number);
  const unknown = await answer(unknownIdNumber());
  t.deepEqual(known, unknown, `known account ${JSON.stringify(known)} / no account ${JSON.stringify(unknown)}`);
});
