/**
 * Trust Marks (OpenID Federation 1.0 §7): signed statements by a Trust Mark Issuer that an entity
 * meets a set of criteria. gov-id defines two Trust Mark types, both issued by the national
 * platform (the Trust Anchor, which lists itself as their issuer in the `trust_mark_issuers`
 * claim of its entity configuration):
 *
 * - {@link REAL_NAME_OP} "real-name OP" (实名认证身份提供方): the entity is an OpenID Provider of
 *   the federation whose accounts are real-name verified. The mark carries `max_loa`, the highest
 *   level of assurance (`loa1`…`loa3`, i.e. `acr` `urn:gov-id:loa:1`…`3`) the OP may assert;
 *   an ID token from that OP with a higher `acr` must not be believed.
 * - {@link GOVERNMENT_PORTAL} "government portal" (政务服务门户): the entity is a government-service
 *   portal (a relying party) admitted to the federation.
 *
 * A Trust Mark is a JWT with the header `typ: trust-mark+jwt`, `alg` and `kid` (a Federation
 * Entity Key of the issuer), and the claims `iss`, `sub`, `trust_mark_type`, `iat`, optionally
 * `exp`, `logo_uri`, `ref` and `delegation` (§7.1), plus gov-id's `max_loa`.
 *
 * This module signs ({@link issueTrustMark}) and validates ({@link verifyTrustMark}, §7.3, with
 * delegation §7.2.2) Trust Marks; no I/O happens here except through the key resolver the caller
 * passes in ({@link trustMarkIssuerKeyResolver} is the one that establishes trust in an issuer
 * through a Trust Chain, as §7.3 requires). The issuer's endpoints are in
 * federation/trust-mark-issuer.ts, the holder's side in federation/trust-mark-holder.ts.
 *
 * Why these identifiers: §7.1 requires a Trust Mark type identifier to be collision-resistant
 * across federations and recommends a URL identifying the federation or trust framework. They
 * are names, not locations: nothing is fetched from them, and they must never change while marks
 * are in use (every verifier compares them byte for byte, and a renamed type is a different type).
 * They are therefore not derived from any entity's URL (the national platform's URL differs
 * between the demo and a deployment, and may move); `gov-id.example` is a reserved name
 * (RFC 2606) that no one else can own, so the demo identifiers cannot collide with another
 * federation's. The path names the framework (`trust-marks/`) and the criterion.
 */
