/**
 * The last check before a fuzz request is sent: it must name no host outside the machine, so that
 * no server fetches anything elsewhere on the harness's behalf.
 */
import type { RawRequest } from './raw-http.ts';

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/i;

/**
 * The hosts of the absolute URLs a request names anywhere (percent-decoded up to twice), other
 * than `allowed` ones and loopback. `names` are URLs that are only names, never fetched (trust
 * mark types): exactly those are not looked at.
 */
export function foreignHosts(req: RawRequest, allowedHosts: ReadonlySet<string>, names: readonly string[] = []): string[] {
  let text = [req.target, ...req.headers.map(([k, v]) => `${k}: ${v}`), req.body?.toString('latin1') ?? ''].join('\n');
  for (const name of names) text = text.split(name).join('').split(encodeURIComponent(name)).join('');
  for (let i = 0; i < 2; i++) text += `\n${text.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))}`;
  const out = new Set<string>();
  // Anchored on the `://` itself: the text may be a long run of letters, which a scheme pattern would scan quadratically.
  for (const m of text.matchAll(/:(?:\\?\/){2}([^/?#\s"'<>\\&]*)/g)) {
    const authority = m[1]!.split('@').pop()!.toLowerCase();
    const host = (authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.split(':')[0]!).replace(
      /\.+$/,
      '',
    );
    if (host && !LOOPBACK_HOST.test(host) && !allowedHosts.has(host)) out.add(host);
  }
  return [...out];
}
