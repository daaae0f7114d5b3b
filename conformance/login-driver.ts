/**
 * Plays the person in front of the OP's pages: identifier → password, consent when asked, and
 * real-name registration (with the SMS code read from wherever the caller can read it). It speaks
 * the gov-id login forms (form actions ending in /identifier, /password, /consent, /register and
 * the fields identifier, password, csrf); another OP implementation needs a driver of its own.
 */
import { Browser, findForm, findLink, forms, type Page } from './browser.ts';
import { pageAlert } from './http.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface PersonToRegister {
  name: string;
  id_number: string;
  phone: string;
}

/** The login could not be completed; `page` is where it stopped. */
export class LoginError extends Error {
  constructor(
    message: string,
    readonly page: Page,
  ) {
    super(`${message} (at ${page.status} ${page.url.split('?')[0]}${pageAlert(page.html) ? `: "${pageAlert(page.html)}"` : ''})`);
    this.name = 'LoginError';
  }
}

export type PageKind = 'left' | 'password' | 'identifier' | 'consent' | 'register' | 'other';

/** Which of our pages this is (the password page comes first: the OTP page also has an /identifier form). */
export function pageKind(page: Page): PageKind {
  if (page.left) return 'left';
  if (findForm(page.html, '/password')) return 'password';
  if (findForm(page.html, '/consent')) return 'consent';
  if (findForm(page.html, '/register')) return 'register';
  if (findForm(page.html, '/identifier')) return 'identifier';
  return 'other';
}

/**
 * Completes whatever the OP asks (login with `user`, consent) until the browser is sent off the
 * OP (to the redirect URI). Throws LoginError when a step is refused or a page is not understood.
 */
export async function completeInteraction(browser: Browser, start: Page, user: Credentials | undefined): Promise<Page> {
  let page = start;
  let passwordTried = false;
  for (let step = 0; step < 8; step++) {
    const kind = pageKind(page);
    if (kind === 'left') return page;
    if (kind === 'identifier') {
      if (!user) throw new LoginError('the OP asks for a login and no test user was given (--username/--password or --register)', page);
      page = await browser.submit(page, '/identifier', { identifier: user.username });
    } else if (kind === 'password') {
      if (!user) throw new LoginError('the OP asks for a password and no test user was given', page);
      if (passwordTried) throw new LoginError('the password was refused', page);
      passwordTried = true;
      page = await browser.submit(page, '/password', {
        identifier: findForm(page.html, '/password')!.hidden.identifier ?? user.username,
        password: user.password,
      });
    } else if (kind === 'consent') {
      page = await browser.submit(page, '/consent', {});
    } else {
      throw new LoginError('a page the login driver does not know', page);
    }
  }
  throw new LoginError('the login did not finish in 8 steps', page);
}

/**
 * Registers a person through the OP's registration form from its login page, reading the SMS
 * code with `readCode`, then consents. Returns the page the browser ends on (off the OP).
 */
export async function registerThroughForms(
  browser: Browser,
  loginPage: Page,
  person: PersonToRegister,
  password: string,
  readCode: (phone: string) => Promise<string>,
): Promise<Page> {
  let page = loginPage;
  if (pageKind(page) !== 'register') {
    const href = findLink(page.html, '/register');
    if (!href) throw new LoginError('no link to the registration form on the login page', page);
    page = await browser.navigate(new URL(href, page.url).toString());
  }
  const form = findForm(page.html, '/register');
  if (!form) throw new LoginError('no registration form', page);
  const sent = await browser.navigate(new URL(`${form.action}/otp`, page.url).toString(), {
    form: { ...form.hidden, phone: person.phone },
  });
  if (sent.status !== 200) throw new LoginError('sending the registration code was refused', sent);
  const otp = await readCode(person.phone);
  const done = await browser.submit(sent, '/register', {
    name: person.name,
    id_number: person.id_number,
    phone: person.phone,
    otp,
    password,
  });
  if (!done.left && pageKind(done) === 'register') throw new LoginError('the registration was refused', done);
  return completeInteraction(browser, done, undefined);
}

/**
 * Opens an end-session URL and says yes to the confirmation page as a person would (its POST form
 * with `logout=yes`, which ends the whole session rather than one client's part of it). Returns
 * every page on the way: the first is the answer to the URL, the last where the logout ended.
 */
export async function logOut(browser: Browser, url: string): Promise<Page[]> {
  const pages = [await browser.navigate(url)];
  for (let i = 0; i < 2; i++) {
    const page = pages.at(-1)!;
    const form = page.left || page.status !== 200 ? undefined : forms(page.html).find((f) => f.method === 'post');
    if (!form) break;
    pages.push(await browser.navigate(new URL(form.action, page.url).toString(), { form: { ...form.hidden, logout: 'yes' } }));
  }
  return pages;
}