import { compactVerify, decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import { LOA_LEVELS, type LoaLevel } from '../idp/loa.ts';
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { TrustChainError } from './federation-errors.ts';
import { resolveTrustChain, DEFAULT_ALGORITHMS, type StatementFetcher, type TrustAnchor, PRIVATE_MEMBERS } from './trust-chain.ts';

// ---------------------------------------------------------------------------------------------
// Identifiers and media types
// ---------------------------------------------------------------------------------------------

/** The trust framework's namespace; every gov-id Trust Mark type identifier starts with it. */
export const TRUST_MARK_TYPE_NAMESPACE = 'https://gov-id.example/trust-marks/';
/** "Real-name OP": an OpenID Provider with real-name accounts; carries `max_loa`. */
export const REAL_NAME_OP = `${TRUST_MARK_TYPE_NAMESPACE}real-name-op`;
/** "Government portal": a government-service portal (relying party) of the federation. */
export const GOVERNMENT_PORTAL = `${TRUST_MARK_TYPE_NAMESPACE}government-portal`;
/** The types the national platform issues. */
export const TRUST_MARK_TYPES = [REAL_NAME_OP, GOVERNMENT_PORTAL] as const;
export type GovIdTrustMarkType = (typeof TRUST_MARK_TYPES)[number];
/** Short names for the command line. */
export const TRUST_MARK_SHORT_NAMES: Record<string, GovIdTrustMarkType> = {
  'real-name-op': REAL_NAME_OP,
  'government-portal': GOVERNMENT_PORTAL,
};

/** §7: the `typ` header of a Trust Mark. */
export const TRUST_MARK_TYP = 'trust-mark+jwt';
/** §8.6.2: the content type of the Trust Mark endpoint's answer. */
export const TRUST_MARK_MEDIA_TYPE = 'application/trust-mark+jwt';
/** §7.2.1: the `typ` header of a Trust Mark delegation. */
export const TRUST_MARK_DELEGATION_TYP = 'trust-mark-delegation+jwt';
/** §8.4.2: the `typ` header and content type of a Trust Mark Status response. */
export const TRUST_MARK_STATUS_RESPONSE_TYP = 'trust-mark-status-response+jwt';
export const TRUST_MARK_STATUS_RESPONSE_MEDIA_TYPE = 'application/trust-mark-status-response+jwt';

/** One day: marks are short-lived (§19.2 privacy), and refreshed by their holders well before. */
export const TRUST_MARK_LIFETIME_SECONDS = 24 * 3600;
const MAX_CLOCK_SKEW_SECONDS = 60;
const MAX_JWT_BYTES = 16 * 1024;

/** The Trust Mark type for a command-line value: a short name (`real-name-op`) or the full identifier. */
export function govIdTrustMarkType(nameOrUri: string): GovIdTrustMarkType | null {
  if ((TRUST_MARK_TYPES as readonly string[]).includes(nameOrUri)) return nameOrUri as GovIdTrustMarkType;
  return TRUST_MARK_SHORT_NAMES[nameOrUri] ?? null;
}

/** The short name of a gov-id type (`real-name-op`), or the identifier itself for another type. */
export function trustMarkShortName(type: string): string {
  return Object.entries(TRUST_MARK_SHORT_NAMES).find(([, uri]) => uri === type)?.[0] ?? type;
}

// ---------------------------------------------------------------------------------------------
// Levels of assurance
// ---------------------------------------------------------------------------------------------

/** `max_loa` of a real-name-op mark: `loa1`, `loa2` or `loa3`; null for anything else. */
export function parseMaxLoa(value: unknown): LoaLevel | null {
  return typeof value === 'string' && (LOA_LEVELS as string[]).includes(value) ? (value as LoaLevel) : null;
}

/** Whether `level` is at most `max` (loa1 < loa2 < loa3). */
export function loaWithin(level: LoaLevel, max: LoaLevel): boolean {
  return LOA_LEVELS.indexOf(level) <= LOA_LEVELS.indexOf(max);
}

// ---------------------------------------------------------------------------------------------
// Types and errors
// ---------------------------------------------------------------------------------------------

/** The claims of a Trust Mark (§7.1) as gov-id reads them. */
export interface TrustMarkClaims {
  iss: string;
  sub: string;
  trust_mark_type: string;
  iat: number;
  exp?: number;
  logo_uri?: string;
  ref?: string;
  delegation?: string;
  /** real-name-op only: the highest level of assurance the OP may assert. */
  max_loa?: LoaLevel;
  [claim: string]: unknown;
}

/** An element of the `trust_marks` claim of an entity configuration (§3.1.2). */
export interface TrustMarkEntry {
  trust_mark_type: string;
  trust_mark: string;
}

/** What the Trust Anchor's entity configuration says about Trust Marks (§3.1.2, §7.2). */
export interface TrustAnchorTrustMarkConfig {
  entityId: string;
  /** Trust Mark type → the Entity Identifiers allowed to issue it ([] means anyone). */
  trust_mark_issuers?: Record<string, string[]>;
  /** Trust Mark type → its owner, when the owner delegates issuance. */
  trust_mark_owners?: Record<string, { sub: string; jwks: { keys: JWK[] } }>;
}

/** The check that rejected a Trust Mark. */
export type TrustMarkCheck =
  | 'malformed' // not a compact JWS with JSON header and claims, or too large
  | 'typ' // typ header is not trust-mark+jwt
  | 'alg' // alg is none or not accepted
  | 'kid' // kid header missing
  | 'claims' // iss, sub, trust_mark_type or iat missing or of the wrong type; logo_uri/ref not URLs
  | 'issuer' // iss is not the expected issuer, or its keys cannot be obtained
  | 'untrusted_issuer' // the Trust Anchor does not accept this issuer (or this type at all)
  | 'signature' // signature does not validate with the issuer's key named by kid
  | 'type' // trust_mark_type is not the expected one
  | 'subject' // sub is not the expected entity
  | 'not_yet_valid' // iat in the future
  | 'expired' // exp in the past
  | 'delegation' // delegation required and missing, or invalid
  | 'max_loa' // a real-name-op mark without a valid max_loa, or below the level required
  | 'missing'; // the entity has no mark of the required type

export class TrustMarkError extends Error {
  readonly check: TrustMarkCheck;
  /** What exactly was wrong (the message without the prefix). */
  readonly detail: string;
  readonly trustMarkType: string | undefined;
  readonly subject: string | undefined;

  constructor(
    check: TrustMarkCheck,
    detail: string,
    about: { type?: string | undefined; sub?: string | undefined } = {},
    options?: { cause?: unknown },
  ) {
    const what = about.type ? `trust mark ${trustMarkShortName(about.type)}${about.sub ? ` of ${about.sub}` : ''}` : 'trust mark';
    super(`${what}: ${check}: ${detail}`, options);
    this.name = 'TrustMarkError';
    this.check = check;
    this.detail = detail;
    this.trustMarkType = about.type;
    this.subject = about.sub;
  }
}

// ---------------------------------------------------------------------------------------------
// Issuing
// ---------------------------------------------------------------------------------------------

export interface IssueTrustMarkInput {
  /** The issuer's Entity Identifier. */
  issuer: string;
  /** The Entity Identifier of the entity the mark is about. */
  subject: string;
  trustMarkType: string;
  /** The issuer's Federation Entity Keys; the first one signs (§7: "MUST be one of the private keys in its set of Federation Entity Keys"). */
  keys: PrivateJwk[];
  /** Required for real-name-op marks, refused for others. */
  maxLoa?: LoaLevel;
  /** Seconds since the epoch (default: now). */
  now?: number;
  /** Default one day; null for a mark without exp. */
  lifetimeSeconds?: number | null;
  /** The mark never outlives this (seconds since the epoch), e.g. the end of the grant. */
  notAfter?: number;
  logoUri?: string;
  ref?: string;
  delegation?: string;
}

/** Signs a Trust Mark (`typ: trust-mark+jwt`). */
export async function issueTrustMark(input: IssueTrustMarkInput): Promise<string> {
  const key = input.keys[0];
  if (!key) throw new Error(`${input.issuer} has no federation key to sign trust marks with`);
  if (input.trustMarkType === REAL_NAME_OP && !parseMaxLoa(input.maxLoa))
    throw new Error('a real-name-op trust mark needs maxLoa (loa1, loa2 or loa3)');
  if (input.trustMarkType !== REAL_NAME_OP && input.maxLoa !== undefined) throw new Error('only real-name-op trust marks carry max_loa');
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const lifetime = input.lifetimeSeconds === undefined ? TRUST_MARK_LIFETIME_SECONDS : input.lifetimeSeconds;
  const candidates = [lifetime === null ? Infinity : now + lifetime, input.notAfter ?? Infinity];
  const exp = Math.min(...candidates);
  const claims: Record<string, unknown> = { iss: input.issuer, sub: input.subject, trust_mark_type: input.trustMarkType, iat: now };
  if (Number.isFinite(exp)) claims.exp = exp;
  if (input.maxLoa !== undefined) claims.max_loa = input.maxLoa;
  if (input.logoUri) claims.logo_uri = input.logoUri;
  if (input.ref) claims.ref = input.ref;
  if (input.delegation) claims.delegation = input.delegation;
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TRUST_MARK_TYP }).sign(await importJWK(key, key.alg));
}

