/**
 * The Trust Mark Issuer: the national platform issues gov-id's Trust Marks (federation/trust-marks.ts)
 * to the entities its configuration names, and serves the three Trust Mark endpoints of OpenID
 * Federation 1.0 as one Koa middleware:
 *
 * - `GET /federation/trust-mark?trust_mark_type=…&sub=…` (§8.6): the Trust Mark, freshly signed,
 *   `application/trust-mark+jwt`; 404 `not_found` when the entity does not have that mark.
 * - `POST /federation/trust-mark/status` with `trust_mark=<jwt>` (form-encoded, §8.4): a signed
 *   Trust Mark Status response (`application/trust-mark-status-response+jwt`, header
 *   `typ: trust-mark-status-response+jwt`) with `iss`, `iat`, `trust_mark` and `status`
 *   (`active`, `expired`, `revoked` or `invalid`); 404 for a mark this issuer did not issue.
 * - `GET /federation/trust-mark/list?trust_mark_type=…[&sub=…]` (§8.5): the Entity Identifiers
 *   that hold an active mark of that type, as a JSON array.
 *
 * Which entity gets which mark is the issuer's configuration, `${dataDir}/federation/trust-marks.json`
 * (format below; reference in docs/federation.md), created from the topology on first use, validated
 * before use and taken live, like the authority configurations (federation/authority-config.ts): a
 * running issuer looks at the file at most once a second; an invalid edit is refused with a logged
 * error and the last good configuration stays in force.
 *
 * ```json
 * { "marks": [
 *   { "trust_mark_type": "https://gov-id.example/trust-marks/real-name-op", "sub": "http://127.0.0.1:7101", "max_loa": "loa2" },
 *   { "trust_mark_type": "https://gov-id.example/trust-marks/government-portal", "sub": "https://portal.sz.gov.cn",
 *     "expires_at": "2026-12-31T23:59:59+08:00", "revoked": true } ] }
 * ```
 *
 * The status of a mark is decided from the configuration at the time of the request: a mark whose
 * grant is revoked or removed is `revoked`; one whose grant's `expires_at` has passed, or whose
 * own `exp` has, is `expired`; a real-name-op mark whose `max_loa` is no longer the granted one is
 * `revoked` (its holder fetches the new mark on its next refresh). A revocation thus takes effect
 * at once at the status endpoint, and in the holders' entity configurations at their next check
 * (ten minutes by default); a mark already copied elsewhere stays verifiable offline until its
 * `exp` (one day).
 *
 * SPEC CHOICES: client authentication at these endpoints is not supported (the trust mark and
 * list endpoints answer GET only; §8.6.1 and §8.5.1 use POST only with client authentication);
 * the marks are public, like entity configurations. The list endpoint answers 404 `not_found` for
 * a type this issuer does not issue. A status request whose `trust_mark` is not a JWT is a 400
 * `invalid_request`; one signed by this issuer but not valid (bad signature, unknown key, wrong
 * `typ`) is answered with status `invalid`.
 */
import { join } from 'node:path';
import { importJWK, SignJWT, type JWK } from 'jose';
import type Koa from 'koa';
import { z } from 'zod';
import { LOA_LEVELS, type LoaLevel } from '../idp/loa.ts';
import { publicJwk, type PrivateJwk } from '../infra/entity-keys.ts';
import { ConfigurationError, HttpError } from '../infra/errors.ts';
import type { Logger } from '../infra/log.ts';
import { fileExists, LiveConfigFile, readJsonFile, writeJsonFileAtomically, type LiveConfigSource } from './live-config-file.ts';
import { entityIdProblem } from './authority-config.ts';
import type { Entity, Topology } from './topology.ts';
import {
  GOVERNMENT_PORTAL,
  issueTrustMark,
  peekTrustMark,
  REAL_NAME_OP,
  TRUST_MARK_LIFETIME_SECONDS,
  TRUST_MARK_MEDIA_TYPE,
  TRUST_MARK_STATUS_RESPONSE_MEDIA_TYPE,
  TRUST_MARK_STATUS_RESPONSE_TYP,
  TRUST_MARK_TYPES,
  TrustMarkError,
  verifyTrustMark,
  type GovIdTrustMarkType,
} from './trust-marks.ts';

