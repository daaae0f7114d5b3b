/**
 * One HTTP/1.1 request written byte for byte on its own connection: the fuzz harness must send
 * what fetch() refuses to (CRLF and NUL in headers, invalid UTF-8 in the request line, unknown
 * methods, duplicated headers). A request with no answer within the limit is a hang: an
 * AbortController destroys the socket.
 */
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** Path and query exactly as written on the request line. */
  target: string;
  /** Written as given, in order; a name may repeat and a value may hold any byte. */
  headers: [string, string][];
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

export type Outcome =
  | { kind: 'response'; response: RawResponse; ms: number }
  | { kind: 'hang'; ms: number }
  /** The connection ended or failed before a status line: the server dropped the request. */
  | { kind: 'no-response'; error: string; ms: number };

export function encodeRequest(host: string, req: RawRequest): Buffer {
  const lines = [
    `${req.method} ${req.target} HTTP/1.1`,
    `Host: ${host}`,
    ...req.headers.map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
  ];
  if (req.body !== undefined) lines.push(`Content-Length: ${req.body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), req.body ?? Buffer.alloc(0)]);
}

/** Headers and body of a complete response in `data`, or null while more is expected. */
function parseResponse(data: Buffer, method: string, ended: boolean): RawResponse | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!status) return null;
  const headers = lines.map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as [string, string];
  });
  const header = (name: string) => headers.find(([k]) => k === name)?.[1];
  const rest = data.subarray(end + 4);
  if (method === 'HEAD' || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
  const length = header('content-length');
  if (length !== undefined)
    return rest.length >= Number(length)
      ? { status, headers, body: rest.subarray(0, Number(length)) }
      : ended
        ? { status, headers, body: rest }
        : null;
  if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd < 0) return ended ? { status, headers, body: Buffer.concat(chunks) } : null;
      const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(chunks) };
      if (rest.length < lineEnd + 2 + size + 2) return ended ? { status, headers, body: Buffer.concat(chunks) } : null;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  return ended ? { status, headers, body: rest } : null;
}

export function sendRaw(origin: URL, req: RawRequest, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  return new Promise<Outcome>((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const answered = (ended: boolean) => {
      const response = parseResponse(Buffer.concat(chunks), req.method, ended);
      if (response) settle({ kind: 'response', response, ms: ms() });
      return response !== null;
    };
    const socket = connect({ host: origin.hostname, port: Number(origin.port || 80), signal: abort.signal });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      answered(false);
    });
    socket.on('end', () => answered(true) || settle({ kind: 'no-response', error: 'connection closed without a response', ms: ms() }));
    socket.on('error', (err) => {
      if (abort.signal.aborted) return settle({ kind: 'hang', ms: ms() });
      // A reset after the answer (the server closed while the body was still being written) is no failure.
      if (!answered(true)) settle({ kind: 'no-response', error: (err as NodeJS.ErrnoException).code ?? err.message, ms: ms() });
    });
    socket.on('close', () => answered(true) || settle({ kind: 'no-response', error: 'connection closed without a response', ms: ms() }));
    socket.write(encodeRequest(origin.host, req));
  });
}
