/**
 * The portal's client of its platform's e-license API (docs/licenses.md, "HTTP API"), over HTTP
 * only: verification (public), the licence types, and — with the signed-in person's access token —
 * their licences and presentations. A refusal comes back as LicenseRefusal (status, code, reason);
 * an API that cannot be reached or answers nonsense as LicenseServiceUnavailable.
 */

type Label = { 'zh-CN': string; en: string };

export interface LicenseTypeInfo {
  code: string;
  name: Label;
  claims: Record<string, Label>;
}

export interface LicenseSummary {
  id: string;
  type: string;
  type_name: Label;
  state: 'valid' | 'suspended' | 'revoked';
  expired: boolean;
  issued_at: string;
  valid_from: string;
  valid_until: string | null;
}

export interface HeldLicenses {
  holder: { kind: 'natural' | 'legal'; name: string };
  licenses: LicenseSummary[];
  elsewhere: { platform: string; type: string }[] | null;
}

export interface HeldLicense {
  license: LicenseSummary;
  credential: string;
  jws: string;
  claims: Record<string, unknown>;
}

/** What the verifier answered: a valid licence, or the problem (code and check). */
export type VerifyAnswer =
  | {
      valid: true;
      license: {
        id: string;
        form: 'jws' | 'sd-jwt';
        issuer: string;
        type: string;
        type_name: Label;
        holder: { kind: 'natural' | 'legal'; subject: string };
        valid_from: string;
        valid_until: string | null;
        disclosed: Record<string, unknown>;
        undisclosed: number;
        key_binding: { audience: string; nonce: string } | null;
        signed_with: { kid: string; retired: boolean };
      };
    }
  | { valid: false; error: string; check: string; error_description: string };

export class LicenseRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class LicenseServiceUnavailable extends Error {}

const TIMEOUT_MS = 15_000;

export class LicenseClient {
  #types: Promise<LicenseTypeInfo[]> | null = null;

  constructor(private readonly baseUrl: string) {}

  private async call(method: 'GET' | 'POST', path: string, opts: { token?: string; body?: unknown } = {}) {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          accept: 'application/json',
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new LicenseServiceUnavailable(`the e-license API at ${this.baseUrl} cannot be reached: ${(err as Error).message}`);
    }
    const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!json) throw new LicenseServiceUnavailable(`the e-license API answered ${res.status} without JSON`);
    return { status: res.status, json };
  }

  private async expect<T>(method: 'GET' | 'POST', path: string, opts: { token?: string; body?: unknown }): Promise<T> {
    const { status, json } = await this.call(method, path, opts);
    if (status >= 400 && status < 500)
      throw new LicenseRefusal(status, String(json.error ?? 'invalid_request'), String(json.error_description ?? ''));
    if (status >= 300) throw new LicenseServiceUnavailable(`the e-license API answered ${status}`);
    return json as T;
  }

  /** The verifier's verdict; a licence that fails is an answer (valid: false), not an error. */
  async verify(license: string, expect: { audience?: string; nonce?: string }): Promise<VerifyAnswer> {
    const { status, json } = await this.call('POST', '/licenses/verify', { body: { license, ...expect } });
    if (status === 200 && json.valid === true) return json as VerifyAnswer;
    if (typeof json.check === 'string')
      return { valid: false, error: String(json.error), check: json.check, error_description: String(json.error_description ?? '') };
    if (status === 400) throw new LicenseRefusal(status, String(json.error ?? 'invalid_request'), String(json.error_description ?? ''));
    throw new LicenseServiceUnavailable(`the e-license API answered ${status}`);
  }

  /** The licence types (kept: they change with the software, not at run time); empty while the API cannot be reached. */
  async types(): Promise<LicenseTypeInfo[]> {
    this.#types ??= this.expect<{ types: LicenseTypeInfo[] }>('GET', '/licenses/types', {}).then(
      (r) => r.types,
      () => {
        this.#types = null;
        return [];
      },
    );
    return this.#types;
  }

  mine(token: string): Promise<HeldLicenses> {
    return this.expect('GET', '/licenses/mine', { token });
  }

  one(token: string, id: string): Promise<HeldLicense> {
    return this.expect('GET', `/licenses/mine/${encodeURIComponent(id)}`, { token });
  }

  present(token: string, id: string, request: { disclose: string[]; audience: string; nonce?: string }) {
    return this.expect<{ presentation: string; audience: string; nonce: string }>(
      'POST',
      `/licenses/mine/${encodeURIComponent(id)}/presentations`,
      { token, body: request },
    );
  }

  demo(token: string): Promise<unknown> {
    return this.expect('POST', '/licenses/mine/demo', { token });
  }
}
