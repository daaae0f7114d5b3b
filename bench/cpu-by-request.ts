/**
 * Where a flow's server CPU goes, request by request: the flow runs alone (nothing else asks the
 * server), and every request this process sends to the server is preceded by a reading of the
 * server's CPU time and storage operations, so the CPU and operations between the start of one
 * request and the start of the next (the last: the end of the flow) are that request's. The
 * readings cost the server a little CPU of their own (IPC messages): measured first and taken off
 * each request.
 */
import type { FederationProcess } from './federation-process.ts';

/** A request as the figures name it: method and path, the long IDs in it shown as :id. */
const requestLabel = (method: string, url: URL) => `${method} ${url.pathname.replace(/\/[A-Za-z0-9_-]{16,}(?=\/|$)/g, '/:id')}`;

/** One request's share: server CPU (ms), SQL statements and key-value operations. */
interface Share {
  cpuMs: number;
  sql: number;
  kv: number;
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median server CPU and storage operations per request of `flow`, in the order the requests came, over `runs` runs of it. */
export async function serverCpuByRequest(
  server: FederationProcess,
  origin: string,
  runs: number,
  flow: () => Promise<void>,
): Promise<({ request: string } & Share)[]> {
  const reading = async (): Promise<Share> => {
    const cpuMs = await server.cpuMs();
    const { sql, kv } = await server.storeUse();
    return { cpuMs, sql, kv };
  };
  // What one reading costs the server.
  const readings = 50;
  const r0 = await reading();
  for (let i = 0; i < readings; i++) await reading();
  const perReading = ((await reading()).cpuMs - r0.cpuMs) / (readings + 1);

  const byRequest = new Map<string, Share[]>();
  const realFetch = globalThis.fetch;
  let open: ({ label: string } & Share) | null = null;
  const close = (now: Share) => {
    if (!open) return;
    const list = byRequest.get(open.label) ?? [];
    list.push({ cpuMs: now.cpuMs - open.cpuMs - perReading, sql: now.sql - open.sql, kv: now.kv - open.kv });
    byRequest.set(open.label, list);
    open = null;
  };
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin === origin) {
      const now = await reading();
      close(now);
      open = { label: requestLabel(request.method, url), ...now };
    }
    return realFetch(request);
  };
  try {
    for (let i = 0; i < runs; i++) {
      await flow();
      close(await reading());
    }
  } finally {
    globalThis.fetch = realFetch;
  }
  return [...byRequest].map(([request, shares]) => ({
    request,
    cpuMs: median(shares.map((s) => s.cpuMs)),
    sql: median(shares.map((s) => s.sql)),
    kv: median(shares.map((s) => s.kv)),
  }));
}