// ---------------------------------------------------------------------------------------------
// Endpoints and what the issuer publishes
// ---------------------------------------------------------------------------------------------

export const TRUST_MARK_PATH = '/federation/trust-mark';
export const TRUST_MARK_STATUS_PATH = '/federation/trust-mark/status';
export const TRUST_MARK_LIST_PATH = '/federation/trust-mark/list';
const PATHS = new Set([TRUST_MARK_PATH, TRUST_MARK_STATUS_PATH, TRUST_MARK_LIST_PATH]);

/** Whether a request (its raw URL, e.g. `req.url`) is for one of the Trust Mark endpoints. */
export function isTrustMarkEndpointPath(url: string | undefined): boolean {
  if (!url) return false;
  return PATHS.has(url.split('?')[0]!);
}

/** The federation_entity metadata of the issuer's entity configuration (§5.1.1: endpoints are published by the entity itself). */
export function trustMarkIssuerMetadata(entityId: string): {
  federation_trust_mark_endpoint: string;
  federation_trust_mark_status_endpoint: string;
  federation_trust_mark_list_endpoint: string;
} {
  return {
    federation_trust_mark_endpoint: entityId + TRUST_MARK_PATH,
    federation_trust_mark_status_endpoint: entityId + TRUST_MARK_STATUS_PATH,
    federation_trust_mark_list_endpoint: entityId + TRUST_MARK_LIST_PATH,
  };
}

/**
 * The `trust_mark_issuers` claim of the Trust Anchor's entity configuration (§3.1.2, §7): for each
 * gov-id Trust Mark type, the issuer allowed to issue it.
 */
