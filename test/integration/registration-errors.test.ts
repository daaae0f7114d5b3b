/**
 * Every bad input on the registration form gets its own error, in Simplified Chinese, with the
 * right HTTP status, and creates no account: afterwards the OP holds no account for the person,
 * and the same person registers correctly (same browser, same SMS code) right after.
 *
 * Budget: the OP allows 60 registrations and code requests per IP per hour and one SMS code per
 * phone per minute; every test uses its own person and sends at most one code per phone.
 */
import test, { type ExecutionContext } from 'ava';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { UserAgent, findForm, pageError, type Page } from '../helpers/user-agent.ts';
import {
  authorize,
  newPerson,
  passwordLogin,
  redeem,
  throughConsent,
  REDIRECT_URI,
  type Authorization,
  type Person,
} from '../helpers/flows.ts';
import { federationWithClient } from '../helpers/gd-fixture.ts';
import {
  accountExists,
  alertText,
  fieldError,
  fieldErrors,
  impossibleBirthDate,
  openRegisterPage,
  postRaw,
  registrationFields,
  sendRegisterOtp,
  submitRegistration,
  unknownIdNumber,
  wrongCheckDigit,
} from '../helpers/integration-extra.ts';

const PASSWORD = 'Register-ok1';

const ZH = {
  idFormat: '身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X。',
  idBirthDate: '身份证号码中的出生日期无效。',
  idCheckDigit: '身份证号码校验位错误，请核对。',
  personMismatch: '实名核验未通过：姓名与身份证号码不匹配，请核对。',
  phoneFormat: '请输入有效的 11 位中国大陆手机号码。',
  passwordLength: '密码长度应为 8 至 64 位。',
  passwordClasses: '密码须同时包含字母和数字。',
  passwordPersonal: '密码不能包含身份证号或手机号。',
  otpInvalid: '验证码错误。',
  otpExpired: '验证码已失效，请重新获取。',
  otpTooMany: '验证码错误次数过多，请重新获取。',
  idRegistered: '该身份证号已注册，请直接登录。',
  phoneRegistered: '该手机号已被其他账号绑定。',
  csrf: '页面已失效，请刷新后重试。',
  generic: '请求无法完成。',
};

const env = federationWithClient(['gd', 'registries'], 'gd');

interface Started {
  person: Person;
  ua: UserAgent;
  auth: Authorization;
  /** The registration page after the code was sent (its form carries csrf and lang). */
  page: Page;
  otp: string;
}

/** A fresh person in a fresh browser on the registration page, with an SMS code sent to their phone. */
async function start(): Promise<Started> {
  const person = await newPerson(env.fed);
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  const register = await openRegisterPage(ua, auth.page);
  const { page, otp } = await sendRegisterOtp(env.fed, ua, register, person.phone);
  return { person, ua, auth, page, otp };
}

/** The refused attempt is a registration page again (never a redirect onwards, never a 500). */
function assertRefusedOnForm(t: ExecutionContext, page: Page, status: number) {
  t.is(page.status, status, `status ${page.status}: ${pageError(page)}`);
  t.false(page.url.startsWith(REDIRECT_URI), 'no redirect to the client');
  t.true(page.html.includes('<html lang="zh-CN">'), 'the page is in Simplified Chinese');
  t.notThrows(() => findForm(page.html, '/register'), 'the registration form is shown again');
}

/** The person registers correctly now, in the same browser and interaction: nothing earlier was kept. */
async function registersAfterwards(t: ExecutionContext, s: Started, latestPage: Page) {
  t.false(await accountExists(env.fed, 'gd', s.person.id_number), 'no account for the ID number');
  t.false(await accountExists(env.fed, 'gd', s.person.phone), 'no account for the phone');
  const page = findFormOr(latestPage, s.page);
  const done = await throughConsent(s.ua, await submitRegistration(s.ua, page, registrationFields(s.person, s.otp, PASSWORD)));
  const tokens = await redeem(env.rp, done, s.auth);
  t.is(tokens.claims()!.name, s.person.name, 'the correct registration afterwards succeeds');
  t.true(await accountExists(env.fed, 'gd', s.person.id_number));
}

/** The refused page when it still has the form (with the same CSRF token), else the earlier form page. */
function findFormOr(page: Page, fallback: Page): Page {
  try {
    findForm(page.html, '/register');
    return page;
  } catch {
    return fallback;
  }
}

