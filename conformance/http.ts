/**
 * Plain HTTP for the suite: every request has a timeout, never follows redirects, and is
 * described in one line for the evidence of a result (tokens and secrets shortened).
 */

export interface HttpResponse {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
  /** Where a redirect points (absolute), if the response is one. */
  location: URL | null;
  ms: number;
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded (a URLSearchParams keeps repeated parameters). */
  form?: Record<string, string> | URLSearchParams;
  body?: string;
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export class NetworkError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    cause: unknown,
  ) {
    super(
      `${method} ${shortUrl(url)}: no HTTP answer (${(cause as Error)?.cause ? String(((cause as Error).cause as Error).message ?? (cause as Error).cause) : ((cause as Error)?.message ?? String(cause))})`,
    );
    this.name = 'NetworkError';
  }
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpResponse> {
  const headers: Record<string, string> = { accept: 'application/json, text/html;q=0.9, */*;q=0.5', ...init.headers };
  let body = init.body;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = (init.form instanceof URLSearchParams ? init.form : new URLSearchParams(init.form)).toString();
  }
  const method = init.method ?? (body !== undefined ? 'POST' : 'GET');
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(init.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (err) {
    throw new NetworkError(method, url, err);
  }
  const text = await res.text().catch(() => '');
  const ms = Math.round(performance.now() - started);
  let json: unknown;
  if (/json/i.test(res.headers.get('content-type') ?? '') || /^\s*[{[]/.test(text)) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  const raw = res.headers.get('location');
  let location: URL | null = null;
  if (raw !== null) location = URL.parse(raw, url);
  return { method, url, status: res.status, headers: res.headers, text, json, location, ms };
}

export function basicAuth(clientId: string, secret: string): string {
  // RFC 6749 §2.3.1: both parts form-urlencoded before Base64.
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/** A URL shortened for evidence: long parameter values cut, secrets and tokens masked. */
export function shortUrl(url: string | URL): string {
  const u = URL.parse(String(url));
  if (!u) return String(url).slice(0, 200);
  const parts: string[] = [];
  for (const [k, v] of u.searchParams) parts.push(`${k}=${maskValue(k, v)}`);
  const query = parts.length ? `?${parts.join('&')}` : '';
  return `${u.origin}${u.pathname}${query}`.slice(0, 400);
}

const SECRET_NAMES =
  /^(code|code_verifier|access_token|refresh_token|id_token|id_token_hint|client_secret|client_assertion|password|token|csrf|xsrf|request_uri)$/;

function maskValue(name: string, value: string): string {
  if (value.length > 80) return `${value.slice(0, 12)}…(${value.length} chars)`;
  if (SECRET_NAMES.test(name) && value.length > 12) return `${value.slice(0, 8)}…`;
  return value;
}

/** A JSON body shortened for evidence, with token-like members masked. */
export function shortJson(value: unknown): string {
  if (value === undefined) return '';
  const text = JSON.stringify(value, (k, v) => (typeof v === 'string' && k ? maskValue(k, v) : v));
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** One line describing an exchange: `POST /token → 400 {"error":"invalid_grant"}`. */
export function describe(res: HttpResponse): string {
  let out = `${res.method} ${shortUrl(res.url)} → ${res.status}`;
  if (res.location) out += ` Location: ${shortUrl(res.location)}`;
  else if (res.json !== undefined) out += ` ${shortJson(res.json)}`;
  else {
    const alert = pageAlert(res.text);
    if (alert) out += ` page: "${alert.slice(0, 160)}"`;
  }
  return out;
}

const decodeEntities = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&#x2F;/gi, '/')
    .replace(/&amp;/g, '&');

/** The text of a page's error alert (role="alert" or class error), if any. */
export function pageAlert(html: string): string | null {
  const m = /<(p|div|span)[^>]*(?:role="alert"|class="(?:[^"]*\s)?(?:error|field-error|alert)(?:\s[^"]*)?")[^>]*>([\s\S]*?)<\/\1>/i.exec(
    html,
  );
  return m
    ? decodeEntities(m[2]!.replace(/<[^>]+>/g, ''))
        .replace(/\s+/g, ' ')
        .trim()
    : null;
}

/** The OAuth error code shown on an error page (oidc-provider and our pages show it). */
export function pageErrorCode(html: string): string | null {
  return /<p class="hint">([a-z_]+)<\/p>/.exec(html)?.[1] ?? /\berror\b[^a-z_]{1,20}([a-z]+_[a-z_]+)/.exec(html)?.[1] ?? null;
}

export { decodeEntities };
