/**
 * The portal's caller of the services entity's ask, rate and my-space API (docs/voice.md), over
 * HTTP only, with the signed-in person's access token for that entity. A refusal of the API comes
 * back as a ServiceRefusal (status, error code, description); an API that cannot be reached or
 * answers nonsense as ServiceUnavailable.
 */

export class ServiceRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ServiceUnavailable extends Error {}

const TIMEOUT_MS = 10_000;

export type Json = Record<string, unknown>;

export class VoiceClient {
  constructor(private readonly baseUrl: string) {}

  /** `token`: the person's access token; null for the public figures. */
  async call<T = Json>(token: string | null, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ServiceUnavailable(`the services entity at ${this.baseUrl} cannot be reached: ${(err as Error).message}`);
    }
    const json = (await res.json().catch(() => null)) as Json | null;
    if (res.status >= 400 && res.status < 500)
      throw new ServiceRefusal(res.status, String(json?.error ?? 'invalid_request'), String(json?.error_description ?? ''));
    if (!res.ok || !json) throw new ServiceUnavailable(`the services entity answered ${res.status}`);
    return json as T;
  }
}