test('an ID number of the wrong length is refused with the format error', async (t) => {
  const s = await start();
  for (const id_number of [s.person.id_number.slice(0, 17), `${s.person.id_number}1`, '']) {
    const page = await submitRegistration(s.ua, s.page, { ...registrationFields(s.person, s.otp, PASSWORD), id_number });
    assertRefusedOnForm(t, page, 400);
    t.is(fieldError(page, 'id_number'), ZH.idFormat, `id_number "${id_number}"`);
    t.deepEqual(Object.keys(fieldErrors(page)), ['id_number'], 'only the ID number is wrong');
  }
  await registersAfterwards(t, s, s.page);
});

test('an ID number with a wrong check digit is refused with the check-digit error', async (t) => {
  const s = await start();
  const page = await submitRegistration(s.ua, s.page, {
    ...registrationFields(s.person, s.otp, PASSWORD),
    id_number: wrongCheckDigit(s.person.id_number),
  });
  assertRefusedOnForm(t, page, 400);
  t.is(fieldError(page, 'id_number'), ZH.idCheckDigit);
  await registersAfterwards(t, s, page);
});

test('an ID number with an impossible date of birth is refused with the birth-date error', async (t) => {
  const s = await start();
  const region = s.person.id_number.slice(0, 6);
  const serial = s.person.id_number.slice(14, 17);
  const nextYear = new Date().getUTCFullYear() + 1;
  // 30 February; before 1900; in the future. The birth date is checked before the check digit.
  for (const id_number of [impossibleBirthDate(s.person.id_number), `${region}18991231${serial}0`, `${region}${nextYear}0101${serial}0`]) {
    const page = await submitRegistration(s.ua, s.page, { ...registrationFields(s.person, s.otp, PASSWORD), id_number });
    assertRefusedOnForm(t, page, 400);
    t.is(fieldError(page, 'id_number'), ZH.idBirthDate, `id_number ${id_number}`);
  }
  await registersAfterwards(t, s, s.page);
});

test('a valid ID number the population registry does not hold fails the real-name check', async (t) => {
  const s = await start();
  const page = await submitRegistration(s.ua, s.page, { ...registrationFields(s.person, s.otp, PASSWORD), id_number: unknownIdNumber() });
  assertRefusedOnForm(t, page, 422);
  t.is(fieldError(page, 'name'), ZH.personMismatch);
  t.is(pageError(page), ZH.personMismatch);
  await registersAfterwards(t, s, page);
});

test('a name that does not match the ID number fails the real-name check', async (t) => {
  const s = await start();
  const other = s.person.name.startsWith('欧阳') ? '司马相如' : `欧阳${s.person.name.slice(1)}`;
  const page = await submitRegistration(s.ua, s.page, { ...registrationFields(s.person, s.otp, PASSWORD), name: other });
  assertRefusedOnForm(t, page, 422);
  t.is(fieldError(page, 'name'), ZH.personMismatch);
  await registersAfterwards(t, s, page);
});

test('a phone number that is not a mainland mobile number is refused', async (t) => {
  const s = await start();
  for (const phone of ['12345678901', '1380013800', '+1 650 555 0100', 'abc']) {
    const page = await submitRegistration(s.ua, s.page, { ...registrationFields(s.person, s.otp, PASSWORD), phone });
    assertRefusedOnForm(t, page, 400);
    t.is(fieldError(page, 'phone'), ZH.phoneFormat, `phone ${phone}`);
  }
  // Asking for a code for such a number is refused the same way, and sends nothing.
  const { action, hidden } = findForm(s.page.html, '/register');
  const noCode = await s.ua.navigate(new URL(`${action}/otp`, s.page.url).toString(), { form: { ...hidden, phone: '12345678901' } });
  t.is(noCode.status, 400);
  t.is(fieldError(noCode, 'phone'), ZH.phoneFormat);
  await registersAfterwards(t, s, s.page);
});

test('weak passwords are refused with the rule they break', async (t) => {
  const s = await start();
  const cases: [string, string][] = [
    ['Ab1', ZH.passwordLength],
    ['', ZH.passwordLength],
    [`Aa1${'x'.repeat(62)}`, ZH.passwordLength],
    ['abcdefghij', ZH.passwordClasses],
    ['1234567890', ZH.passwordClasses],
    [`Pw${s.person.id_number}`, ZH.passwordPersonal],
    [`x${s.person.phone}`, ZH.passwordPersonal],
  ];
  for (const [password, message] of cases) {
    const page = await submitRegistration(s.ua, s.page, registrationFields(s.person, s.otp, password));
    assertRefusedOnForm(t, page, 400);
    t.is(fieldError(page, 'password'), message, `password "${password}"`);
    t.false(page.html.includes(`value="${password}"`) && password.length > 0, 'the password is never echoed back');
  }
  await registersAfterwards(t, s, s.page);
});

