/**
 * The request oidc-provider is serving now, from its own AsyncLocalStorage (`Provider.ctx`): the
 * scope of what one request may read once and reuse (the grant read with a refresh token, an
 * account asked about by several hooks). Undefined outside oidc-provider's requests (our own
 * routes, background work), where nothing is kept.
 */
import Provider from 'oidc-provider';

export function currentProviderRequest(): object | undefined {
  return (Provider as unknown as { ctx?: object }).ctx;
}

/**
 * Memory that lives as long as the request oidc-provider is serving: `of()` is this request's
 * value (made by `fresh` on first use), or undefined outside oidc-provider's requests.
 */
export class PerProviderRequest<T> {
  private readonly values = new WeakMap<object, T>();
  constructor(private readonly fresh: () => T) {}

  of(): T | undefined {
    const request = currentProviderRequest();
    if (!request) return undefined;
    let value = this.values.get(request);
    if (value === undefined) this.values.set(request, (value = this.fresh()));
    return value;
  }
}
