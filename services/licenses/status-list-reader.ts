/**
 * The verifier's side of token status lists (draft-ietf-oauth-status-list §8): fetches the
 * issuer's `statuslist+jwt`, checks it (type, the issuer's key through its chain, subject = the
 * URI the licence names, issuer, expiry) and keeps the decoded list until its `ttl` (at most
 * MAX_CACHE_SECONDS) or its `exp`, whichever comes first: how long a revocation may go unseen.
 */
import { StatusList, type BitsPerStatus } from '@sd-jwt/jwt-status-list';
import { STATUS_LIST_TYP } from './license-format.ts';
import { isJwsAlgorithm, verifySignature, type PublicKeyCache } from './jws.ts';
import { LicenseCheckFailed } from './license-problems.ts';
import type { IssuerKeyLookup } from './issuer-keys.ts';

export const MAX_CACHE_SECONDS = 300;
const FETCH_TIMEOUT_MS = 5_000;
const MAX_TOKEN_BYTES = 256 * 1024;

interface Held {
  list: StatusList;
  until: number;
}

const invalid = (uri: string, why: string) => new LicenseCheckFailed('status_list_invalid', `the status list ${uri} ${why}`);
const unavailable = (uri: string, why: string) => new LicenseCheckFailed('status_list_unavailable', `the status list ${uri} ${why}`);

/** GETs a status list token: a timeout, no redirects, a size bound. */
async function fetchStatusList(uri: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(uri, {
      headers: { accept: 'application/statuslist+jwt' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    throw unavailable(uri, `cannot be fetched (${(err as Error).message})`);
  }
  if (!res.ok) throw unavailable(uri, `was answered with HTTP ${res.status}`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_TOKEN_BYTES) throw invalid(uri, 'is too large');
  const body = await res.text().catch((err: Error) => {
    throw unavailable(uri, `did not arrive completely (${err.message})`);
  });
  if (body.length > MAX_TOKEN_BYTES) throw invalid(uri, 'is too large');
  return body.trim();
}

export class StatusListReader {
  readonly #held = new Map<string, Held>();
  readonly #pending = new Map<string, Promise<Held>>();

  constructor(
    private readonly o: {
      issuerKey: IssuerKeyLookup;
      keys: PublicKeyCache;
    },
  ) {}

  /** The status value of slot `idx` of the list at `uri`, which `issuer` must have signed. */
  async status(issuer: string, uri: string, idx: number): Promise<number> {
    const key = `${issuer}\n${uri}`;
    let held = this.#held.get(key);
    if (!held || held.until <= Date.now()) {
      let pending = this.#pending.get(key);
      if (!pending) {
        pending = this.#load(issuer, uri).finally(() => this.#pending.delete(key));
        this.#pending.set(key, pending);
      }
      held = await pending;
      this.#held.set(key, held);
    }
    if (idx >= held.list.statusList.length) throw invalid(uri, `has no slot ${idx}`);
    return held.list.getStatus(idx);
  }

  /** Drops what is held of a list (its issuer changed a status here, in this process). */
  forget(issuer: string, uri: string): void {
    this.#held.delete(`${issuer}\n${uri}`);
  }

  async #load(issuer: string, uri: string): Promise<Held> {
    const token = await fetchStatusList(uri);
    const parts = token.split('.');
    if (parts.length !== 3) throw invalid(uri, 'is not a compact JWT');
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw invalid(uri, 'is not a JWT');
    }
    if (header.typ !== STATUS_LIST_TYP) throw invalid(uri, `has typ ${String(header.typ)}, not ${STATUS_LIST_TYP}`);
    if (!isJwsAlgorithm(header.alg) || typeof header.kid !== 'string') throw invalid(uri, 'names no accepted alg and kid');
    const answer = await this.o.issuerKey(issuer, header.kid);
    if (!answer.ok) {
      if (answer.problem === 'unreachable') throw unavailable(uri, `cannot be checked: ${answer.detail}`);
      throw invalid(uri, `is not signed with a key of ${issuer}'s trust chain: ${answer.detail}`);
    }
    if (!verifySignature(header.alg, this.o.keys.get(answer.key), `${parts[0]}.${parts[1]}`, parts[2]!))
      throw invalid(uri, 'has a signature that does not verify');
    if (payload.sub !== uri) throw invalid(uri, `is about ${String(payload.sub)}`);
    if (payload.iss !== issuer) throw invalid(uri, `was issued by ${String(payload.iss)}, not ${issuer}`);
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number') throw invalid(uri, 'has no iat');
    if (typeof payload.exp === 'number' && payload.exp <= now) throw invalid(uri, 'has expired');
    const body = payload.status_list as { bits?: unknown; lst?: unknown } | undefined;
    if (![1, 2, 4, 8].includes(body?.bits as number) || typeof body?.lst !== 'string') throw invalid(uri, 'has no valid status_list');
    let list: StatusList;
    try {
      list = StatusList.decompressStatusList(body.lst, body.bits as BitsPerStatus);
    } catch {
      throw invalid(uri, 'has a status_list that does not decompress');
    }
    const ttl = typeof payload.ttl === 'number' && payload.ttl > 0 ? Math.min(payload.ttl, MAX_CACHE_SECONDS) : MAX_CACHE_SECONDS;
    const until = Math.min(Date.now() + ttl * 1000, typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity);
    return { list, until };
  }
}
