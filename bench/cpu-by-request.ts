/**
 * Where a flow's server CPU goes, request by request: the flow runs alone (nothing else asks the
 * server), and every request this process sends to the server is preceded by a reading of the
 * server's CPU time, so the CPU between the start of one request and the start of the next (the
 * last: the end of the flow) is that request's. The readings cost the server a little CPU of their
 * own (an IPC message): measured first and taken off each request.
 */
import type { FederationProcess } from './federation-process.ts';

/** A request as the figures name it: method and path, the long IDs in it shown as :id. */
const requestLabel = (method: string, url: URL) => `${method} ${url.pathname.replace(/\/[A-Za-z0-9_-]{16,}(?=\/|$)/g, '/:id')}`;

/** Median server CPU per request of `flow`, in the order the requests came, over `runs` runs of it. */
export async function serverCpuByRequest(
  server: FederationProcess,
  origin: string,
  runs: number,
  flow: () => Promise<void>,
): Promise<{ request: string; cpuMs: number }[]> {
  // What one reading costs the server.
  const readings = 50;
  const r0 = await server.cpuMs();
  for (let i = 0; i < readings; i++) await server.cpuMs();
  const perReading = ((await server.cpuMs()) - r0) / (readings + 1);

  const byRequest = new Map<string, number[]>();
  const realFetch = globalThis.fetch;
  let open: { label: string; cpu: number } | null = null;
  const close = (cpu: number) => {
    if (!open) return;
    const list = byRequest.get(open.label) ?? [];
    list.push(cpu - open.cpu - perReading);
    byRequest.set(open.label, list);
    open = null;
  };
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin === origin) {
      const cpu = await server.cpuMs();
      close(cpu);
      open = { label: requestLabel(request.method, url), cpu };
    }
    return realFetch(request);
  };
  try {
    for (let i = 0; i < runs; i++) {
      await flow();
      close(await server.cpuMs());
    }
  } finally {
    globalThis.fetch = realFetch;
  }
  return [...byRequest].map(([request, cpus]) => ({ request, cpuMs: cpus.sort((a, b) => a - b)[Math.floor(cpus.length / 2)]! }));
}
