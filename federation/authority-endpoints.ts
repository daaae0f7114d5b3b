/**
 * The federation endpoints of an authority (OpenID Federation 1.0 §8), as one Koa middleware:
 *
 * - `GET /federation/fetch?sub=ENTITY_ID` (§8.1): the Subordinate Statement about an Immediate
 *   Subordinate, `application/entity-statement+jwt`.
 * - `GET /federation/list[?entity_type=…][&intermediate=true]` (§8.2): the Immediate Subordinates'
 *   Entity Identifiers as a JSON array.
 * - `GET /federation/resolve?sub=…&trust_anchor=…[&entity_type=…]` (§8.3): a signed resolve
 *   response (`application/resolve-response+jwt`) with the subject's resolved metadata and the
 *   Trust Chain it was resolved from.
 *
 * Errors are `application/json` `{error, error_description}` with the codes of §8.9. The
 * subordinates come from the authority's live configuration (federation/authority-config.ts), so an
 * edit takes effect on the next request, without a restart.
 *
 * SPEC CHOICES: only GET is served (client authentication at federation endpoints, which uses
 * POST, is not supported); `trust_marked` and `trust_mark_type` list filters are answered with
 * unsupported_parameter; the resolve response carries no trust_marks (this resolver does not
 * verify Trust Marks, and §8.3.2 allows only verified ones).
 */