// ---------------------------------------------------------------------------------------------
// Validating (§7.3)
// ---------------------------------------------------------------------------------------------

type Jwks = { keys: JWK[] };

export interface VerifyTrustMarkOptions {
  /**
   * The issuer's Federation Entity Keys, or a function that gives the keys of a trusted issuer
   * (null when the issuer cannot be trusted or its keys cannot be obtained). §7.3: trust in the
   * issuer comes first — see {@link trustMarkIssuerKeyResolver}.
   */
  issuerKeys: Jwks | ((issuer: string) => Promise<Jwks | null>);
  /**
   * The Trust Anchor's `trust_mark_issuers` and `trust_mark_owners`. When given, gov-id's
   * federation policy (§17.5) applies: a mark is accepted only if its type is listed in
   * `trust_mark_issuers` (or `trust_mark_owners`) and its issuer is allowed for that type.
   */
  trustAnchor?: TrustAnchorTrustMarkConfig;
  /** The Trust Mark type the caller wants. */
  expectedType?: string;
  /** The entity the mark must be about: the entity whose entity configuration holds it. */
  subject?: string;
  /** The issuer the mark must come from. */
  expectedIssuer?: string;
  /** Seconds since the epoch (default: now). */
  now?: number;
  /** Leeway for iat/exp in seconds (default and maximum 60). */
  clockSkewSeconds?: number;
  /** Accepted JWS algorithms (default ES256, RS256, PS256, EdDSA; never none). */
  algorithms?: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Splits a compact JWS and decodes its header and claims (no signature check). */
function decodeCompact(
  jwt: unknown,
  what: string,
  maxBytes = MAX_JWT_BYTES,
): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  if (typeof jwt !== 'string') throw new Error(`${what} is not a string`);
  if (Buffer.byteLength(jwt) > maxBytes) throw new Error(`${what} exceeds ${maxBytes} bytes`);
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) throw new Error(`${what} is not a compact JWS (three base64url parts)`);
  const json = (segment: string) => {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url')));
    if (!isObject(value)) throw new Error('not a JSON object');
    return value;
  };
  try {
    return { header: json(parts[0]!), claims: json(parts[1]!) };
  } catch (err) {
    throw new Error(`${what} does not decode (${(err as Error).message})`);
  }
}

