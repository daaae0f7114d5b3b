/**
 * The demo federation lives on loopback over plain http. These helpers draw that line once:
 * http is accepted for loopback hosts only, everything else must be https.
 */
import { ConfigurationError } from './errors.ts';

export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopbackUrl(url: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(url).hostname);
}

/** True for an http URL on a loopback host (allowed without TLS); false for https; throws otherwise. */
export function insecureLoopback(url: string, field = 'opIssuer'): boolean {
  const parsed = new URL(url);
  if (parsed.protocol === 'https:') return false;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return true;
  throw new ConfigurationError(field, `${url}: an OP is reached over https (plain http only on a loopback address)`);
}
