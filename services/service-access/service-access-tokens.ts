/**
 * How a services entity knows who calls it for a person: an RFC 9068 access token (`at+jwt`)
 * that an OP of the federation issued for this entity (RFC 8707 resource = our entity ID). The
 * token is checked here, with no call to the OP: its issuer must be a trusted OP of the federation
 * (trust chain and real-name-op mark, federation/trusted-op.ts), its signature one of that OP's
 * published keys, its audience us, and it must be unexpired. The person's real-name facts are not
 * in the token; `person()` asks the issuing OP for them over an entity-authenticated call.
 */
import type Koa from 'koa';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { HttpError, UpstreamUnavailable } from '../../infra/errors.ts';
import { postAsEntity } from '../../infra/entity-request.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import type { TrustedOps } from '../../federation/trusted-op.ts';
import { SERVICES_PERSON_PATH } from '../../federation/trusted-resources.ts';

export interface ServicePrincipal {
  /** The OP that issued the token: a federation OP, checked through its trust chain. */
  issuer: string;
  /** The person's (or organization's) subject at that OP. */
  subject: string;
  /** The portal that obtained the token. */
  clientId: string;
  /** Level of assurance of the login (federation/loa.ts URIs); null when the OP did not say. */
  acr: string | null;
  scope: string[];
  /** RFC 9396 authorization details the person consented to, as the token carries them. */
  authorizationDetails: Record<string, unknown>[];
  tokenId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** The token itself, for the calls that must show it (the OP's person endpoint, an exchange hop). */
  token: string;
}

export interface RealNamePerson {
  kind: 'natural' | 'legal';
  /** The person's name, or the organization's. */
  name: string;
  /** Natural persons: the resident ID number. */
  idNumber: string | null;
  phone: string | null;
  /** Legal persons: the USCC and who acts for it under this token. */
  uscc: string | null;
  actor: { subject: string; name: string; role: string | null; serviceCategories: string[] } | null;
}

/** RFC 6750 §3: 401 with a WWW-Authenticate challenge naming the error. */
export class InvalidToken extends HttpError {
  constructor(reason: string, error = 'invalid_token') {
    super(401, error, reason, {
      headers: { 'WWW-Authenticate': `Bearer error="${error}", error_description="${reason.replace(/["\\]/g, "'")}"` },
    });
  }
}

export interface ServiceAccess {
  /** The caller's access token, checked; throws InvalidToken (401) otherwise. */
  authenticate(ctx: Koa.Context): Promise<ServicePrincipal>;
  /**
   * A token handed over otherwise (a data request's consent token, a person's token another node
   * forwards), checked alike; `audience` is this entity unless the token was issued for the caller.
   */
  verify(token: string, audience?: string): Promise<ServicePrincipal>;
  /** The real-name facts of the token's subject, asked of the issuing OP. */
  person(principal: ServicePrincipal): Promise<RealNamePerson>;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;
const PERSON_TIMEOUT_MS = 5_000;

export class ServiceAccessTokens implements ServiceAccess {
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(
    private readonly runtime: EntityRuntime,
    private readonly ops: TrustedOps,
  ) {}

  async authenticate(ctx: Koa.Context): Promise<ServicePrincipal> {
    const token = BEARER.exec(ctx.get('authorization'))?.[1];
    if (!token) throw new InvalidToken('an access token is required (Authorization: Bearer)', 'invalid_request');
    return this.verify(token);
  }

  async verify(token: string, audience = this.runtime.self.url): Promise<ServicePrincipal> {
    let issuer: string;
    try {
      issuer = String(decodeJwt(token).iss ?? '');
    } catch {
      throw new InvalidToken('the access token is not a JWT');
    }
    const op = await this.ops.get(issuer).catch((err: unknown) => {
      if (err instanceof UpstreamUnavailable || (err as HttpError).status === 503) throw err;
      throw new InvalidToken(`the token's issuer is not a trusted OP of the federation (${(err as Error).message})`);
    });
    const jwksUri = op.metadata.jwks_uri;
    if (typeof jwksUri !== 'string') throw new InvalidToken(`${issuer} publishes no jwks_uri`);
    let keys = this.keySets.get(jwksUri);
    if (!keys) this.keySets.set(jwksUri, (keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: PERSON_TIMEOUT_MS })));
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256', 'PS256'],
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      });
      return {
        issuer,
        subject: payload.sub!,
        clientId: String(payload.client_id),
        acr: typeof payload.acr === 'string' ? payload.acr : null,
        scope: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        authorizationDetails: Array.isArray(payload.authorization_details)
          ? (payload.authorization_details as Record<string, unknown>[])
          : [],
        tokenId: payload.jti!,
        expiresAt: payload.exp!,
        token,
      };
    } catch (err) {
      if (err instanceof joseErrors.JWKSTimeout) throw new UpstreamUnavailable(`${issuer}'s keys could not be fetched in time`);
      if (err instanceof joseErrors.JWTExpired) throw new InvalidToken('the access token has expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud')
        throw new InvalidToken(`the access token is for another audience, not ${audience}`);
      throw new InvalidToken(`the access token is invalid: ${(err as Error).message}`);
    }
  }

  async person(principal: ServicePrincipal): Promise<RealNamePerson> {
    const { status, json } = await postAsEntity({
      from: this.runtime.self.url,
      key: this.runtime.keyRing.signingKey(),
      to: principal.issuer,
      path: SERVICES_PERSON_PATH,
      body: { access_token: principal.token },
      timeoutMs: PERSON_TIMEOUT_MS,
    });
    if (status === 401) throw new InvalidToken(String(json.error_description ?? json.message ?? 'the OP no longer accepts the token'));
    if (status !== 200) throw new UpstreamUnavailable(`${principal.issuer} did not say who the token's subject is (${status})`);
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const act = json.act as { sub?: unknown; name?: unknown } | undefined;
    return {
      kind: json.user_type === 'legal' ? 'legal' : 'natural',
      name: str(json.org_name) ?? str(json.name) ?? '',
      idNumber: str(json.id_number),
      phone: str(json.phone_number)?.replace(/^\+86/, '') ?? null,
      uscc: str(json.uscc),
      actor: act
        ? {
            subject: String(act.sub ?? ''),
            name: String(act.name ?? ''),
            role: str(json.agent_role),
            serviceCategories: Array.isArray(json.service_categories) ? json.service_categories.map(String) : [],
          }
        : null,
    };
  }
}