test('a registration without the SMS code is refused', async (t) => {
  const s = await start();
  for (const otp of ['', '12345', 'abcdef']) {
    const page = await submitRegistration(s.ua, s.page, registrationFields(s.person, otp, PASSWORD));
    assertRefusedOnForm(t, page, 400);
    t.is(fieldError(page, 'otp'), ZH.otpInvalid, `otp "${otp}"`);
  }
  // Leaving the field out entirely is the same as leaving it empty.
  const { otp: _omitted, ...withoutOtp } = registrationFields(s.person, s.otp, PASSWORD);
  const page = await submitRegistration(s.ua, s.page, withoutOtp);
  assertRefusedOnForm(t, page, 400);
  t.is(fieldError(page, 'otp'), ZH.otpInvalid);
  await registersAfterwards(t, s, s.page);
});

test('a wrong SMS code is refused, and the right one still works afterwards', async (t) => {
  const s = await start();
  const wrong = String((Number(s.otp) + 1) % 1_000_000).padStart(6, '0');
  const page = await submitRegistration(s.ua, s.page, registrationFields(s.person, wrong, PASSWORD));
  assertRefusedOnForm(t, page, 400);
  t.is(fieldError(page, 'otp'), ZH.otpInvalid);
  await registersAfterwards(t, s, page);
});

test('five wrong SMS codes use the code up: then even the right one has expired', async (t) => {
  const s = await start();
  const wrong = String((Number(s.otp) + 1) % 1_000_000).padStart(6, '0');
  for (let i = 1; i <= 4; i++) {
    const page = await submitRegistration(s.ua, s.page, registrationFields(s.person, wrong, PASSWORD));
    assertRefusedOnForm(t, page, 400);
    t.is(fieldError(page, 'otp'), ZH.otpInvalid, `wrong code #${i}`);
  }
  const fifth = await submitRegistration(s.ua, s.page, registrationFields(s.person, wrong, PASSWORD));
  assertRefusedOnForm(t, fifth, 400);
  t.is(fieldError(fifth, 'otp'), ZH.otpTooMany);
  const right = await submitRegistration(s.ua, s.page, registrationFields(s.person, s.otp, PASSWORD));
  assertRefusedOnForm(t, right, 400);
  t.is(fieldError(right, 'otp'), ZH.otpExpired);
  t.false(await accountExists(env.fed, 'gd', s.person.id_number));
  // A password login with the ID number fails: there is no account.
  const ua = new UserAgent();
  const a = await authorize(env.rp, ua);
  const login = await passwordLogin(ua, a.page, s.person.id_number, PASSWORD);
  t.is(login.status, 401);
  t.false(login.url.startsWith(REDIRECT_URI));
});

test('a code used for a registration cannot register a second person with the same phone', async (t) => {
  const first = await start();
  const done = await throughConsent(
    first.ua,
    await submitRegistration(first.ua, first.page, registrationFields(first.person, first.otp, PASSWORD)),
  );
  t.truthy((await redeem(env.rp, done, first.auth)).claims()!.sub);

  // A second person, in another browser, tries the phone and the code the first one used.
  const second = await newPerson(env.fed);
  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  const register = await openRegisterPage(ua, auth.page);
  const page = await submitRegistration(ua, register, { ...registrationFields(second, first.otp, PASSWORD), phone: first.person.phone });
  assertRefusedOnForm(t, page, 409);
  t.is(fieldError(page, 'phone'), ZH.phoneRegistered);
  t.false(await accountExists(env.fed, 'gd', second.id_number), 'the second person got no account');

  // The second person registers with their own phone.
  const { page: withCode, otp } = await sendRegisterOtp(env.fed, ua, page, second.phone);
  const ok = await throughConsent(ua, await submitRegistration(ua, withCode, registrationFields(second, otp, PASSWORD)));
  t.is((await redeem(env.rp, ok, auth)).claims()!.name, second.name);
});

