/**
 * What the end-to-end tests share: Debian's Chromium through playwright-core (skipped where it
 * is not installed), a real callback endpoint for relying parties (Chromium refuses port 9), the
 * start of an authorization request with PAR, and a person filling in the real-name registration
 * form by its labels.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { latestOtp, oidc, type Person, type RelyingParty } from './flows.ts';
import { startTestFederation, type TestFederation } from './test-federation.ts';

const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const browserTest = hasChromium ? test : test.skip;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

/** A page the browser lands on at the relying party's redirect URI. */
export async function callbackEndpoint(): Promise<{ url: string; close(): void }> {
  const server = createServer((_req, res) => res.end('<!DOCTYPE html><title>portal</title><p>signed in</p>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/callback`, close: () => server.close() };
}

export interface BrowserFederation {
  fed: TestFederation;
  browser: Browser;
  /** The relying parties' redirect URI. */
  callbackUrl: string;
}

/**
 * The demo federation (or the given entities), Chromium and a callback endpoint for the tests of
 * one file: started before them, closed after them. Nothing starts where Chromium is missing.
 */
export function browserFederation(ids?: string[]): BrowserFederation {
  const env = {} as BrowserFederation;
  let callback: { close(): void } | undefined;
  test.before(async () => {
    if (!hasChromium) return;
    env.fed = await startTestFederation(ids);
    env.browser = await launchChromium();
    const endpoint = await callbackEndpoint();
    callback = endpoint;
    env.callbackUrl = endpoint.url;
  });
  test.after.always(async () => {
    await env.browser?.close();
    callback?.close();
    await env.fed?.close();
  });
  return env;
}

export interface Started {
  url: string;
  verifier: string;
  state: string;
  nonce: string;
}

export async function startAuthorization(rp: RelyingParty, redirectUri: string, scope = 'openid profile'): Promise<Started> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(rp.config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url: url.toString(), verifier, state, nonce };
}

export function redeemAt(rp: RelyingParty, page: Page, a: Started) {
  return oidc.authorizationCodeGrant(rp.config, new URL(page.url()), {
    pkceCodeVerifier: a.verifier,
    expectedState: a.state,
    expectedNonce: a.nonce,
    idTokenExpected: true,
  });
}

/** On the registration page: the identity, a code sent to the phone (read from the demo outbox). The password and the submit are the caller's. */
export async function fillRegistration(page: Page, fed: TestFederation, person: Person): Promise<void> {
  await page.getByLabel('姓名').fill(person.name);
  await page.getByLabel('居民身份证号码').fill(person.id_number);
  await page.getByLabel('手机号码').fill(person.phone);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await page.getByRole('status').waitFor();
  await page.getByLabel('短信验证码').fill(await latestOtp(fed, person.phone));
}