/** The unverified claims of a Trust Mark, or null if it is not a JWT (for routing and logging only). */
export function peekTrustMark(jwt: string): Record<string, unknown> | null {
  try {
    return decodeCompact(jwt, 'trust mark').claims;
  } catch {
    return null;
  }
}

function isUrl(v: unknown): boolean {
  return typeof v === 'string' && URL.canParse(v);
}

/** Verifies `jwt` with the key of `keys` named by `kid`; returns a reason on failure. */
async function signatureProblem(jwt: string, header: Record<string, unknown>, keys: JWK[], whose: string): Promise<string | null> {
  const kid = header.kid as string;
  const alg = header.alg as string;
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) return `signing key ${kid} is not among ${whose}`;
  if (jwk.alg !== undefined && jwk.alg !== alg) return `key ${kid} of ${whose} is for ${jwk.alg}, the JWT uses ${alg}`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return `key ${kid} of ${whose} is not a signing key`;
  const pub: Record<string, unknown> = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete pub[m];
  try {
    await compactVerify(jwt, await importJWK(pub as JWK, alg), { algorithms: [alg] });
    return null;
  } catch (err) {
    return `signature does not validate with key ${kid} of ${whose} (${(err as Error).message})`;
  }
}

function checkJoseHeader(
  header: Record<string, unknown>,
  typ: string,
  algorithms: ReadonlySet<string>,
): { check: TrustMarkCheck; detail: string } | null {
  if (header.typ !== typ) return { check: 'typ', detail: `typ is ${JSON.stringify(header.typ)}, not ${typ}` };
  if (typeof header.alg !== 'string' || header.alg === 'none' || !algorithms.has(header.alg))
    return { check: 'alg', detail: `alg ${JSON.stringify(header.alg)} is not accepted` };
  if (typeof header.kid !== 'string' || header.kid.length === 0) return { check: 'kid', detail: 'kid header parameter missing or empty' };
  return null;
}

/**
 * Validates a Trust Mark (§7.3) and returns its claims; throws a {@link TrustMarkError} naming the
 * failed check. Checks, in order: a compact JWS of at most 16 KiB; `typ` trust-mark+jwt; `alg`
 * accepted and not none; `kid` present; `iss`, `sub`, `trust_mark_type`, `iat` (and `exp`,
 * `logo_uri`, `ref` when present) well-formed; the expected issuer; the Trust Anchor's
 * acceptance of the issuer for the type; the signature with the issuer's key named by `kid`; the
 * expected type and subject; `iat` not in the future and `exp` not past (60 s leeway); a
 * delegation when the type has an owner, and the delegation itself (§7.2.2); for real-name-op,
 * a valid `max_loa`.
 *
 * The signature is checked before the times, so a forged expired mark is reported as a bad
 * signature, not as expired.
 */