test('the same code submitted twice at once registers the person once', async (t) => {
  const s = await start();
  // A second browser, already on the registration page, gets the same code (e.g. a double submit from two tabs).
  const ua2 = new UserAgent();
  const auth2 = await authorize(env.rp, ua2);
  const page2 = await openRegisterPage(ua2, auth2.page);
  const [r1, r2] = await Promise.all([
    submitRegistration(s.ua, s.page, registrationFields(s.person, s.otp, PASSWORD)),
    submitRegistration(ua2, page2, registrationFields(s.person, s.otp, 'Another-pass2')),
  ]);
  const succeeded = (p: Page) => p.url.startsWith(REDIRECT_URI) || (p.status === 200 && new URL(p.url).pathname.endsWith('/consent'));
  const ok = [r1, r2].filter(succeeded);
  const refused = [r1, r2].filter((p) => !ok.includes(p));
  t.is(ok.length, 1, `exactly one registration succeeds: ${r1.status} ${r1.url} / ${r2.status} ${r2.url}`);
  t.is(refused.length, 1);
  const no = refused[0]!;
  t.true([400, 409].includes(no.status), `refused with ${no.status}`);
  const why = fieldError(no, 'otp') ?? fieldError(no, 'id_number') ?? fieldError(no, 'phone');
  t.true([ZH.otpExpired, ZH.idRegistered, ZH.phoneRegistered].includes(why ?? ''), `refusal: ${why}`);
  t.true(await accountExists(env.fed, 'gd', s.person.id_number));
});

test('an ID number registered already is refused in another browser with 409', async (t) => {
  const s = await start();
  const done = await throughConsent(s.ua, await submitRegistration(s.ua, s.page, registrationFields(s.person, s.otp, PASSWORD)));
  const sub = (await redeem(env.rp, done, s.auth)).claims()!.sub;

  const ua = new UserAgent();
  const auth = await authorize(env.rp, ua);
  const register = await openRegisterPage(ua, auth.page);
  const page = await submitRegistration(ua, register, registrationFields(s.person, '000000', 'Other-pass22'));
  assertRefusedOnForm(t, page, 409);
  t.is(fieldError(page, 'id_number'), ZH.idRegistered);
  t.true(fieldError(page, 'id_number')!.includes('已注册'));

  // Nothing was overwritten: the first password still logs in, as the same subject; the second does not.
  const uaA = new UserAgent();
  const aA = await authorize(env.rp, uaA);
  const bad = await passwordLogin(uaA, aA.page, s.person.id_number, 'Other-pass22');
  t.is(bad.status, 401);
  const uaB = new UserAgent();
  const aB = await authorize(env.rp, uaB);
  const good = await passwordLogin(uaB, aB.page, s.person.id_number, PASSWORD);
  t.is((await redeem(env.rp, good, aB)).claims()!.sub, sub);
});

test('a missing or wrong CSRF token gets the 403 page and registers nothing', async (t) => {
  const s = await start();
  const fields = registrationFields(s.person, s.otp, PASSWORD);
  const { hidden } = findForm(s.page.html, '/register');
  for (const [label, csrf] of [
    ['missing', undefined],
    ['empty', ''],
    ['wrong', 'x'.repeat(hidden.csrf!.length)],
    ['truncated', hidden.csrf!.slice(0, -1)],
  ] as const) {
    const page = await submitRegistration(s.ua, s.page, fields, { csrf });
    t.is(page.status, 403, `${label} token`);
    t.is(pageError(page), ZH.csrf, `${label} token`);
    t.false(page.url.startsWith(REDIRECT_URI));
  }
  // A token of another interaction (another browser's page) is wrong here too.
  const ua2 = new UserAgent();
  const other = await openRegisterPage(ua2, (await authorize(env.rp, ua2)).page);
  const foreign = await submitRegistration(s.ua, s.page, fields, { csrf: findForm(other.html, '/register').hidden.csrf });
  t.is(foreign.status, 403);
  t.is(pageError(foreign), ZH.csrf);
  await registersAfterwards(t, s, s.page);
});

function withoutName(params: URLSearchParams): string {
  const copy = new URLSearchParams(params);
  copy.delete('name');
  return copy.toString();
}

test('a repeated or structured form field is refused, never merged', async (t) => {
  const s = await start();
  const { hidden } = findForm(s.page.html, '/register');
  const base = new URLSearchParams({ ...hidden, ...registrationFields(s.person, s.otp, PASSWORD) });
  const variants: [string, string][] = [
    ['id_number twice', `${base}&id_number=${encodeURIComponent(s.person.id_number)}`],
    ['password twice', `${base}&password=Other-pass9`],
    ['csrf twice', `${base}&csrf=${encodeURIComponent(hidden.csrf!)}`],
    ['name as an object', `${withoutName(base)}&name%5Bx%5D=1`],
  ];
  for (const [label, body] of variants) {
    const page = await postRaw(s.ua, s.page, '/register', body);
    t.true(page.status === 400 || page.status === 403, `${label}: ${page.status}`);
    t.false(page.url.startsWith(REDIRECT_URI), label);
    t.true((alertText(page) ?? '').startsWith(ZH.generic), `${label}: ${alertText(page)}`);
    t.false(await accountExists(env.fed, 'gd', s.person.id_number), label);
  }
  await registersAfterwards(t, s, s.page);
});