import { HttpError } from '../infra/errors.ts';
import { decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import type Koa from 'koa';
import type { PrivateJwk } from '../infra/entity-keys.ts';
import type { Logger } from '../infra/log.ts';
import { effectivePolicy, findSubordinate, type AuthorityConfigSource } from './authority-config.ts';
import { cachedKeyResolver } from './entity-configuration.ts';
import { entityConfigurationLabel, TrustChainError } from './federation-errors.ts';
import { signSubordinateStatement, SubordinateDirectory, type SubordinateInfo } from './subordinate-statements.ts';
import {
  httpStatementFetcher,
  resolveTrustChain,
  TrustChainCache,
  type StatementFetcher,
  type TrustAnchor,
  type TrustChain,
} from './trust-chain.ts';
import type { Topology } from './topology.ts';
import { isLoopbackUrl } from '../infra/loopback.ts';

export const FEDERATION_FETCH_PATH = '/federation/fetch';
export const FEDERATION_LIST_PATH = '/federation/list';
export const FEDERATION_RESOLVE_PATH = '/federation/resolve';
const PATHS = new Set([FEDERATION_FETCH_PATH, FEDERATION_LIST_PATH, FEDERATION_RESOLVE_PATH]);

export const ENTITY_STATEMENT_MEDIA_TYPE = 'application/entity-statement+jwt';
export const RESOLVE_RESPONSE_TYP = 'resolve-response+jwt';
export const RESOLVE_RESPONSE_MEDIA_TYPE = 'application/resolve-response+jwt';

/**
 * The federation_entity metadata an authority publishes in its entity configuration (§5.1.1):
 * "Intermediate Entities and Trust Anchors MUST publish a federation_fetch_endpoint" (and a list
 * endpoint); the resolve endpoint is optional and offered here.
 */
export function federationEntityEndpoints(entityId: string): {
  federation_fetch_endpoint: string;
  federation_list_endpoint: string;
  federation_resolve_endpoint: string;
} {
  return {
    federation_fetch_endpoint: entityId + FEDERATION_FETCH_PATH,
    federation_list_endpoint: entityId + FEDERATION_LIST_PATH,
    federation_resolve_endpoint: entityId + FEDERATION_RESOLVE_PATH,
  };
}

/** Whether a request (its raw URL, e.g. `req.url`) is for one of these endpoints. */
export function isFederationEndpointPath(url: string | undefined): boolean {
  if (!url) return false;
  const path = url.split('?')[0]!;
  return PATHS.has(path);
}

/** A Trust Anchor whose keys are given, or looked up (e.g. fetched from its entity configuration) when needed. */
export interface TrustAnchorSource {
  entityId: string;
  jwks: { keys: JWK[] } | (() => Promise<{ keys: JWK[] } | null>);
}

/** The anchor with its keys at hand, or null while they cannot be had. */
export async function materializeTrustAnchor(source: TrustAnchorSource): Promise<TrustAnchor | null> {
  const jwks = typeof source.jwks === 'function' ? await source.jwks().catch(() => null) : source.jwks;
  return jwks ? { entityId: source.entityId, jwks } : null;
}

/**
 * The topology's trust anchor, the national platform, with the keys of its entity configuration
 * fetched over HTTP and remembered for five minutes (the topology vouches for its URL).
 */
export function topologyTrustAnchor(topology: Topology): TrustAnchorSource {
  const national = topology.entities.find((e) => e.superior === null)!;
  const resolveKeys = cachedKeyResolver((id) => id === national.url);
  return { entityId: national.url, jwks: async () => (await resolveKeys(national.url)) as { keys: JWK[] } | null };
}

/**
 * http Entity Identifiers are accepted (OpenID Federation requires https) only when every http
 * entity of the topology is on a loopback address: the demo federation.
 */
export function allowHttpEntityIds(topology: Topology): boolean {
  return topology.entities.every((e) => !e.url.startsWith('http:') || isLoopbackUrl(e.url));
}

export interface AuthorityEndpointsOptions {
  /** The authority's Entity Identifier. */
  entityId: string;
  /** Its federation keys (the ones of its entity configuration); the first signs. */
  keys: PrivateJwk[] | (() => PrivateJwk[]);
  /** Its live configuration. */
  config: AuthorityConfigSource;
  /** The Trust Anchors the resolve endpoint accepts. */
  trustAnchors: TrustAnchorSource[];
  /** How statements are fetched (default: over HTTP). */
  fetcher?: StatementFetcher;
  /** Accept http Entity Identifiers (the loopback demo); see allowHttpEntityIds. */
  allowHttpEntityIds?: boolean;
  /** What the subordinates publish (default: fetched from their entity configurations, five minutes' cache). */
  directory?: SubordinateDirectory;
  /** Lifetime of subordinate statements in seconds (default one day). */
  statementLifetimeSeconds?: number;
  /** Longest time a resolved chain is reused, in seconds (default 300; never past the chain's expiry). */
  resolveCacheSeconds?: number;
  log?: Logger;
}

const badRequest = (message: string) => new HttpError(400, 'invalid_request', message);

/** The values of a query parameter (none, one or several). */
function values(ctx: Koa.Context, name: string): string[] {
  const v = ctx.query[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function single(ctx: Koa.Context, name: string, required: true): string;
function single(ctx: Koa.Context, name: string, required: false): string | undefined;
function single(ctx: Koa.Context, name: string, required: boolean): string | undefined {
  const all = values(ctx, name);
  if (all.length > 1) throw badRequest(`the ${name} parameter must be given once`);
  const v = all[0];
  if (v === undefined || v === '') {
    if (required) throw badRequest(`required parameter ${name} is missing`);
    return undefined;
  }
  return v;
}

function booleanParameter(ctx: Koa.Context, name: string): boolean | undefined {
  const v = single(ctx, name, false);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw badRequest(`${name} must be true or false`);
  return v === 'true';
}

/** The spec's error code and HTTP status for a failed resolution. */
function resolveError(err: TrustChainError, subject: string): HttpError {
  const description = err.message;
  if (err.statement === entityConfigurationLabel(subject)) {
    if (err.check === 'fetch_failed' || err.check === 'fetch_timeout') return new HttpError(404, 'not_found', description);
    if (err.check === 'entity_id') return new HttpError(400, 'invalid_request', description);
  }
  if (err.check === 'policy_conflict' || err.check === 'policy_illegal' || err.check === 'policy_violation' || err.check === 'metadata') {
    return new HttpError(400, 'invalid_metadata', description);
  }
  return new HttpError(400, 'invalid_trust_chain', description);
}

/**
 * The fetch, list and resolve endpoints of an authority. Mount it before anything else that
 * might answer these paths; other requests pass through to `next`.
 */
export function authorityEndpoints(opts: AuthorityEndpointsOptions): Koa.Middleware {
  const fetcher = opts.fetcher ?? httpStatementFetcher();
  const directory = opts.directory ?? new SubordinateDirectory({ fetcher });
  const keys = typeof opts.keys === 'function' ? opts.keys : () => opts.keys as PrivateJwk[];
  const endpoints = federationEntityEndpoints(opts.entityId);
  const chains = new TrustChainCache({ maxEntries: 1000 });
  const resolveCacheSeconds = opts.resolveCacheSeconds ?? 300;
  let chainsVersion = opts.config.version;

  /** The subordinate's keys: pinned in the configuration, or those of its entity configuration. */
  async function subordinateKeys(entityId: string, pinned: { keys: JWK[] } | undefined): Promise<{ keys: JWK[] }> {
    if (pinned) return pinned;
    try {
      return (await directory.get(entityId)).jwks;
    } catch (err) {
      throw new HttpError(503, 'temporarily_unavailable', `the keys of ${entityId} cannot be obtained: ${(err as Error).message}`);
    }
  }

  async function fetchStatement(ctx: Koa.Context): Promise<void> {
    const sub = single(ctx, 'sub', true);
    if (sub === opts.entityId) throw badRequest('sub is the issuer itself; its entity configuration is at /.well-known/openid-federation');
    const config = opts.config.current();
    const subordinate = findSubordinate(config, sub);
    if (!subordinate) throw new HttpError(404, 'not_found', `${sub} is not a subordinate of ${opts.entityId}`);
    const jwt = await signSubordinateStatement({
      issuer: opts.entityId,
      subject: sub,
      keys: keys(),
      jwks: await subordinateKeys(sub, subordinate.jwks),
      metadataPolicy: effectivePolicy(config, subordinate),
      constraints: subordinate.constraints,
      metadata: subordinate.metadata,
      sourceEndpoint: endpoints.federation_fetch_endpoint,
      ...(opts.statementLifetimeSeconds ? { lifetimeSeconds: opts.statementLifetimeSeconds } : {}),
    });
    ctx.status = 200;
    ctx.type = ENTITY_STATEMENT_MEDIA_TYPE;
    ctx.body = jwt;
  }

  async function list(ctx: Koa.Context): Promise<void> {
    for (const unsupported of ['trust_marked', 'trust_mark_type']) {
      if (values(ctx, unsupported).length)
        throw new HttpError(
          400,
          'unsupported_parameter',
          `the ${unsupported} filter is not supported by this list endpoint (ask the trust mark issuer's list endpoint)`,
        );
    }
    const entityTypes = values(ctx, 'entity_type').filter((t) => t !== '');
    const intermediate = booleanParameter(ctx, 'intermediate');
    let ids = opts.config.current().subordinates.map((s) => s.entity_id);
    if (entityTypes.length || intermediate === true) {
      // The entity types are those of the subordinates' entity configurations; a subordinate
      // that cannot be reached is left out (its types are not known).
      const infos = await Promise.all(ids.map((id) => directory.get(id).catch((): SubordinateInfo | null => null)));
      ids = ids.filter((_, i) => {
        const info = infos[i];
        if (!info) return false;
        if (entityTypes.length && !entityTypes.some((t) => Object.hasOwn(info.metadata, t))) return false;
        if (intermediate === true && typeof info.metadata.federation_entity?.federation_fetch_endpoint !== 'string') return false;
        return true;
      });
    }
    ctx.status = 200;
    ctx.body = ids;
  }

  async function anchorFor(requested: string[]): Promise<TrustAnchor> {
    const source = opts.trustAnchors.find((a) => requested.includes(a.entityId));
    if (!source) {
      throw new HttpError(
        404,
        'invalid_trust_anchor',
        `${requested.join(', ')} ${requested.length > 1 ? 'are not trust anchors' : 'is not a trust anchor'} of this resolver; it accepts ${opts.trustAnchors.map((a) => a.entityId).join(', ') || 'none'}`,
      );
    }
    const jwks = typeof source.jwks === 'function' ? await source.jwks().catch(() => null) : source.jwks;
    if (!jwks) throw new HttpError(503, 'temporarily_unavailable', `the keys of trust anchor ${source.entityId} cannot be obtained`);
    return { entityId: source.entityId, jwks };
  }

  async function resolve(ctx: Koa.Context): Promise<void> {
    const sub = single(ctx, 'sub', true);
    const requestedAnchors = values(ctx, 'trust_anchor').filter((a) => a !== '');
    if (requestedAnchors.length === 0) throw badRequest('required parameter trust_anchor is missing');
    const entityTypes = values(ctx, 'entity_type').filter((t) => t !== '');
    const anchor = await anchorFor(requestedAnchors);

    // A configuration change may change chains through this authority: start afresh.
    opts.config.current();
    if (opts.config.version !== chainsVersion) {
      chains.clear();
      directory.forget();
      chainsVersion = opts.config.version;
    }
    const now = Math.floor(Date.now() / 1000);
    const cacheKey = `${anchor.entityId}\n${sub}`;
    let chain: TrustChain | undefined = chains.get(cacheKey, now);
    if (!chain) {
      try {
        chain = await resolveTrustChain(sub, { trustAnchors: [anchor], fetcher, allowHttpEntityIds: opts.allowHttpEntityIds ?? false });
      } catch (err) {
        if (err instanceof TrustChainError) throw resolveError(err, sub);
        throw err;
      }
      // Reused for a while only, so that superiors' edits are seen; the response's exp is the chain's own.
      chains.set(cacheKey, { ...chain, expiresAt: Math.min(chain.expiresAt, now + resolveCacheSeconds) });
    }
    const exp = Math.min(...chain.statements.map((s) => decodeJwt(s).exp ?? Infinity));
    const metadata = entityTypes.length
      ? Object.fromEntries(Object.entries(chain.metadata).filter(([type]) => entityTypes.includes(type)))
      : chain.metadata;
    const key = keys()[0];
    if (!key) throw new Error(`${opts.entityId} has no federation key to sign with`);
    const jwt = await new SignJWT({ metadata, trust_chain: chain.statements })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RESOLVE_RESPONSE_TYP })
      .setIssuer(opts.entityId)
      .setSubject(chain.subject)
      .setIssuedAt(now)
      .setExpirationTime(Math.max(exp, now))
      .sign(await importJWK(key, key.alg));
    ctx.status = 200;
    ctx.type = RESOLVE_RESPONSE_MEDIA_TYPE;
    ctx.body = jwt;
  }

  const handlers: Record<string, (ctx: Koa.Context) => Promise<void>> = {
    [FEDERATION_FETCH_PATH]: fetchStatement,
    [FEDERATION_LIST_PATH]: list,
    [FEDERATION_RESOLVE_PATH]: resolve,
  };

  return async (ctx, next) => {
    const handler = handlers[ctx.path];
    if (!handler) return next();
    try {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.set('Allow', 'GET, HEAD');
        throw new HttpError(405, 'invalid_request', `use GET; client authentication at federation endpoints is not supported`);
      }
      await handler(ctx);
    } catch (err) {
      const e =
        err instanceof HttpError
          ? err
          : (opts.log?.error('federation endpoint failed', { err, path: ctx.path }), new HttpError(500, 'server_error', 'internal error'));
      ctx.status = e.status;
      ctx.type = 'application/json';
      ctx.body = { error: e.code, error_description: e.message };
    }
  };
}