export async function verifyTrustMark(jwt: string, opts: VerifyTrustMarkOptions): Promise<TrustMarkClaims> {
  const algorithms = new Set((opts.algorithms ?? [...DEFAULT_ALGORITHMS]).filter((a) => a !== 'none'));
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const skew = Math.min(Math.max(opts.clockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS, 0), MAX_CLOCK_SKEW_SECONDS);
  let about: { type?: string; sub?: string } = {
    ...(opts.expectedType ? { type: opts.expectedType } : {}),
    ...(opts.subject ? { sub: opts.subject } : {}),
  };
  const fail = (check: TrustMarkCheck, detail: string, cause?: unknown): never => {
    throw new TrustMarkError(check, detail, about, cause === undefined ? undefined : { cause });
  };

  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    ({ header, claims } = decodeCompact(jwt, 'the trust mark'));
  } catch (err) {
    return fail('malformed', (err as Error).message);
  }
  if (typeof claims.trust_mark_type === 'string') about = { ...about, type: claims.trust_mark_type };
  if (typeof claims.sub === 'string') about = { ...about, sub: claims.sub };

  const bad = checkJoseHeader(header, TRUST_MARK_TYP, algorithms);
  if (bad) fail(bad.check, bad.detail);

  for (const name of ['iss', 'sub', 'trust_mark_type'] as const) {
    if (typeof claims[name] !== 'string' || (claims[name] as string).length === 0) fail('claims', `${name} is missing or not a string`);
  }
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) fail('claims', 'iat is missing or not a number');
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp))) fail('claims', 'exp is not a number');
  for (const name of ['logo_uri', 'ref'] as const) {
    if (claims[name] !== undefined && !isUrl(claims[name])) fail('claims', `${name} is not a URL`);
  }
  if (claims.delegation !== undefined && typeof claims.delegation !== 'string') fail('claims', 'delegation is not a JWT');
  const tm = claims as TrustMarkClaims;

  if (opts.expectedIssuer !== undefined && tm.iss !== opts.expectedIssuer)
    fail('issuer', `issued by ${tm.iss}, expected ${opts.expectedIssuer}`);

  // Federation policy (§17.5): the Trust Anchor names the issuers of each type it recognizes.
  const anchor = opts.trustAnchor;
  const owner = anchor?.trust_mark_owners?.[tm.trust_mark_type];
  if (anchor) {
    const issuers = anchor.trust_mark_issuers?.[tm.trust_mark_type];
    if (issuers === undefined && owner === undefined)
      fail('untrusted_issuer', `trust anchor ${anchor.entityId} does not recognize trust mark type ${tm.trust_mark_type}`);
    if (issuers !== undefined && issuers.length > 0 && !issuers.includes(tm.iss)) {
      fail(
        'untrusted_issuer',
        `${tm.iss} is not an issuer of ${tm.trust_mark_type} for trust anchor ${anchor.entityId} (its issuers: ${issuers.join(', ')})`,
      );
    }
  }

  let keys: Jwks | null;
  try {
    keys = typeof opts.issuerKeys === 'function' ? await opts.issuerKeys(tm.iss) : opts.issuerKeys;
  } catch (err) {
    return fail('issuer', `the keys of issuer ${tm.iss} cannot be obtained (${(err as Error).message})`, err);
  }
  if (!keys) fail('issuer', `issuer ${tm.iss} is not trusted, or its keys cannot be obtained`);
  const sigProblem = await signatureProblem(jwt, header, keys!.keys, `the federation keys of ${tm.iss}`);
  if (sigProblem) fail('signature', sigProblem);

  if (opts.expectedType !== undefined && tm.trust_mark_type !== opts.expectedType)
    fail('type', `trust_mark_type is ${tm.trust_mark_type}, expected ${opts.expectedType}`);
  // "The Entity Identifier of the Entity whose Entity Configuration contains the instance MUST match the value of the Claim sub."
  if (opts.subject !== undefined && tm.sub !== opts.subject) fail('subject', `issued to ${tm.sub}, not to ${opts.subject}`);
  if (tm.iat > now + skew) fail('not_yet_valid', `iat ${tm.iat} is in the future (now ${now})`);
  if (tm.exp !== undefined && tm.exp <= now - skew) fail('expired', `expired at ${new Date(tm.exp * 1000).toISOString()}`);

  if (owner && tm.delegation === undefined)
    fail('delegation', `trust mark type ${tm.trust_mark_type} is owned by ${owner.sub}; a delegation is required`);
  if (tm.delegation !== undefined) {
    if (!owner)
      fail(
        'delegation',
        `the mark carries a delegation, but trust mark type ${tm.trust_mark_type} has no owner in the trust anchor's trust_mark_owners`,
      );
    await verifyDelegation(tm, owner!, algorithms, now, skew, fail);
  }

  if (tm.trust_mark_type === REAL_NAME_OP) {
    if (!parseMaxLoa(tm.max_loa))
      fail('max_loa', `max_loa is ${JSON.stringify(tm.max_loa)}; a real-name-op mark carries loa1, loa2 or loa3`);
  }
  return tm;
}

