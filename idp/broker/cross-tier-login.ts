/**
 * A login that crosses tiers (DESIGN.md, "Mutual recognition"). This OP, as a relying party of a
 * neighbour OP, pushes (PAR) an authorization request carrying the identifier as `login_hint`,
 * the home the registry named and the route so far; the browser goes there, and the code comes
 * back to `/broker/callback`. Each hop checks the answer through the trust chain: the neighbour's
 * metadata and keys come from its resolved chain, `iss` must be the neighbour (mix-up), the ID
 * token must be signed by it and bound to our nonce and PKCE verifier, `home` must be the home
 * we routed to, and the `acr` may not exceed what the neighbour's real-name-op trust mark allows;
 * the level is then capped by the home's mark. No secret is shared with any neighbour.
 */
import * as oidc from 'openid-client';
import { requestIdHeaders } from '../../infra/request-id.ts';
import { leanFetch, type LeanFetchOptions } from '../../infra/lean-fetch.ts';
import { importJWK } from 'jose';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { insecureLoopback } from '../../infra/loopback.ts';
import { extendRoute, HOME_HINT_PARAM, nextHop, ROUTE_PARAM, RoutingError } from '../../federation/recognition-routing.ts';
import { UntrustedOp, type TrustedOp, type TrustedOps } from '../../federation/trusted-op.ts';
import { loaWithin } from '../../federation/trust-marks.ts';
import { LOA_LEVELS, type LoaLevel } from '../../federation/loa.ts';
import type { RecognizedKind } from '../accounts/recognized-accounts.ts';
import {
  BROKER_CALLBACK_PATH,
  RecognitionError,
  type CrossTierHops,
  type HopInteraction,
  type HopResult,
} from '../login/cross-tier-hops.ts';
import { BROKER_TIMEOUTS } from './broker-timeouts.ts';

export const BROKER_BACKCHANNEL_LOGOUT_PATH = '/broker/backchannel-logout';
/** What a broker asks its neighbour for: enough to link the account and repeat the home's claims. */
const HOP_SCOPE = 'openid profile phone id_number';
const ID_TOKEN_ALG = 'ES256';

/** What this OP remembers of a hop while the browser is away (keyed by `state`). */
interface PendingHop {
  uid: string;
  kind: RecognizedKind;
  home: string;
  upstream: string;
  verifier: string;
  nonce: string;
  maxAge?: number;
}

export interface CrossTierLoginOptions {
  self: string;
  superior: string | null;
  ops: TrustedOps;
  /** This OP's key as a relying party (private_key_jwt); its public part is in its RP metadata. */
  clientKey: PrivateJwk;
  kv: KeyValueStore;
  acrUris: Record<LoaLevel, string>;
  /** How long a hop may stay pending (the interaction's lifetime). */
  pendingSeconds: number;
}

const pendingKey = (state: string) => `broker:hop:${state}`;
/** A browser session with a hop in flight: ending it would end the login in progress too. */
export const hopSessionKey = (sessionUid: string) => `broker:hop-session:${sessionUid}`;

function levelOf(acr: unknown, acrUris: Record<LoaLevel, string>): LoaLevel | null {
  return LOA_LEVELS.find((l) => acrUris[l] === acr) ?? null;
}

/** A neighbour as openid-client knows it, with the metadata it was configured from. */
interface Neighbour {
  op: TrustedOp;
  metadata: string;
  config: oidc.Configuration;
}

/** A hop's back-channel calls (PAR, token, keys) carry the ID of the request that caused them. */
const hopFetch = (url: string, options: LeanFetchOptions) =>
  leanFetch(url, { ...options, headers: { ...options.headers, ...requestIdHeaders() } });

function isJwks(value: unknown): value is oidc.JWKS {
  const keys = (value as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) && keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k));
}

export class CrossTierLogin implements CrossTierHops {
  private readonly configs = new Map<string, Neighbour>();

  constructor(private readonly o: CrossTierLoginOptions) {}

  /** openid-client configured for a neighbour from its resolved trust chain (never from unverified discovery). */
  private async neighbour(entityId: string): Promise<Neighbour> {
    const op = await this.o.ops.get(entityId);
    const cached = this.configs.get(entityId);
    if (cached?.op === op) return cached;
    // A chain resolved anew with the same metadata keeps the configuration, and with it the keys it holds.
    const metadata = JSON.stringify(op.metadata);
    if (cached?.metadata === metadata) return Object.assign(cached, { op });
    const entry = await this.configure(op, metadata);
    this.configs.set(entityId, entry);
    return entry;
  }

