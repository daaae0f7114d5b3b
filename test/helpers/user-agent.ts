/**
 * A scripted browser for integration tests: keeps cookies per host, follows redirects, reads the
 * forms of our server-rendered pages and submits them as a browser would. The OIDC side of every
 * flow is openid-client; this only plays the person in front of the pages.
 */
export interface Page {
  url: string;
  status: number;
  html: string;
}

export class UserAgent {
  private readonly jar = new Map<string, Map<string, string>>();
  acceptLanguage = 'zh-CN';

  private cookieHeader(url: URL): string {
    return [...(this.jar.get(url.hostname) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private store(url: URL, res: Response) {
    const jar = this.jar.get(url.hostname) ?? new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.jar.set(url.hostname, jar);
  }

  /** One request, no redirect following. */
  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const u = new URL(url);
    const headers: Record<string, string> = { cookie: this.cookieHeader(u), 'accept-language': this.acceptLanguage, ...init.headers };
    let body: string | undefined = init.body;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(u, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.store(u, res);
    return res;
  }

  /**
   * Follows redirects until a page is shown, or until the next location starts with `stopAt`
   * (the relying party's redirect URI, which the test hands to openid-client instead).
   */
  async navigate(url: string, init: Parameters<UserAgent['request']>[1] = {}, stopAt?: string): Promise<Page> {
    let res = await this.request(url, init);
    let current = url;
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      if (hops > 20) throw new Error('too many redirects');
      const next = new URL(res.headers.get('location')!, current).toString();
      if (stopAt && next.startsWith(stopAt)) return { url: next, status: res.status, html: '' };
      current = next;
      res = await this.request(current);
    }
    const html = await res.text();
    // oidc-provider's self-submitting forms (ending the previous session on an account switch): a browser runs the script.
    const auto = /document\.forms\[0\]\.submit\(\)[\s\S]*?<form method="post" action="([^"]+)"/.exec(html);
    if (auto) {
      const { hidden } = findForm(html, new URL(decode(auto[1]!)).pathname);
      return this.navigate(decode(auto[1]!), { form: hidden }, stopAt);
    }
    return { url: current, status: res.status, html };
  }

  /** Submits the form whose action ends with `actionSuffix`, with its hidden fields plus `fields`. */
  async submit(page: Page, actionSuffix: string, fields: Record<string, string>, stopAt?: string): Promise<Page> {
    const { action, hidden } = findForm(page.html, actionSuffix);
    const target = new URL(action, page.url);
    // As Chromium does under our Referrer-Policy no-referrer: Origin null, and whether the form was on the same origin.
    const headers = { origin: 'null', 'sec-fetch-site': target.origin === new URL(page.url).origin ? 'same-origin' : 'cross-site' };
    return this.navigate(target.toString(), { form: { ...hidden, ...fields }, headers }, stopAt);
  }
}

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

export function findForm(html: string, actionSuffix: string): { action: string; hidden: Record<string, string> } {
  for (const m of html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)) {
    const action = decode(m[1]!);
    if (!action.split('?')[0]!.endsWith(actionSuffix)) continue;
    const hidden: Record<string, string> = {};
    for (const [input] of m[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(input)?.[1];
      if (name) hidden[name] = decode(/value="([^"]*)"/.exec(input)?.[1] ?? '');
    }
    return { action, hidden };
  }
  throw new Error(`no form with action ending in ${actionSuffix} on the page:\n${html.slice(0, 2000)}`);
}

/** The text of the page's error alert, if any. */
export function pageError(page: Page): string | null {
  const m = /<p class="(?:error|field-error)"[^>]*>([^<]*)<\/p>/.exec(page.html);
  return m ? decode(m[1]!) : null;
}
