/**
 * More building blocks for the integration tests: the registration form driven field by field,
 * accounts created directly (so that a login test does not spend the phone's one SMS code per
 * minute on registering), ID numbers that are valid but unknown, and the CLI itself as a child
 * process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt } from 'node:crypto';
import { idNumberCheckDigit } from '../../infra/identifiers.ts';
import { NaturalPersonAccounts, type NaturalPerson } from '../../idp/accounts/natural-person-accounts.ts';
import { hashPassword } from '../../idp/accounts/password.ts';
import type { TestFederation } from './test-federation.ts';
import { findForm, type Page, type UserAgent } from './user-agent.ts';
import { latestOtp, newPerson, REDIRECT_URI, type Person } from './flows.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

/** The error text tied to one form field (`<p class="field-error" id="FIELD-error">`), if any. */
export function fieldError(page: Page, field: string): string | null {
  const m = new RegExp(`<p class="field-error" id="${field}-error">([^<]*)</p>`).exec(page.html);
  return m ? decode(m[1]!) : null;
}

/** Every field error on the page, by field name. */
export function fieldErrors(page: Page): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of page.html.matchAll(/<p class="field-error" id="([a-z_]+)-error">([^<]*)<\/p>/g)) out[m[1]!] = decode(m[2]!);
  return out;
}

/** The `<p class="error">` alert text only (not field errors). */
export function alertText(page: Page): string | null {
  const m = /<p class="error"[^>]*>([^<]*)<\/p>/.exec(page.html);
  return m ? decode(m[1]!) : null;
}

/** The `lang` attribute of the page's `<html>` element. */
export function pageLang(page: Page): string | null {
  return /<html lang="([^"]+)"/.exec(page.html)?.[1] ?? null;
}

/** Opens the registration page from the login page. */
export async function openRegisterPage(ua: UserAgent, loginPage: Page): Promise<Page> {
  const href = /href="([^"]*\/register[^"]*)"/.exec(loginPage.html)?.[1];
  if (!href) throw new Error(`no registration link on the page:\n${loginPage.html.slice(0, 1500)}`);
  return ua.navigate(new URL(decode(href), loginPage.url).toString());
}

/** Presses 获取验证码 for a phone on the registration page; returns the page and the code sent. */
export async function sendRegisterOtp(
  fed: TestFederation,
  ua: UserAgent,
  registerPage: Page,
  phone: string,
): Promise<{ page: Page; otp: string }> {
  const { action, hidden } = findForm(registerPage.html, '/register');
  const page = await ua.navigate(new URL(`${action}/otp`, registerPage.url).toString(), { form: { ...hidden, phone } });
  if (page.status !== 200) throw new Error(`sending the code failed: ${page.status}\n${page.html.slice(0, 1500)}`);
  return { page, otp: await latestOtp(fed, phone) };
}

export interface RegistrationFields {
  name: string;
  id_number: string;
  phone: string;
  otp: string;
  password: string;
}

export function registrationFields(person: Person, otp: string, password: string): RegistrationFields {
  return { name: person.name, id_number: person.id_number, phone: person.phone, otp, password };
}

/**
 * Submits the registration form with the page's hidden fields (csrf, lang) and `fields`; stops at
 * the client's redirect URI. `hiddenOverride` replaces (or, with undefined values, drops) hidden fields.
 */
export async function submitRegistration(
  ua: UserAgent,
  page: Page,
  fields: Partial<RegistrationFields>,
  hiddenOverride: Record<string, string | undefined> = {},
): Promise<Page> {
  const { action, hidden } = findForm(page.html, '/register');
  const form: Record<string, string> = { ...hidden, ...fields } as Record<string, string>;
  for (const [k, v] of Object.entries(hiddenOverride)) {
    if (v === undefined) delete form[k];
    else form[k] = v;
  }
  return ua.navigate(new URL(action, page.url).toString(), { form }, REDIRECT_URI);
}

/** Submits a raw body to the form with the given action (for repeated fields, oversize bodies). */
export async function postRaw(ua: UserAgent, page: Page, actionSuffix: string, body: string): Promise<Page> {
  const { action } = findForm(page.html, actionSuffix);
  return ua.navigate(
    new URL(action, page.url).toString(),
    { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    REDIRECT_URI,
  );
}

/** A valid resident ID number (region, birth date, check digit) that the population registry does not hold. */
export function unknownIdNumber(): string {
  const year = 1950 + randomInt(50);
  const first17 = `110108${year}${String(1 + randomInt(12)).padStart(2, '0')}${String(1 + randomInt(28)).padStart(2, '0')}${String(randomInt(1000)).padStart(3, '0')}`;
  return first17 + idNumberCheckDigit(first17);
}

/** The same ID number with a wrong check digit. */
export function wrongCheckDigit(idNumber: string): string {
  const right = idNumberCheckDigit(idNumber.slice(0, 17));
  const wrong = right === '0' ? '1' : '0';
  return idNumber.slice(0, 17) + wrong;
}

/** An ID number with a date of birth that does not exist (30 February) but a correct check digit. */
export function impossibleBirthDate(idNumber: string): string {
  const first17 = `${idNumber.slice(0, 6)}19990230${idNumber.slice(14, 17)}`;
  return first17 + idNumberCheckDigit(first17);
}

/** The accounts of an OP, straight from its database (for setting up and checking, never for the flow itself). */
export function accountsOf(fed: TestFederation, op: string): NaturalPersonAccounts {
  const hosted = fed.host.entities.find((e) => e.entity.id === op);
  if (!hosted) throw new Error(`${op} is not hosted by this test federation`);
  const { db, cipher, blindIndex } = hosted.runtime;
  return new NaturalPersonAccounts(db, cipher, blindIndex);
}

/** Creates an account as a successful registration would, without the SMS code it costs. */
/** A new person of the population registry with an account at `op`, created directly. */
export async function seededPerson(fed: TestFederation, op: string, password: string): Promise<Person> {
  const person = await newPerson(fed);
  await seedAccount(fed, op, person, password);
  return person;
}

export async function seedAccount(fed: TestFederation, op: string, person: Person, password: string): Promise<NaturalPerson> {
  return accountsOf(fed, op).register(
    { name: person.name, idNumber: person.id_number, phone: person.phone, passwordHash: await hashPassword(password), loa: 'loa1' },
    null,
  );
}

/** Whether an account with this ID number (or phone) exists at the OP. */
export async function accountExists(fed: TestFederation, op: string, identifier: string): Promise<boolean> {
  const accounts = accountsOf(fed, op);
  const index = accounts.identifierIndex(identifier);
  return index ? (await accounts.findByIdentifierIndex(index)) !== null : false;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `gov-id ARGS` in the project folder with this process's environment: the CLI's sources
 * through tsx on this process's Node, as every other test runs the sources (whether the bin picks
 * the compiled copy is test/unit/compiled-cli.test.ts's; npx and npm run are cli-usage's).
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runInProject(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'cli', 'main.ts'), ...args], env);
}

/** Runs a program in the project folder with this process's environment, to its end. */
export function runInProject(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
      resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