/** POSTs `chunks` chunks of 8 kB with chunked transfer encoding on a connection of its own. */
function chunkedPost(url: URL, chunks: number): Promise<{ status?: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      },
    );
    // The server may stop reading and close the connection after refusing the body; that is fine as long as it is not a 500.
    req.on('error', () => resolve({ headers: {}, body: '' }));
    const chunk = `filler=${'b'.repeat(8 * 1024)}`;
    let i = 0;
    const write = () => {
      while (i < chunks) {
        i++;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

test('a form body over 16 kB gets 413, never a 500', async (t) => {
  const s = await start();
  const { action, hidden } = findForm(s.page.html, '/register');
  const fields = { ...hidden, ...registrationFields(s.person, s.otp, PASSWORD) };
  const big = new URLSearchParams({ ...fields, filler: 'a'.repeat(17 * 1024) }).toString();
  t.true(big.length > 16 * 1024);
  const page = await postRaw(s.ua, s.page, '/register', big);
  t.is(page.status, 413);
  t.true((alertText(page) ?? '').startsWith(ZH.generic), String(alertText(page)));
  t.false(page.html.includes('服务器内部错误'));

  // Much larger, and without a Content-Length (chunked): still 413. (On a connection of its own:
  // the server stops reading the refused body, so the connection is not reusable, see below.)
  const chunked = await chunkedPost(new URL(action, s.page.url), 40);
  t.true(chunked.status === undefined || chunked.status === 413, `chunked oversize body answered ${chunked.status}`);
  t.false(chunked.body.includes('服务器内部错误'));

  t.false(await accountExists(env.fed, 'gd', s.person.id_number));
  await registersAfterwards(t, s, s.page);
});

// The personal-data rule compares the password with the phone as typed, not as understood: the
// form accepts "+86…" or "138-0013-8000" for the phone, and then a password made of the phone
// digits passes (idp/interactions/registration-routes.ts passes the raw s.body.phone to passwordProblem).
test('a password containing the phone is refused however the phone was written', async (t) => {
  const person = await newPerson(env.fed);
  const ua = new UserAgent();
  const register = await openRegisterPage(ua, (await authorize(env.rp, ua)).page);
  const p = person.phone;
  for (const phone of [`+86${p}`, `${p.slice(0, 3)}-${p.slice(3, 7)}-${p.slice(7)}`, `${p.slice(0, 3)} ${p.slice(3, 7)} ${p.slice(7)}`]) {
    // No code was sent: whatever else happens, this registration cannot complete.
    const page = await submitRegistration(ua, register, { ...registrationFields(person, '000000', `Pw${p}`), phone });
    t.is(page.status, 400, phone);
    t.is(fieldError(page, 'password'), ZH.passwordPersonal, `phone written as "${phone}": ${JSON.stringify(fieldErrors(page))}`);
  }
  t.false(await accountExists(env.fed, 'gd', person.id_number));
});

// After refusing a body it did not read, the server must not promise to keep the connection: the
// 413 says "Connection: keep-alive", yet the rest of the body is never read, so a client that
// finishes its request and sends the next one on that connection hangs or gets a reset.
test('a refused oversize body ends with Connection: close (or the connection stays usable)', async (t) => {
  const u = new URL(env.fed.url('gd'));
  const result = await new Promise<{ head: string; second: boolean }>((resolve) => {
    const socket = connect(Number(u.port), u.hostname);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => undefined);
    const finish = () => {
      socket.destroy();
      const [first, ...rest] = data.split(/(?=HTTP\/1\.1 )/);
      resolve({ head: (first ?? '').split('\r\n\r\n')[0]!, second: rest.some((r) => r.startsWith('HTTP/1.1 200')) });
    };
    socket.on('close', finish);
    socket.write(
      'POST /interaction/none/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const chunk = 'b'.repeat(8192);
    const body = `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(40);
    socket.write(body + '0\r\n\r\nGET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    setTimeout(finish, 3000).unref();
  });
  t.regex(result.head, /^HTTP\/1\.1 413/);
  t.true(
    /\r\nConnection: close/i.test(result.head) || result.second,
    `413 head:\n${result.head}\nsecond request answered: ${result.second}`,
  );
});