export function trustMarkIssuersClaim(issuerEntityId: string): Record<GovIdTrustMarkType, string[]> {
  return Object.fromEntries(TRUST_MARK_TYPES.map((type) => [type, [issuerEntityId]])) as Record<GovIdTrustMarkType, string[]>;
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

export interface TrustMarkGrant {
  /** One of gov-id's Trust Mark type identifiers. */
  trust_mark_type: GovIdTrustMarkType;
  /** The entity the mark is issued to (an Entity Identifier). */
  sub: string;
  /** real-name-op only (and required there): the highest level of assurance the OP may assert. */
  max_loa?: LoaLevel;
  /** The grant ends at this time (ISO 8601 with a time zone); no mark outlives it. */
  expires_at?: string;
  /** The grant is withdrawn: no new marks, and the status endpoint says `revoked`. */
  revoked?: boolean;
  /** Free text for the admin; not published. */
  comment?: string;
}

export interface TrustMarkIssuerConfig {
  comment?: string;
  marks: TrustMarkGrant[];
}

export type GrantState = 'active' | 'revoked' | 'expired';

export function trustMarkConfigPath(dataDir: string): string {
  return join(dataDir, 'federation', 'trust-marks.json');
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Seconds since the epoch of an `expires_at` value (already validated). */
export function expiresAtSeconds(grant: TrustMarkGrant): number | undefined {
  return grant.expires_at === undefined ? undefined : Math.floor(Date.parse(grant.expires_at) / 1000);
}

export function grantState(grant: TrustMarkGrant, nowSeconds = Math.floor(Date.now() / 1000)): GrantState {
  if (grant.revoked) return 'revoked';
  const end = expiresAtSeconds(grant);
  if (end !== undefined && end <= nowSeconds) return 'expired';
  return 'active';
}

export function findGrant(config: TrustMarkIssuerConfig, type: string, sub: string): TrustMarkGrant | undefined {
  return config.marks.find((m) => m.trust_mark_type === type && m.sub === sub);
}

const grantSchema = z.strictObject({
  trust_mark_type: z.string().refine((t) => (TRUST_MARK_TYPES as readonly string[]).includes(t), {
    message: `must be one of the trust mark types this issuer issues: ${TRUST_MARK_TYPES.join(', ')}`,
  }),
  sub: z.string().superRefine((v, ctx) => {
    const problem = entityIdProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  max_loa: z
    .string()
    .refine((v) => (LOA_LEVELS as string[]).includes(v), { message: `must be one of ${LOA_LEVELS.join(', ')}` })
    .optional(),
  expires_at: z
    .string()
    .refine((v) => ISO_DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)), {
      message: 'must be a date and time with a time zone, e.g. 2026-12-31T23:59:59+08:00',
    })
    .optional(),
  revoked: z.boolean().optional(),
  comment: z.string().optional(),
});

const configSchema = z.strictObject({
  comment: z.string().optional(),
  marks: z.array(grantSchema),
});

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * Validates a Trust Mark Issuer configuration. Throws ConfigurationError whose path names the
 * field, e.g. `trust-marks.json: marks[2].max_loa: must be one of loa1, loa2, loa3`.
 */
export function parseTrustMarkConfig(raw: unknown, source = 'trust mark configuration'): TrustMarkIssuerConfig {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    if (first.code === 'unrecognized_keys') {
      const key = first.keys[0]!;
      const reason =
        key === 'trust_mark'
          ? 'the signed trust mark is not stored; the issuer signs it on request'
          : 'is not a field of the trust mark configuration (see docs/federation.md)';
      throw new ConfigurationError(`${source}: ${formatPath([...first.path, key])}`, reason + more);
    }
    let message = first.message;
    if (first.code === 'invalid_type' && message.startsWith('Invalid input')) {
      const expected = first.expected === 'object' ? 'a JSON object' : first.expected === 'array' ? 'an array' : `a ${first.expected}`;
      message = `must be ${expected}${first.input === undefined ? ' (missing)' : ''}`;
    }
    throw new ConfigurationError(`${source}: ${formatPath(first.path) || '(root)'}`, message + more);
  }
  const config = parsed.data as TrustMarkIssuerConfig;
  const seen = new Map<string, number>();
  config.marks.forEach((mark, i) => {
    const at = `${source}: marks[${i}]`;
    if (mark.trust_mark_type === REAL_NAME_OP && mark.max_loa === undefined) {
      throw new ConfigurationError(
        `${at}.max_loa`,
        'a real-name-op mark needs max_loa, the highest level of assurance the OP may assert (loa1, loa2 or loa3)',
      );
    }
    if (mark.trust_mark_type !== REAL_NAME_OP && mark.max_loa !== undefined) {
      throw new ConfigurationError(`${at}.max_loa`, 'only real-name-op marks carry max_loa');
    }
    const key = `${mark.trust_mark_type} ${mark.sub}`;
    if (seen.has(key))
      throw new ConfigurationError(
        `${at}.sub`,
        `${mark.sub} already has a ${mark.trust_mark_type} entry (marks[${seen.get(key)}]); one entry per type and entity`,
      );
    seen.set(key, i);
  });
  return config;
}

/** The real-name-op level a topology OP gets by default: loa2 for a city, loa3 for a province or national. */
export function defaultMaxLoa(entity: Entity): LoaLevel {
  return entity.tier === 'city' ? 'loa2' : 'loa3';
}

/** The configuration derived from the topology: every OP gets real-name-op, every portal government-portal. */
export function defaultTrustMarkConfig(topology: Topology): TrustMarkIssuerConfig {
  const marks: TrustMarkGrant[] = [];
  for (const e of topology.entities) {
    if (e.kind === 'op') marks.push({ trust_mark_type: REAL_NAME_OP, sub: e.url, max_loa: defaultMaxLoa(e) });
    else if (e.kind === 'portal') marks.push({ trust_mark_type: GOVERNMENT_PORTAL, sub: e.url });
  }
  return { marks };
}

export function readTrustMarkConfigFile(file: string): TrustMarkIssuerConfig {
  return parseTrustMarkConfig(readJsonFile(file, 'trust mark configuration'), file);
}

/** Validates, then replaces the file atomically (temporary file, fsync, rename). */
export function writeTrustMarkConfigFile(file: string, config: TrustMarkIssuerConfig): TrustMarkIssuerConfig {
  const valid = parseTrustMarkConfig(JSON.parse(JSON.stringify(config)), file);
  writeJsonFileAtomically(file, valid, 'trust mark configuration');
  return valid;
}

/** The issuer's configuration, created from the topology when the file is absent. */
export function loadTrustMarkConfig(dataDir: string, topology: Topology): TrustMarkIssuerConfig {
  const file = trustMarkConfigPath(dataDir);
  if (!fileExists(file, 'trust mark configuration')) return writeTrustMarkConfigFile(file, defaultTrustMarkConfig(topology));
  return readTrustMarkConfigFile(file);
}

export function saveTrustMarkConfig(dataDir: string, config: TrustMarkIssuerConfig): TrustMarkIssuerConfig {
  return writeTrustMarkConfigFile(trustMarkConfigPath(dataDir), config);
}

// ---------------------------------------------------------------------------------------------
// Live reloading (the approach of AuthorityConfigWatcher)
// ---------------------------------------------------------------------------------------------

export type TrustMarkConfigSource = LiveConfigSource<TrustMarkIssuerConfig>;

/** The issuer's configuration, kept current without a restart (see live-config-file.ts). */
export class TrustMarkConfigWatcher extends LiveConfigFile<TrustMarkIssuerConfig> {
  constructor(opts: { file: string; defaults?: () => TrustMarkIssuerConfig; log?: Logger; checkIntervalMs?: number; now?: () => number }) {
    super({
      file: opts.file,
      read: readTrustMarkConfigFile,
      createDefault: opts.defaults ? (file) => void writeTrustMarkConfigFile(file, opts.defaults!()) : undefined,
      label: 'trust mark configuration',
      summary: (c) => ({ marks: c.marks.length }),
      log: opts.log,
      checkIntervalMs: opts.checkIntervalMs,
      now: opts.now,
    });
  }
}

/** The live configuration in `dataDir`, created from the topology when absent. */
export function watchTrustMarkConfig(
  dataDir: string,
  topology: Topology,
  opts: { log?: Logger; checkIntervalMs?: number; now?: () => number } = {},
): TrustMarkConfigWatcher {
  return new TrustMarkConfigWatcher({ file: trustMarkConfigPath(dataDir), defaults: () => defaultTrustMarkConfig(topology), ...opts });
}

// ---------------------------------------------------------------------------------------------
// The issuer
// ---------------------------------------------------------------------------------------------

export type TrustMarkStatus = 'active' | 'expired' | 'revoked' | 'invalid';

export interface TrustMarkIssuerOptions {
  /** The issuer's Entity Identifier (the national platform's). */
  entityId: string;
  /** Its Federation Entity Keys (those of its entity configuration); the first signs. */
  keys: PrivateJwk[] | (() => PrivateJwk[]);
  config: TrustMarkConfigSource;
  /** Lifetime of issued marks in seconds (default one day). */
  lifetimeSeconds?: number;
  /** Per type: a URL with human-readable information about the mark's issuance (`ref`). */
  ref?: Partial<Record<GovIdTrustMarkType, string>>;
  /** Per type: a logo (`logo_uri`). */
  logoUri?: Partial<Record<GovIdTrustMarkType, string>>;
  /** Seconds since the epoch (tests). */
  now?: () => number;
  log?: Logger;
}

const badRequest = (message: string) => new HttpError(400, 'invalid_request', message);
const MAX_FORM_BYTES = 64 * 1024;

function isGovIdType(type: string): type is GovIdTrustMarkType {
  return (TRUST_MARK_TYPES as readonly string[]).includes(type);
}

export class TrustMarkIssuer {
  readonly entityId: string;
  readonly #keys: () => PrivateJwk[];
  readonly #config: TrustMarkConfigSource;
  readonly #lifetime: number;
  readonly #now: () => number;
  readonly #opts: TrustMarkIssuerOptions;

  constructor(opts: TrustMarkIssuerOptions) {
    this.entityId = opts.entityId;
    this.#keys = typeof opts.keys === 'function' ? opts.keys : () => opts.keys as PrivateJwk[];
    this.#config = opts.config;
    this.#lifetime = opts.lifetimeSeconds ?? TRUST_MARK_LIFETIME_SECONDS;
    this.#now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    this.#opts = opts;
  }

  /** The public keys marks are verified with. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys().map(publicJwk) };
  }

  /** A freshly signed mark of `type` for `sub`, or null when `sub` has no active grant of it. */
  async issue(type: string, sub: string): Promise<string | null> {
    if (!isGovIdType(type)) return null;
    const grant = findGrant(this.#config.current(), type, sub);
    const now = this.#now();
    if (!grant || grantState(grant, now) !== 'active') return null;
    const notAfter = expiresAtSeconds(grant);
    const ref = this.#opts.ref?.[type];
    const logoUri = this.#opts.logoUri?.[type];
    const jwt = await issueTrustMark({
      issuer: this.entityId,
      subject: sub,
      trustMarkType: type,
      keys: this.#keys(),
      now,
      lifetimeSeconds: this.#lifetime,
      ...(notAfter !== undefined ? { notAfter } : {}),
      ...(grant.max_loa ? { maxLoa: grant.max_loa } : {}),
      ...(ref ? { ref } : {}),
      ...(logoUri ? { logoUri } : {}),
    });
    this.#opts.log?.debug('trust mark issued', { trust_mark_type: type, sub });
    return jwt;
  }

  /**
   * The status of a mark (§8.4), or null when this issuer did not issue it (another `iss`).
   * Throws TrustMarkError('malformed') when it is not a JWT.
   */
  async status(jwt: string): Promise<TrustMarkStatus | null> {
    const claims = peekTrustMark(jwt);
    if (!claims) throw new TrustMarkError('malformed', 'not a compact JWS');
    if (claims.iss !== this.entityId) return null;
    const now = this.#now();
    let verified;
    try {
      verified = await verifyTrustMark(jwt, { issuerKeys: this.jwks(), expectedIssuer: this.entityId, now });
    } catch (err) {
      if (!(err instanceof TrustMarkError)) throw err;
      return err.check === 'expired' ? 'expired' : 'invalid';
    }
    if (!isGovIdType(verified.trust_mark_type)) return 'invalid';
    const grant = findGrant(this.#config.current(), verified.trust_mark_type, verified.sub);
    if (!grant) return 'revoked';
    const state = grantState(grant, now);
    if (state !== 'active') return state;
    if (verified.trust_mark_type === REAL_NAME_OP && verified.max_loa !== grant.max_loa) return 'revoked';
    return 'active';
  }

  /** The signed Trust Mark Status response (§8.4.2). */
  async statusResponse(jwt: string, status: TrustMarkStatus): Promise<string> {
    const key = this.#keys()[0];
    if (!key) throw new Error(`${this.entityId} has no federation key to sign with`);
    return new SignJWT({ trust_mark: jwt, status })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TRUST_MARK_STATUS_RESPONSE_TYP })
      .setIssuer(this.entityId)
      .setIssuedAt(this.#now())
      .sign(await importJWK(key, key.alg));
  }

  /** The entities holding an active mark of `type` (optionally only `sub`); null for a type this issuer does not issue. */
  list(type: string, sub?: string): string[] | null {
    if (!isGovIdType(type)) return null;
    const now = this.#now();
    return this.#config
      .current()
      .marks.filter((m) => m.trust_mark_type === type && (sub === undefined || m.sub === sub) && grantState(m, now) === 'active')
      .map((m) => m.sub);
  }

  /** The three endpoints; other requests pass through to `next`. Mount before anything else that might answer these paths. */
  middleware(): Koa.Middleware {
    const handlers: Record<string, { methods: string[]; run: (ctx: Koa.Context) => Promise<void> }> = {
      [TRUST_MARK_PATH]: { methods: ['GET', 'HEAD'], run: (ctx) => this.#trustMarkEndpoint(ctx) },
      [TRUST_MARK_STATUS_PATH]: { methods: ['POST'], run: (ctx) => this.#statusEndpoint(ctx) },
      [TRUST_MARK_LIST_PATH]: { methods: ['GET', 'HEAD'], run: (ctx) => this.#listEndpoint(ctx) },
    };
    return async (ctx, next) => {
      const handler = handlers[ctx.path];
      if (!handler) return next();
      try {
        if (!handler.methods.includes(ctx.method)) {
          ctx.set('Allow', handler.methods.join(', '));
          throw new HttpError(
            405,
            'invalid_request',
            `use ${handler.methods[0]}${handler.methods[0] === 'GET' ? '; client authentication at federation endpoints is not supported' : ''}`,
          );
        }
        await handler.run(ctx);
      } catch (err) {
        const e =
          err instanceof HttpError
            ? err
            : (this.#opts.log?.error('trust mark endpoint failed', { err, path: ctx.path }),
              new HttpError(500, 'server_error', 'internal error'));
        ctx.status = e.status;
        ctx.type = 'application/json';
        ctx.body = { error: e.code, error_description: e.message };
      }
    };
  }

  async #trustMarkEndpoint(ctx: Koa.Context): Promise<void> {
    const params = queryParams(ctx);
    const type = single(params, 'trust_mark_type');
    const sub = single(params, 'sub');
    const jwt = await this.issue(type, sub);
    if (!jwt) {
      throw new HttpError(
        404,
        'not_found',
        isGovIdType(type) ? `${sub} does not have the trust mark ${type}` : `${this.entityId} does not issue trust marks of type ${type}`,
      );
    }
    ctx.status = 200;
    ctx.type = TRUST_MARK_MEDIA_TYPE;
    ctx.body = jwt;
  }

  async #statusEndpoint(ctx: Koa.Context): Promise<void> {
    const params = await readForm(ctx);
    const jwt = single(params, 'trust_mark');
    let status: TrustMarkStatus | null;
    try {
      status = await this.status(jwt);
    } catch (err) {
      if (err instanceof TrustMarkError) throw badRequest('trust_mark is not a JWT');
      throw err;
    }
    if (status === null) throw new HttpError(404, 'not_found', `the trust mark was not issued by ${this.entityId}`);
    ctx.status = 200;
    ctx.type = TRUST_MARK_STATUS_RESPONSE_MEDIA_TYPE;
    ctx.body = await this.statusResponse(jwt, status);
  }

  async #listEndpoint(ctx: Koa.Context): Promise<void> {
    const params = queryParams(ctx);
    const type = single(params, 'trust_mark_type');
    const sub = single(params, 'sub', false);
    const ids = this.list(type, sub);
    if (ids === null) throw new HttpError(404, 'not_found', `${this.entityId} does not issue trust marks of type ${type}`);
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = ids;
  }
}

/** The issuer's endpoints as one middleware (see {@link TrustMarkIssuer.middleware}). */
export function trustMarkIssuerEndpoints(opts: TrustMarkIssuerOptions): Koa.Middleware {
  return new TrustMarkIssuer(opts).middleware();
}

// ---------------------------------------------------------------------------------------------
// Request parameters
// ---------------------------------------------------------------------------------------------

type Params = Map<string, string[]>;

function queryParams(ctx: Koa.Context): Params {
  const params: Params = new Map();
  for (const [name, value] of Object.entries(ctx.query))
    params.set(name, value === undefined ? [] : Array.isArray(value) ? value : [value]);
  return params;
}

function single(params: Params, name: string): string;
function single(params: Params, name: string, required: false): string | undefined;
function single(params: Params, name: string, required = true): string | undefined {
  const all = params.get(name) ?? [];
  if (all.length > 1) throw badRequest(`the ${name} parameter must be given once`);
  const v = all[0];
  if (v === undefined || v === '') {
    if (required) throw badRequest(`required parameter ${name} is missing`);
    return undefined;
  }
  return v;
}

/** The form parameters of a POST (§8.4.1: application/x-www-form-urlencoded), read up to 64 KiB. */
async function readForm(ctx: Koa.Context): Promise<Params> {
  const params: Params = new Map();
  const parsed = (ctx.request as { body?: unknown }).body;
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.keys(parsed).length) {
    // An earlier body parser has read it already.
    for (const [name, value] of Object.entries(parsed)) params.set(name, (Array.isArray(value) ? value : [value]).map(String));
    return params;
  }
  if (!ctx.is('application/x-www-form-urlencoded'))
    throw badRequest('the request must be application/x-www-form-urlencoded, with the trust_mark parameter');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.req) {
    total += (chunk as Buffer).length;
    if (total > MAX_FORM_BYTES) throw new HttpError(413, 'invalid_request', `the request body exceeds ${MAX_FORM_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  for (const [name, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
    params.set(name, [...(params.get(name) ?? []), value]);
  return params;
}
