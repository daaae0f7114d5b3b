// The container image's HEALTHCHECK: is this container's entity serving? Asks /healthz on
// GOV_ID_PORT (where `gov-id serve` listens), on loopback, where entities listen.
const port = process.env.GOV_ID_PORT;
if (!port) {
  process.stderr.write('healthcheck: set GOV_ID_PORT to the port this container serves on\n');
  process.exit(1);
}
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