/** §7.2.2: validates the delegation of `tm` by `owner`. */
async function verifyDelegation(
  tm: TrustMarkClaims,
  owner: { sub: string; jwks: Jwks },
  algorithms: ReadonlySet<string>,
  now: number,
  skew: number,
  fail: (check: TrustMarkCheck, detail: string) => never,
): Promise<void> {
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    ({ header, claims } = decodeCompact(tm.delegation, 'the delegation'));
  } catch (err) {
    return fail('delegation', (err as Error).message);
  }
  const bad = checkJoseHeader(header, TRUST_MARK_DELEGATION_TYP, algorithms);
  if (bad) fail('delegation', `delegation: ${bad.detail}`);
  if (claims.sub !== tm.iss) fail('delegation', `the delegation is for ${JSON.stringify(claims.sub)}, not for the issuer ${tm.iss}`);
  if (claims.iss !== owner.sub)
    fail('delegation', `the delegation is issued by ${JSON.stringify(claims.iss)}, not by the owner ${owner.sub}`);
  if (claims.trust_mark_type !== tm.trust_mark_type)
    fail('delegation', `the delegation is for trust mark type ${JSON.stringify(claims.trust_mark_type)}`);
  if (typeof claims.iat !== 'number' || claims.iat > now + skew) fail('delegation', 'the delegation has no iat, or it is in the future');
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || claims.exp <= now - skew))
    fail('delegation', 'the delegation has expired');
  const problem = await signatureProblem(tm.delegation!, header, owner.jwks.keys, `the keys of owner ${owner.sub}`);
  if (problem) fail('delegation', `delegation: ${problem}`);
}

// ---------------------------------------------------------------------------------------------
// Trust in the issuer, and the marks of an entity
// ---------------------------------------------------------------------------------------------

/** `trust_mark_issuers` and `trust_mark_owners` from the Trust Anchor's entity configuration (a JWT already verified, or its claims). */
export function trustAnchorTrustMarkConfig(anchorEntityConfiguration: string | Record<string, unknown>): TrustAnchorTrustMarkConfig {
  const claims = typeof anchorEntityConfiguration === 'string' ? decodeJwt(anchorEntityConfiguration) : anchorEntityConfiguration;
  if (typeof claims.sub !== 'string') throw new Error('not an entity configuration (no sub)');
  const config: TrustAnchorTrustMarkConfig = { entityId: claims.sub };
  if (isObject(claims.trust_mark_issuers)) config.trust_mark_issuers = claims.trust_mark_issuers as Record<string, string[]>;
  if (isObject(claims.trust_mark_owners))
    config.trust_mark_owners = claims.trust_mark_owners as TrustAnchorTrustMarkConfig['trust_mark_owners'] & object;
  return config;
}

/**
 * Establishes trust in Trust Mark Issuers (§7.3: "An Entity MUST therefore establish trust in
 * the Trust Mark Issuer" first): the anchor itself is trusted with its configured keys; any other
 * issuer needs a valid Trust Chain to the anchor, and its keys are those of its entity
 * configuration in that chain. Results are remembered until the chain expires (at most `ttlSeconds`).
 */
