/** Calls to a services entity's cases API, as the story (and the tests) make them: JSON in, status and JSON out. */

export interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

export type CallOptions = { token?: string; body?: unknown; headers?: Record<string, string> };

export async function call(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, headers: res.headers, json };
}

/** Uploads a material (its bytes as they are, with their type). */
export async function upload(base: string, token: string, content: Buffer, type = 'application/pdf'): Promise<Reply> {
  const res = await fetch(`${base}/cases/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body: new Uint8Array(content),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

/** A small PDF: its first bytes are what the type check reads. */
export function pdf(text = 'material'): Buffer {
  return Buffer.from(`%PDF-1.4\n% ${text}\n%%EOF\n`);
}