  private async configure(op: TrustedOp, metadata: string): Promise<Neighbour> {
    const key = (await importJWK(this.o.clientKey, this.o.clientKey.alg)) as CryptoKey;
    const config = new oidc.Configuration(
      op.metadata as oidc.ServerMetadata,
      this.o.self,
      { id_token_signed_response_alg: ID_TOKEN_ALG },
      oidc.PrivateKeyJwt({ key, kid: this.o.clientKey.kid }),
    );
    if (insecureLoopback(op.entityId)) oidc.allowInsecureRequests(config);
    // The ID token must be signed by the neighbour's keys (its jwks_uri from the resolved chain):
    // openid-client checks the signature only when asked, and over plain http on loopback
    // nothing else authenticates the token endpoint's answer.
    oidc.enableNonRepudiationChecks(config);
    config.timeout = BROKER_TIMEOUTS.hopSeconds;
    // The hop's back-channel calls (PAR, token) carry the ID of the request that caused them.
    config[oidc.customFetch] = hopFetch;
    return { op, metadata, config };
  }

  /**
   * Readies a neighbour before any login needs it (the background refresh of neighbour-chains.ts,
   * after its chain was resolved anew): a configuration holding the ID-token keys of its
   * `jwks_uri`, fetched now, so that no hop's token redemption waits for them. openid-client keeps
   * downloaded keys five minutes per configuration and would fetch them in the middle of a login
   * after that; a fresh configuration with keys just fetched replaces the old one instead.
   */
  async prepare(entityId: string): Promise<void> {
    const op = await this.o.ops.get(entityId);
    const jwksUri = op.metadata.jwks_uri;
    if (typeof jwksUri !== 'string') throw new Error(`${entityId} publishes no jwks_uri`);
    const entry = await this.configure(op, JSON.stringify(op.metadata));
    const res = await hopFetch(jwksUri, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(BROKER_TIMEOUTS.hopSeconds * 1000),
    });
    const jwks = res.ok ? ((await res.json()) as unknown) : null;
    if (!isJwks(jwks)) throw new Error(`the keys of ${entityId} (${jwksUri}) could not be read: HTTP ${res.status}`);
    oidc.setJwksCache(entry.config, { jwks, uat: Math.floor(Date.now() / 1000) });
    this.configs.set(entityId, entry);
  }

  /**
   * Pushes the authorization request to the next hop towards `home` and returns the URL the
   * browser goes to. `params` are the parameters of the request this OP is serving; `identifier`
   * (the ID number) is pushed as login_hint when the person gave it here.
   */
  async start(
    interaction: HopInteraction,
    kind: RecognizedKind,
    identifier: string | null,
    home: string,
  ): Promise<{ url: string; next: string; state: string }> {
    const { uid, params } = interaction;
    let route: string[];
    let next: string | null;
    try {
      route = extendRoute(params[ROUTE_PARAM], this.o.self);
      const homeOp = await this.o.ops.get(home);
      next = nextHop(this.o.self, homeOp.path, this.o.superior);
      if (next && route.includes(next))
        throw new RoutingError('route_loop', `the way to ${home} leads back to ${next} (route: ${route.join(' → ')})`);
    } catch (err) {
      if (err instanceof RoutingError) throw new RecognitionError(err.code, err.message);
      if (err instanceof UntrustedOp) throw new RecognitionError(err.unreachable ? 'home_unavailable' : 'home_untrusted', err.message);
      throw err;
    }
    if (!next) throw new RecognitionError('no_route', `${home} is this OP; the account is not here`);
    let neighbour;
    try {
      neighbour = await this.neighbour(next);
    } catch (err) {
      if (err instanceof UntrustedOp) throw new RecognitionError('home_unavailable', err.message);
      throw err;
    }
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const maxAge = params.max_age === undefined ? undefined : Number(params.max_age);
    const request: Record<string, string> = {
      redirect_uri: this.o.self + BROKER_CALLBACK_PATH,
      scope: kind === 'legal' ? `${HOP_SCOPE} legal_person` : HOP_SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // Without one (the person chose the platform instead), the home asks for it on its own page.
      ...(identifier ? { login_hint: identifier } : {}),
      [HOME_HINT_PARAM]: home,
      [ROUTE_PARAM]: route.join(' '),
      // What the portal asked of this OP, the next one must honour: LoA, re-authentication, age.
      ...(typeof params.acr_values === 'string' ? { acr_values: params.acr_values } : {}),
      ...(String(params.prompt ?? '')
        .split(' ')
        .includes('login')
        ? { prompt: 'login' }
        : {}),
      ...(maxAge !== undefined && Number.isInteger(maxAge) ? { max_age: String(maxAge) } : {}),
      ...(typeof params.ui_locales === 'string' ? { ui_locales: params.ui_locales } : {}),
    };
    let url: URL;
    try {
      url = await oidc.buildAuthorizationUrlWithPAR(neighbour.config, request);
    } catch (err) {
      throw new RecognitionError('home_unavailable', `${next} did not accept the pushed request: ${describe(err)}`);
    }
    const pending: PendingHop = {
      uid,
      kind,
      home,
      upstream: next,
      verifier,
      nonce,
      ...(maxAge !== undefined && Number.isInteger(maxAge) ? { maxAge } : {}),
    };
    await this.o.kv.set(pendingKey(state), JSON.stringify(pending), this.o.pendingSeconds);
    if (interaction.sessionUid) await this.o.kv.set(hopSessionKey(interaction.sessionUid), '1', this.o.pendingSeconds);
    return { url: url.href, next, state };
  }

  /** The interaction a callback belongs to (without consuming the hop), or null. */
  async pendingInteraction(state: string): Promise<string | null> {
    const raw = await this.o.kv.get(pendingKey(state));
    return raw ? (JSON.parse(raw) as PendingHop).uid : null;
  }

  /** Redeems the code of a callback (its query string) and verifies the answer; the hop is consumed either way. */
  async finish(query: string, uid: string): Promise<HopResult> {
    const callbackUrl = new URL(this.o.self + BROKER_CALLBACK_PATH + query);
    const state = callbackUrl.searchParams.get('state') ?? '';
    const raw = await this.o.kv.take(pendingKey(state));
    const pending = raw ? (JSON.parse(raw) as PendingHop) : null;
    if (!pending || pending.uid !== uid)
      throw new RecognitionError(
        'hop_expired',
        'this answer belongs to no login in progress here (expired, replayed or from another browser)',
      );
    const { op, config } = await this.neighbour(pending.upstream).catch((err) => {
      throw new RecognitionError('home_unavailable', describe(err));
    });
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
        ...(pending.maxAge !== undefined ? { maxAge: pending.maxAge } : {}),
      });
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError)
        throw new RecognitionError(
          'upstream_error',
          `${pending.upstream} answered ${err.error}${err.error_description ? `: ${err.error_description}` : ''}`,
          err.error,
        );
      if (unreachable(err)) throw new RecognitionError('home_unavailable', `${pending.upstream} could not be reached: ${describe(err)}`);
      // A bad signature may mean rotated keys: resolve the neighbour again next time.
      this.forget(pending.upstream);
      throw new RecognitionError('invalid_response', `the answer of ${pending.upstream} failed verification: ${describe(err)}`);
    }
    const claims = tokens.claims()!;
    if (claims.home !== pending.home)
      throw new RecognitionError(
        'home_mismatch',
        `${pending.upstream} answered for home ${String(claims.home)}, the login was sent to ${pending.home}`,
      );
    const expectedType = pending.kind === 'legal' ? 'legal' : 'natural';
    if (claims.user_type !== expectedType)
      throw new RecognitionError(
        'invalid_response',
        `${pending.upstream} answered with a ${String(claims.user_type)} person, ${expectedType} was asked`,
      );
    const asserted = levelOf(claims.acr, this.o.acrUris);
    if (!asserted) throw new RecognitionError('invalid_response', `${pending.upstream} asserted an unknown acr ${String(claims.acr)}`);
    if (!loaWithin(asserted, op.maxLoa))
      throw new RecognitionError(
        'loa_above_trust_mark',
        `${pending.upstream} asserted ${asserted}, its real-name-op trust mark allows at most ${op.maxLoa}`,
      );
    // Believed only up to what the home itself is trusted with: its trust mark, and the levels its
    // superiors' metadata policy leaves it (acr_values_supported of its resolved metadata).
    const homeOp = await this.o.ops.get(pending.home).catch((err) => {
      throw new RecognitionError('home_untrusted', describe(err));
    });
    const byPolicy = this.policyMaxLoa(homeOp);
    const cap = byPolicy !== null && loaWithin(byPolicy, homeOp.maxLoa) ? byPolicy : homeOp.maxLoa;
    const loa = loaWithin(asserted, cap) ? asserted : cap;
    return {
      kind: pending.kind,
      home: pending.home,
      upstream: pending.upstream,
      claims,
      loa,
      amr: Array.isArray(claims.amr) ? claims.amr.map(String) : [],
      authTime: typeof claims.auth_time === 'number' ? claims.auth_time : Math.floor(Date.now() / 1000),
    };
  }

  /** The highest level the OP's resolved metadata lists (its superiors' policy may have removed some); null when it says nothing. */
  private policyMaxLoa(op: TrustedOp): LoaLevel | null {
    const listed = op.metadata.acr_values_supported;
    if (!Array.isArray(listed)) return null;
    const levels = listed.map((acr) => levelOf(acr, this.o.acrUris)).filter((l): l is LoaLevel => l !== null);
    return LOA_LEVELS.filter((l) => levels.includes(l)).at(-1) ?? LOA_LEVELS[0]!;
  }

  /** Keys (and metadata) of a neighbour are resolved again on next use. */
  private forget(entityId: string): void {
    this.configs.delete(entityId);
    this.o.ops.forget(entityId);
  }
}

/**
 * The neighbour could not be reached (refused, reset, no answer within the hop's bound) or said it
 * is unavailable for now (a 5xx, temporarily_unavailable): not an answer that failed verification.
 */
function unreachable(err: unknown): boolean {
  if (err instanceof TypeError) return true; // fetch failed: refused, reset, unknown host
  const e = err as { code?: unknown; cause?: unknown };
  if (e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT') return true;
  if (err instanceof oidc.ResponseBodyError) return err.status >= 500 || err.error === 'temporarily_unavailable';
  return e.cause instanceof Response && e.cause.status >= 500;
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return `${e.message ?? String(err)}${cause}`;
}
