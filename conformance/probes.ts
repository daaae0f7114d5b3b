/**
 * Classifying what an OP did with a request it should refuse. A probe is sent from the test
 * user's logged-in browser, so an OP that accepts it answers with a code at once (or the login or
 * consent page), which is unambiguous evidence; an OP that refuses shows an error page (4xx) or
 * sends an error to the client's registered redirect URI.
 */
import type { Browser, Page } from './browser.ts';
import type { ClientConfig } from './context.ts';
import { pageAlert, pageErrorCode, shortUrl } from './http.ts';
import { pageKind } from './login-driver.ts';

/** Where the OP may send a browser with a refusal: a stand-in for an attacker's site. */
export const EVIL_ORIGIN = 'https://conformance-evil.example';
export const EVIL_URI = `${EVIL_ORIGIN}/steal`;

export type Verdict =
  /** refused: an error page of the OP (4xx) */
  | 'error-page'
  /** refused: an error sent to the registered redirect URI, no code */
  | 'error-redirect'
  /** accepted: a code was issued */
  | 'code'
  /** accepted: the OP asks the person to log in or consent (it would issue a code next) */
  | 'interaction'
  /** the browser was sent off the OP to somewhere that is not the registered redirect URI */
  | 'unregistered-redirect'
  | 'server-error'
  /** a 2xx/3xx page that is none of the above */
  | 'other';

export interface Probe {
  verdict: Verdict;
  page: Page;
  /** One line: `GET /auth?… → 400 page "…" (invalid_request)`. */
  evidence: string;
}

const RESPONSE_PARAMS = ['code', 'state', 'error', 'error_description', 'error_uri', 'iss', 'session_state'];

/** Whether `target` is the registered redirect URI once the authorization response parameters are taken off. */
export function isRegisteredTarget(target: URL, registered: string): boolean {
  const u = new URL(target);
  for (const p of RESPONSE_PARAMS) u.searchParams.delete(p);
  u.hash = '';
  const r = new URL(registered);
  return u.toString().replace(/\?$/, '') === r.toString().replace(/\?$/, '');
}

export function classify(page: Page, client: ClientConfig): Verdict {
  if (page.left) {
    const target = new URL(page.url);
    const params = new URLSearchParams(target.hash.slice(1));
    for (const [k, v] of target.searchParams) params.set(k, v);
    if (!isRegisteredTarget(target, client.redirectUri)) return 'unregistered-redirect';
    if (params.get('code')) return 'code';
    if (params.get('error')) return 'error-redirect';
    return 'other';
  }
  if (page.status >= 500) return 'server-error';
  if (page.status >= 400) return 'error-page';
  const kind = pageKind(page);
  if (kind === 'identifier' || kind === 'password' || kind === 'consent' || kind === 'register') return 'interaction';
  return 'other';
}

export function describePage(page: Page): string {
  if (page.left) return `→ ${shortUrl(page.url)}`;
  const alert = pageAlert(page.html);
  const code = pageErrorCode(page.html);
  return `→ ${page.status}${alert ? ` page "${alert.slice(0, 120)}"` : ''}${code ? ` (${code})` : ''}`;
}

/** The pages of a logout (see logOut in the login driver) in one line: the end-session request, then each confirmation. */
export function describeLogout(url: string | URL, pages: Page[]): string {
  return pages.map((p, i) => `${i === 0 ? `GET ${shortUrl(url)}` : 'confirm'} ${describePage(p)}`).join(', ');
}

/** Opens `url` in `browser` without logging in or consenting, and classifies the outcome. */
export async function probe(
  browser: Browser,
  url: string,
  client: ClientConfig,
  init: Parameters<Browser['navigate']>[1] = {},
): Promise<Probe> {
  const page = await browser.navigate(url, init);
  return { verdict: classify(page, client), page, evidence: `${init.form ? 'POST' : 'GET'} ${shortUrl(url)} ${describePage(page)}` };
}

export const REFUSED: ReadonlySet<Verdict> = new Set(['error-page', 'error-redirect']);

/** Whether the page links, posts or refreshes to `origin` (an open redirect one click away). */
export function linksTo(html: string, origin: string): boolean {
  const host = new URL(origin).host.replace(/\./g, '\\.');
  return (
    new RegExp(`(?:href|action|content|src)\\s*=\\s*["'][^"']*${host}`, 'i').test(html) ||
    new RegExp(`location(?:\\.href)?\\s*=\\s*["'][^"']*${host}`, 'i').test(html)
  );
}
