/**
 * A scripted browser: keeps cookies per host (cookies ignore ports, as browsers do), follows
 * redirects within the OP and stops where the OP sends the browser away (the relying party's
 * redirect URI, or anywhere else off the OP), reads the forms of server-rendered pages and
 * submits them as a browser would. No scripts are run.
 */
import { decodeEntities, request, type HttpResponse } from './http.ts';

export interface Page {
  /** The URL shown, or the URL the browser was sent to off the OP (then status is the redirect's and html is empty). */
  url: string;
  status: number;
  html: string;
  /** True when the browser was sent off the OP to `url` (not followed). */
  left: boolean;
  /** Every request of the navigation, for evidence. */
  hops: HttpResponse[];
}

export interface FormInfo {
  action: string;
  method: string;
  hidden: Record<string, string>;
  inputs: string[];
}

interface Cookie {
  value: string;
  /** The origin whose response set it (sites on one host share cookies, but each knows its own). */
  origin: string;
}

export class Browser {
  private readonly jar = new Map<string, Map<string, Cookie>>();
  acceptLanguage = 'zh-CN';

  /**
   * @param stayOn origins the browser follows redirects within (the OP); a redirect elsewhere
   *   ends the navigation with `left: true`.
   */
  constructor(readonly stayOn: Set<string>) {}

  hasCookies(url: string): boolean {
    return (this.jar.get(new URL(url).hostname)?.size ?? 0) > 0;
  }

  private cookieHeader(url: URL): string {
    return [...(this.jar.get(url.hostname) ?? new Map<string, Cookie>()).entries()].map(([k, c]) => `${k}=${c.value}`).join('; ');
  }

  private store(url: URL, res: HttpResponse) {
    const jar = this.jar.get(url.hostname) ?? new Map<string, Cookie>();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      if (i < 1) continue;
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0\b/i.test(line)) jar.delete(name);
      else jar.set(name, { value, origin: url.origin });
    }
    this.jar.set(url.hostname, jar);
  }

  /**
   * Forgets the cookies the given origins set, keeping every other site's: what "clear site
   * data" does, as when a session there expires. Ports count here (unlike for sending cookies),
   * so that one site of a host shared with others (the demo) can be cleared alone.
   */
  forgetSites(origins: Set<string>): void {
    for (const jar of this.jar.values()) {
      for (const [name, cookie] of jar) if (origins.has(cookie.origin)) jar.delete(name);
    }
  }

  /** One request with this browser's cookies; no redirect following. */
  async request(
    url: string,
    init: { method?: string; form?: Record<string, string> | URLSearchParams; headers?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    const u = new URL(url);
    const cookie = this.cookieHeader(u);
    const res = await request(url, {
      ...init,
      headers: {
        accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
        'accept-language': this.acceptLanguage,
        ...(cookie ? { cookie } : {}),
        ...init.headers,
      },
    });
    this.store(u, res);
    return res;
  }

  /** Follows redirects while they stay on the OP; stops at the first one that leaves it. */
  async navigate(url: string, init: Parameters<Browser['request']>[1] = {}): Promise<Page> {
    const hops: HttpResponse[] = [];
    let res = await this.request(url, init);
    hops.push(res);
    let current = url;
    for (let n = 0; res.status >= 300 && res.status < 400 && res.location; n++) {
      if (n > 20) throw new Error(`too many redirects from ${url}`);
      const next = res.location.toString();
      if (!this.stayOn.has(res.location.origin)) return { url: next, status: res.status, html: '', left: true, hops };
      current = next;
      res = await this.request(current);
      hops.push(res);
    }
    return { url: current, status: res.status, html: res.text, left: false, hops };
  }

  /** Submits the form whose action ends with `actionSuffix`, with its hidden fields plus `fields`. */
  async submit(page: Page, actionSuffix: string, fields: Record<string, string>, opts: { omit?: string[] } = {}): Promise<Page> {
    const form = findForm(page.html, actionSuffix);
    if (!form) throw new Error(`no form with action ending in ${actionSuffix} on ${page.url}`);
    const data: Record<string, string> = { ...form.hidden, ...fields };
    for (const name of opts.omit ?? []) delete data[name];
    return this.navigate(new URL(form.action, page.url).toString(), { form: data });
  }
}

/** The forms of a page. */
export function forms(html: string): FormInfo[] {
  const out: FormInfo[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = m[1]!;
    const action = decodeEntities(/\baction="([^"]*)"/i.exec(attrs)?.[1] ?? '');
    const method = (/\bmethod="([^"]*)"/i.exec(attrs)?.[1] ?? 'get').toLowerCase();
    const hidden: Record<string, string> = {};
    const inputs: string[] = [];
    for (const [input] of m[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = /\bname="([^"]+)"/i.exec(input)?.[1];
      if (!name) continue;
      inputs.push(name);
      if (/\btype="hidden"/i.test(input)) hidden[name] = decodeEntities(/\bvalue="([^"]*)"/i.exec(input)?.[1] ?? '');
    }
    out.push({ action, method, hidden, inputs });
  }
  return out;
}

export function findForm(html: string, actionSuffix: string): FormInfo | null {
  return forms(html).find((f) => f.action.split('?')[0]!.endsWith(actionSuffix)) ?? null;
}

/** The first link whose target contains `fragment`. */
export function findLink(html: string, fragment: string): string | null {
  for (const m of html.matchAll(/<a\b[^>]*href="([^"]*)"/gi)) {
    const href = decodeEntities(m[1]!);
    if (href.includes(fragment)) return href;
  }
  return null;
}