export function trustMarkIssuerKeyResolver(opts: {
  trustAnchor: TrustAnchor;
  fetcher: StatementFetcher;
  allowHttpEntityIds?: boolean;
  ttlSeconds?: number;
  now?: () => number;
}): (issuer: string) => Promise<Jwks | null> {
  const cache = new Map<string, { keys: Jwks; until: number }>();
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const ttl = opts.ttlSeconds ?? 300;
  return async (issuer) => {
    if (issuer === opts.trustAnchor.entityId) return opts.trustAnchor.jwks;
    const hit = cache.get(issuer);
    if (hit && hit.until > now()) return hit.keys;
    try {
      const chain = await resolveTrustChain(issuer, {
        trustAnchors: [opts.trustAnchor],
        fetcher: opts.fetcher,
        allowHttpEntityIds: opts.allowHttpEntityIds ?? false,
      });
      const keys = decodeJwt(chain.statements[0]!).jwks as Jwks;
      cache.set(issuer, { keys, until: Math.min(chain.expiresAt, now() + ttl) });
      return keys;
    } catch (err) {
      if (err instanceof TrustChainError) return null;
      throw err;
    }
  };
}

export interface EntityTrustMarks {
  /** The valid marks by type (the first valid one of each type). */
  valid: Map<string, TrustMarkClaims>;
  /** Why the others were not accepted. */
  rejected: TrustMarkError[];
}

/**
 * Validates the Trust Marks an entity publishes (its `trust_marks` claim, e.g. `chain.trustMarks`
 * of a resolved Trust Chain) for `subject`. Invalid marks are set aside with the reason, never thrown.
 */
export async function verifyEntityTrustMarks(
  subject: string,
  trustMarks: unknown[] | undefined,
  opts: Omit<VerifyTrustMarkOptions, 'subject' | 'expectedType'>,
): Promise<EntityTrustMarks> {
  const result: EntityTrustMarks = { valid: new Map(), rejected: [] };
  for (const entry of trustMarks ?? []) {
    const e = entry as Partial<TrustMarkEntry>;
    if (!isObject(entry) || typeof e.trust_mark !== 'string' || typeof e.trust_mark_type !== 'string') {
      result.rejected.push(
        new TrustMarkError('malformed', 'each trust_marks element needs trust_mark_type and trust_mark strings', { sub: subject }),
      );
      continue;
    }
    if (result.valid.has(e.trust_mark_type)) continue;
    try {
      result.valid.set(e.trust_mark_type, await verifyTrustMark(e.trust_mark, { ...opts, subject, expectedType: e.trust_mark_type }));
    } catch (err) {
      if (!(err instanceof TrustMarkError)) throw err;
      result.rejected.push(err);
    }
  }
  return result;
}

/**
 * Where policy requires a Trust Mark (e.g. an OP accepting a portal only with a government-portal
 * mark, or believing an `acr` only up to a real-name-op mark's `max_loa`): returns the valid mark
 * of `type` among the entity's `trustMarks`, or throws a TrustMarkError — `missing` (with the
 * reasons the published marks of that type were refused), or `max_loa` when `minLoa` is above
 * the mark's max_loa.
 */
export async function requireTrustMark(
  subject: string,
  trustMarks: unknown[] | undefined,
  type: string,
  opts: Omit<VerifyTrustMarkOptions, 'subject' | 'expectedType'> & { minLoa?: LoaLevel },
): Promise<TrustMarkClaims> {
  const { minLoa, ...verifyOpts } = opts;
  const { valid, rejected } = await verifyEntityTrustMarks(subject, trustMarks, verifyOpts);
  const mark = valid.get(type);
  if (!mark) {
    const why = rejected.filter((r) => r.trustMarkType === type).map((r) => r.message);
    throw new TrustMarkError(
      'missing',
      `${subject} has no valid ${trustMarkShortName(type)} trust mark${why.length ? ` (${why.join('; ')})` : ''}`,
      { type, sub: subject },
    );
  }
  if (minLoa !== undefined && (!mark.max_loa || !loaWithin(minLoa, mark.max_loa))) {
    throw new TrustMarkError('max_loa', `${minLoa} is above the max_loa ${mark.max_loa ?? '(none)'} of the mark`, { type, sub: subject });
  }
  return mark;
}
