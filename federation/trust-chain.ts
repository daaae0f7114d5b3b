/**
 * Trust Chain resolution and validation (OpenID Federation 1.0: §3 "Entity Statement", §3.2
 * "Entity Statement Validation", §4 "Trust Chain", §6.1 "Metadata Policy", §6.2 "Constraints",
 * §10 "Resolving the Trust Chain and Metadata").
 *
 * - resolveTrustChain walks a subject's authority_hints up to a configured Trust Anchor, fetching
 *   entity configurations and subordinate statements through a StatementFetcher, and returns
 *   the first chain that validates (breadth-first, so a shortest valid chain is returned).
 * - validateTrustChain validates a chain handed over as an array of statements (e.g. a
 *   `trust_chain` request parameter or JWS header).
 * - TrustChainCache keeps resolved chains until they expire.
 *
 * No I/O happens here except through the StatementFetcher the caller passes in;
 * httpStatementFetcher is the ordinary HTTP one.
 *
 * Where the specification leaves a choice or is silent, the choice is marked "SPEC CHOICE".
 */
import { compactVerify, importJWK, type JWK } from 'jose';
import {
  entityConfigurationLabel,
  MetadataPolicyError,
  subordinateStatementLabel,
  TrustChainError,
  type TrustChainCheck,
} from './federation-errors.ts';
import { ENTITY_CONFIGURATION_PATH, ENTITY_STATEMENT_TYP } from './entity-configuration.ts';
import { applyPolicy, combinePolicies, SUPPORTED_ADDITIONAL_OPERATORS, validatePolicy, type MetadataPolicy } from './metadata-policy.ts';

const ENTITY_STATEMENT_MEDIA_TYPE = 'application/entity-statement+jwt';

export const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
const DEFAULT_MAX_PATH_LENGTH = 5;
const DEFAULT_MAX_JWT_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 3000;
const MAX_CLOCK_SKEW_SECONDS = 60;
const DEFAULT_MAX_AUTHORITY_HINTS = 10;
const DEFAULT_MAX_FETCHES = 100;

export interface StatementFetcher {
  /** Returns the compact JWT served at the entity's configuration endpoint. */
  entityConfiguration(entityId: string, signal?: AbortSignal): Promise<string>;
  /** Returns the compact JWT the issuer's fetch endpoint serves about the subject. */
  subordinateStatement(fetchEndpoint: string, issuer: string, subject: string, signal?: AbortSignal): Promise<string>;
}

export interface TrustAnchor {
  entityId: string;
  jwks: { keys: JWK[] };
}

export interface ResolveOptions {
  trustAnchors: TrustAnchor[];
  fetcher: StatementFetcher;
  /** Most Intermediate Entities allowed between the subject and the Trust Anchor (default 5). */
  maxPathLength?: number;
  /** Largest statement accepted, in bytes (default 64 KiB). */
  maxJwtBytes?: number;
  /** Current time in seconds since the epoch. */
  now?: () => number;
  /** Entity type the resolved metadata must contain, e.g. openid_relying_party. */
  entityType?: string;
  /** Time allowed for each fetch, in milliseconds (default 3000). */
  timeoutMs?: number;
  /** Leeway for iat/exp in seconds (default and maximum 60). */
  clockSkewSeconds?: number;
  /** Accepted JWS algorithms (default ES256, RS256, PS256, EdDSA; never none). */
  algorithms?: string[];
  /** authority_hints inspected per entity (default 10; §18.1 asks implementations to set a limit). */
  maxAuthorityHints?: number;
  /** Fetches allowed for one resolution (default 100). */
  maxFetches?: number;
  /**
   * Accept http Entity Identifiers. §1.2 requires https; "Profiles of this specification MAY
   * define other kinds of Entity Identifiers". Only for the loopback demo federation.
   */
  allowHttpEntityIds?: boolean;
}

export interface TrustChain {
  subject: string;
  trustAnchor: string;
  /** Compact JWTs: the subject's entity configuration, the subordinate statements up to the one issued by the anchor, then the anchor's entity configuration. */
  statements: string[];
  /** The minimum exp of all statements (§10.4). */
  expiresAt: number;
  /** The subject's metadata after applying the superior's metadata, constraints and the resolved policy. */
  metadata: Record<string, Record<string, unknown>>;
  /** The subject's trust_marks claim (syntax checked; the marks themselves are not validated here). */
  trustMarks?: unknown[];
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

type Jwks = { keys: JWK[] };

interface Claims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  jwks: Jwks;
  metadata?: Record<string, Record<string, unknown>>;
  authority_hints?: string[];
  metadata_policy?: MetadataPolicy;
  metadata_policy_crit?: string[];
  constraints?: Constraints;
  crit?: string[];
  trust_marks?: unknown[];
  [claim: string]: unknown;
}

interface Constraints {
  max_path_length?: number;
  naming_constraints?: { permitted?: string[]; excluded?: string[] };
  allowed_entity_types?: string[];
  [parameter: string]: unknown;
}

interface Statement {
  jwt: string;
  header: Record<string, unknown>;
  claims: Claims;
  /** "entity configuration of X" or "subordinate statement X→Y". */
  label: string;
  /** iss === sub */
  isEntityConfiguration: boolean;
}

interface Context {
  anchors: Map<string, TrustAnchor>;
  maxPathLength: number;
  maxJwtBytes: number;
  now: () => number;
  skew: number;
  algorithms: ReadonlySet<string>;
  entityType: string | undefined;
  allowHttp: boolean;
}

function context(opts: Omit<ResolveOptions, 'fetcher'>): Context {
  return {
    anchors: new Map(opts.trustAnchors.map((ta) => [ta.entityId, ta])),
    maxPathLength: opts.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH,
    maxJwtBytes: opts.maxJwtBytes ?? DEFAULT_MAX_JWT_BYTES,
    now: opts.now ?? (() => Math.floor(Date.now() / 1000)),
    skew: Math.min(Math.max(opts.clockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS, 0), MAX_CLOCK_SKEW_SECONDS),
    algorithms: new Set((opts.algorithms ?? [...DEFAULT_ALGORITHMS]).filter((a) => a !== 'none')),
    entityType: opts.entityType,
    allowHttp: opts.allowHttpEntityIds ?? false,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function fail(label: string, check: TrustChainCheck, detail: string): never {
  throw new TrustChainError(label, check, detail);
}

/**
 * Throws when a JSON text has an object with two members of the same name. JSON.parse silently
 * keeps the last one; RFC 7519 §4 lets a JWT parser reject such claim sets instead, and §6.1.2
 * forbids duplicate member names in metadata_policy. The text must already be valid JSON.
 */
function assertNoDuplicateMembers(text: string): void {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const members = stack.at(-1)!;
        if (members.has(key)) throw new Error(`duplicate member name ${JSON.stringify(key)}`);
        members.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') expectKey = stack.at(-1) instanceof Set;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
function decodeJsonSegment(segment: string): Record<string, unknown> {
  if (!BASE64URL.test(segment)) throw new Error('not base64url');
  const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url'));
  const value: unknown = JSON.parse(text);
  if (!isObject(value)) throw new Error('not a JSON object');
  assertNoDuplicateMembers(text);
  return value;
}

function byteLength(jwt: string): number {
  return Buffer.byteLength(jwt, 'utf8');
}

/** Splits and decodes a compact JWS. `fallbackLabel` names it until its iss/sub are known. */
function parseStatement(jwt: unknown, ctx: Context, fallbackLabel: string): Statement {
  if (typeof jwt !== 'string') fail(fallbackLabel, 'malformed', 'not a string');
  const text = jwt as string;
  if (byteLength(text) > ctx.maxJwtBytes)
    fail(fallbackLabel, 'too_large', `${byteLength(text)} bytes exceeds the limit of ${ctx.maxJwtBytes}`);
  const parts = text.split('.');
  if (parts.length !== 3) fail(fallbackLabel, 'malformed', 'not a compact JWS (three dot-separated parts)');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodeJsonSegment(parts[0]!);
    claims = decodeJsonSegment(parts[1]!);
  } catch (err) {
    return fail(fallbackLabel, 'malformed', (err as Error).message);
  }
  if (!BASE64URL.test(parts[2]!) || parts[2]!.length === 0) fail(fallbackLabel, 'malformed', 'missing signature');
  const { iss, sub } = claims;
  const named = typeof iss === 'string' && typeof sub === 'string';
  const isEntityConfiguration = named && iss === sub;
  const label = !named ? fallbackLabel : isEntityConfiguration ? entityConfigurationLabel(sub) : subordinateStatementLabel(iss, sub);
  return { jwt: text, header, claims: claims as Claims, label, isEntityConfiguration };
}

// ---------------------------------------------------------------------------------------------
// Per-statement validation (§3.2)
// ---------------------------------------------------------------------------------------------

/** §1.2: an https URL with a host, optionally port and path, no query and no fragment. */
function isEntityId(v: unknown, allowHttp: boolean): v is string {
  if (typeof v !== 'string' || v.includes('?') || v.includes('#')) return false;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || (allowHttp && url.protocol === 'http:')) && url.hostname.length > 0;
}

/** Claims this specification defines for Entity Statements; `crit` must not list them (§3.1.1, §13.4). */
const SPEC_CLAIMS = new Set([
  'iss',
  'sub',
  'iat',
  'exp',
  'jwks',
  'metadata',
  'crit',
  'authority_hints',
  'trust_anchor_hints',
  'trust_marks',
  'trust_mark_issuers',
  'trust_mark_owners',
  'constraints',
  'metadata_policy',
  'metadata_policy_crit',
  'source_endpoint',
  'aud',
  'trust_anchor',
]);
/** Claims allowed only in Entity Configurations (§3.1.2), and only in Subordinate Statements (§3.1.3). */
const EC_ONLY = ['authority_hints', 'trust_anchor_hints', 'trust_marks', 'trust_mark_issuers', 'trust_mark_owners'];
const SS_ONLY = ['metadata_policy', 'metadata_policy_crit', 'constraints', 'source_endpoint'];
/**
 * Extension claims listed in `crit` that this implementation understands: none, so an Entity
 * Statement with a `crit` claim is rejected ("If any of the listed Claims are not understood and
 * supported by the recipient, then the JWT is invalid", §13.4).
 */
const UNDERSTOOD_CRITICAL_CLAIMS: ReadonlySet<string> = new Set<string>();

function checkJwks(label: string, jwks: unknown): void {
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) fail(label, 'jwks', 'jwks must be a JWK Set ({"keys": [...]})');
  const kids = new Set<string>();
  for (const key of (jwks as Jwks).keys) {
    if (!isObject(key) || typeof key.kty !== 'string') fail(label, 'jwks', 'every key must be a JWK with kty');
    // §3.1.1: "Every JWK in the JWK Set MUST have a unique kid (Key ID) value."
    if (typeof key.kid !== 'string' || key.kid.length === 0) fail(label, 'jwks', 'every key must have a kid');
    if (kids.has(key.kid!)) fail(label, 'jwks', `duplicate kid ${key.kid}`);
    kids.add(key.kid!);
  }
}

function checkConstraintsSyntax(label: string, c: unknown): void {
  if (!isObject(c)) return void fail(label, 'constraints', 'constraints must be a JSON object');
  const { max_path_length: mpl, naming_constraints: nc, allowed_entity_types: aet } = c;
  if (mpl !== undefined && !(Number.isInteger(mpl) && (mpl as number) >= 0))
    fail(label, 'constraints', 'max_path_length must be an integer >= 0');
  if (nc !== undefined) {
    if (!isObject(nc)) fail(label, 'constraints', 'naming_constraints must be a JSON object');
    for (const member of ['permitted', 'excluded'] as const) {
      const list = (nc as Record<string, unknown>)[member];
      if (list !== undefined && !(Array.isArray(list) && list.every((n) => typeof n === 'string' && n.length > 0))) {
        fail(label, 'constraints', `naming_constraints.${member} must be an array of domain names`);
      }
    }
  }
  if (aet !== undefined) {
    if (!(Array.isArray(aet) && aet.every((t) => typeof t === 'string')))
      fail(label, 'constraints', 'allowed_entity_types must be an array of strings');
    // §6.2.3: federation_entity "is always allowed and MUST NOT be included in the constraint".
    if ((aet as string[]).includes('federation_entity')) fail(label, 'constraints', 'allowed_entity_types must not list federation_entity');
  }
  // "Additional constraint parameters MAY be defined and used. If they are not understood, they MUST be ignored."
}

function checkTrustMarks(label: string, marks: unknown): void {
  if (!Array.isArray(marks)) return void fail(label, 'trust_marks', 'trust_marks must be an array');
  for (const mark of marks) {
    if (!isObject(mark) || typeof mark.trust_mark_type !== 'string' || typeof mark.trust_mark !== 'string') {
      fail(label, 'trust_marks', 'each trust mark needs trust_mark_type and trust_mark strings');
    }
    let type: unknown;
    try {
      type = decodeJsonSegment((mark as { trust_mark: string }).trust_mark.split('.')[1] ?? '').trust_mark_type;
    } catch {
      fail(label, 'trust_marks', 'trust_mark is not a JWT');
    }
    if (type !== (mark as { trust_mark_type: string }).trust_mark_type)
      fail(label, 'trust_marks', 'trust_mark_type differs from the one in the Trust Mark JWT');
  }
}

/** Everything of §3.2 that does not need another statement: header, claims, times. */
function checkStatement(st: Statement, ctx: Context): void {
  const { header, claims, label } = st;
  // "Entity Statements without a typ header parameter or with a different typ value MUST be rejected."
  if (header.typ !== ENTITY_STATEMENT_TYP) fail(label, 'typ', `typ is ${JSON.stringify(header.typ)}, not ${ENTITY_STATEMENT_TYP}`);
  if (typeof header.alg !== 'string' || header.alg === 'none' || !ctx.algorithms.has(header.alg))
    fail(label, 'alg', `alg ${JSON.stringify(header.alg)} is not accepted`);
  if (typeof header.kid !== 'string' || header.kid.length === 0) fail(label, 'kid', 'kid header parameter missing or empty');
  if ('trust_chain' in header || 'peer_trust_chain' in header)
    fail(label, 'malformed', 'entity statements must not carry a trust_chain header');

  if (!isEntityId(claims.iss, ctx.allowHttp))
    fail(label, 'entity_id', `iss ${JSON.stringify(claims.iss)} is not a valid Entity Identifier`);
  if (!isEntityId(claims.sub, ctx.allowHttp))
    fail(label, 'entity_id', `sub ${JSON.stringify(claims.sub)} is not a valid Entity Identifier`);
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) fail(label, 'claims', 'iat missing or not a number');
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) fail(label, 'claims', 'exp missing or not a number');
  if (claims.jwks === undefined) fail(label, 'claims', 'jwks missing');
  checkJwks(label, claims.jwks);

  const now = ctx.now();
  if (claims.iat > now + ctx.skew) fail(label, 'not_yet_valid', `iat ${claims.iat} is in the future (now ${now})`);
  if (claims.exp <= now - ctx.skew) fail(label, 'expired', `expired at ${claims.exp} (now ${now})`);

  if (claims.crit !== undefined) {
    const crit = claims.crit;
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string') || new Set(crit).size !== crit.length) {
      fail(label, 'crit', 'crit must be a non-empty array of distinct claim names');
    }
    for (const name of crit) {
      if (SPEC_CLAIMS.has(name)) fail(label, 'crit', `crit must not list the specification's claim ${name}`);
      if (!(name in claims)) fail(label, 'crit', `crit lists ${name}, which is not in the statement`);
      if (!UNDERSTOOD_CRITICAL_CLAIMS.has(name)) fail(label, 'crit', `critical claim ${name} is not understood`);
    }
  }

  for (const claim of st.isEntityConfiguration ? SS_ONLY : EC_ONLY) {
    if (claim in claims)
      fail(
        label,
        'claims',
        `${claim} is not allowed in ${st.isEntityConfiguration ? 'an entity configuration' : 'a subordinate statement'}`,
      );
  }
  // aud and trust_anchor belong to explicit registration only (§3.1.4, §3.1.5).
  for (const claim of ['aud', 'trust_anchor']) if (claim in claims) fail(label, 'claims', `${claim} is only for explicit registration`);

  if (claims.authority_hints !== undefined) {
    const hints = claims.authority_hints;
    if (!Array.isArray(hints) || hints.length === 0) fail(label, 'claims', 'authority_hints must be a non-empty array');
    for (const hint of hints)
      if (!isEntityId(hint, ctx.allowHttp))
        fail(label, 'entity_id', `authority hint ${JSON.stringify(hint)} is not a valid Entity Identifier`);
  }
  if (claims.trust_anchor_hints !== undefined) {
    const hints = claims.trust_anchor_hints;
    if (!Array.isArray(hints) || hints.length === 0) fail(label, 'claims', 'trust_anchor_hints must be a non-empty array');
    for (const hint of hints)
      if (!isEntityId(hint, ctx.allowHttp))
        fail(label, 'entity_id', `trust anchor hint ${JSON.stringify(hint)} is not a valid Entity Identifier`);
  }
  if (claims.trust_mark_issuers !== undefined) {
    const issuers = claims.trust_mark_issuers;
    if (!isObject(issuers) || !Object.values(issuers).every((list) => Array.isArray(list) && list.every((id) => typeof id === 'string'))) {
      fail(label, 'claims', 'trust_mark_issuers must map trust mark types to arrays of Entity Identifiers');
    }
  }
  if (claims.trust_mark_owners !== undefined) {
    const owners = claims.trust_mark_owners;
    if (!isObject(owners)) fail(label, 'claims', 'trust_mark_owners must be a JSON object');
    for (const owner of Object.values(owners as Record<string, unknown>)) {
      if (!isObject(owner) || typeof owner.sub !== 'string') fail(label, 'claims', 'each trust mark owner needs sub and jwks');
      checkJwks(label, (owner as Record<string, unknown>).jwks);
    }
  }
  if (claims.metadata !== undefined) {
    if (!isObject(claims.metadata)) fail(label, 'metadata', 'metadata must be a JSON object');
    for (const [entityType, md] of Object.entries(claims.metadata)) {
      if (!isObject(md)) fail(label, 'metadata', `metadata.${entityType} must be a JSON object`);
      for (const [parameter, value] of Object.entries(md)) {
        if (value === null) fail(label, 'metadata', `metadata.${entityType}.${parameter} is null`);
      }
    }
  }
  if (claims.metadata_policy !== undefined && !isObject(claims.metadata_policy))
    fail(label, 'policy_illegal', 'metadata_policy must be a JSON object');
  if (claims.metadata_policy_crit !== undefined) {
    const crit = claims.metadata_policy_crit;
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string')) {
      fail(label, 'policy_illegal', 'metadata_policy_crit must be a non-empty array of operator names');
    }
  }
  if (claims.constraints !== undefined) checkConstraintsSyntax(label, claims.constraints);
  if (claims.trust_marks !== undefined) checkTrustMarks(label, claims.trust_marks);
  if (claims.source_endpoint !== undefined && !isEntityUrl(claims.source_endpoint)) fail(label, 'claims', 'source_endpoint must be a URL');
}

function isEntityUrl(v: unknown): boolean {
  return typeof v === 'string' && URL.canParse(v);
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

/** JWK members that only private (or symmetric) keys have: none may appear in a published key set. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Verifies `st` with the key of `keys` whose kid equals its kid header (§3.2: "The Entity
 * Statement's kid ... MUST exactly match the kid value for a key in the jwks"). A missing kid
 * fails with `missingKeyCheck`; a key that does not verify fails with 'signature'.
 */
async function verifySignature(st: Statement, keys: JWK[], whose: string, missingKeyCheck: TrustChainCheck): Promise<void> {
  const kid = st.header.kid as string;
  const alg = st.header.alg as string;
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) fail(st.label, missingKeyCheck, `signing key ${kid} is not in ${whose}`);
  if (jwk!.alg !== undefined && jwk!.alg !== alg)
    fail(st.label, 'signature', `key ${kid} of ${whose} is for ${jwk!.alg}, the statement uses ${alg}`);
  if (jwk!.use !== undefined && jwk!.use !== 'sig') fail(st.label, 'signature', `key ${kid} of ${whose} is not a signing key`);
  const pub: JWK = { ...jwk! };
  for (const member of PRIVATE_MEMBERS) delete (pub as Record<string, unknown>)[member];
  try {
    const key = await importJWK(pub, alg);
    await compactVerify(st.jwt, key, { algorithms: [alg] });
  } catch (err) {
    fail(st.label, 'signature', `signature does not validate with key ${kid} of ${whose} (${(err as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Constraints (§6.2)
// ---------------------------------------------------------------------------------------------

/**
 * §6.2.2: RFC 5280 §4.2.1.10 domain name constraints on the host part of the Entity Identifier.
 * ".example.com" matches any host with one or more labels added to the left (not example.com
 * itself); "host.example.com" matches exactly that host. SPEC CHOICE: host names compare
 * case-insensitively (they are DNS names; the URL parser lower-cases the entity's host).
 */
function hostMatches(host: string, constraint: string): boolean {
  const c = constraint.toLowerCase();
  const h = host.toLowerCase();
  return c.startsWith('.') ? h.length > c.length && h.endsWith(c) : h === c;
}

function checkNamingConstraints(label: string, nc: NonNullable<Constraints['naming_constraints']>, entityIds: string[]): void {
  for (const id of entityIds) {
    const host = new URL(id).hostname;
    // "Any name matching a restriction in the excluded list is invalid, regardless of the
    // information appearing in the permitted list."
    const excluded = nc.excluded?.find((c) => hostMatches(host, c));
    if (excluded) fail(label, 'constraints', `naming constraint: ${id} is excluded by ${excluded}`);
    if (nc.permitted && !nc.permitted.some((c) => hostMatches(host, c))) {
      fail(label, 'constraints', `naming constraint: ${id} is not within the permitted ${JSON.stringify(nc.permitted)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Chain validation (§4, §10.2)
// ---------------------------------------------------------------------------------------------

/**
 * Validates ES[0..i]: ES[0] the subject's entity configuration, ES[1..] subordinate statements,
 * and, last, the anchor's entity configuration.
 *
 * SPEC CHOICE: §4 lets the anchor's entity configuration be omitted from the array. When the
 * last statement is a subordinate statement, its issuer must be a configured Trust Anchor and
 * it is verified with the configured anchor keys.
 */
async function validateStatements(stmts: Statement[], ctx: Context): Promise<TrustChain> {
  if (stmts.length === 0) fail('trust chain', 'claims', 'the trust chain is empty');
  for (const st of stmts) checkStatement(st, ctx);

  const n = stmts.length;
  const leaf = stmts[0]!;
  if (!leaf.isEntityConfiguration)
    fail(leaf.label, 'iss_sub', "the first statement must be the subject's entity configuration (iss == sub)");
  const last = stmts[n - 1]!;
  const anchorEC = n === 1 || last.isEntityConfiguration ? last : undefined;
  const lastSubordinate = anchorEC ? n - 2 : n - 1; // subordinate statements are ES[1..lastSubordinate]
  if (n === 2 && anchorEC) fail(anchorEC.label, 'iss_sub', 'no subordinate statement between the subject and the trust anchor');
  for (let j = 1; j <= lastSubordinate; j++) {
    if (stmts[j]!.isEntityConfiguration) fail(stmts[j]!.label, 'iss_sub', 'expected a subordinate statement (iss != sub)');
  }
  // ES[j]["iss"] == ES[j+1]["sub"]
  for (let j = 0; j < n - 1; j++) {
    const [a, b] = [stmts[j]!, stmts[j + 1]!];
    if (a.claims.iss !== b.claims.sub)
      fail(b.label, 'iss_sub', `sub ${b.claims.sub} does not match the issuer ${a.claims.iss} of the statement below it`);
  }
  // §3.2: the issuer of a subordinate statement must be among the subject's authority_hints.
  if (lastSubordinate >= 1) {
    const issuer = stmts[1]!.claims.iss;
    if (!(leaf.claims.authority_hints ?? []).includes(issuer))
      fail(leaf.label, 'authority_hints', `${issuer} is not among the authority_hints`);
  }

  const anchorId = anchorEC ? anchorEC.claims.sub : stmts[lastSubordinate]!.claims.iss;
  const anchor = ctx.anchors.get(anchorId);
  if (!anchor)
    fail(anchorEC?.label ?? stmts[lastSubordinate]!.label, 'unknown_trust_anchor', `${anchorId} is not a configured trust anchor`);
  const intermediates = Math.max(0, lastSubordinate - 1);
  if (intermediates > ctx.maxPathLength) {
    fail(stmts[lastSubordinate]!.label, 'max_path_length', `${intermediates} intermediates exceed the limit of ${ctx.maxPathLength}`);
  }

  // Signatures, from the anchor down, so that each key set used has been authenticated.
  // SPEC CHOICE: ES[i] (anchor EC) is verified with the configured anchor keys and its kid must
  // also be in its own jwks; ES[i-1] is then verified with ES[i]["jwks"], which the configured
  // key has just authenticated (this lets an anchor roll its keys as §11.2 describes).
  const anchorKeys = anchor!.jwks.keys;
  if (anchorEC) {
    await verifySignature(anchorEC, anchorKeys, `the configured keys of trust anchor ${anchorId}`, 'signature');
    if (!anchorEC.claims.jwks.keys.some((k) => k.kid === anchorEC.header.kid))
      fail(anchorEC.label, 'signature', 'signing key is not in its own jwks');
  }
  for (let j = lastSubordinate; j >= 1; j--) {
    const st = stmts[j]!;
    const above = stmts[j + 1];
    if (!above) await verifySignature(st, anchorKeys, `the configured keys of trust anchor ${anchorId}`, 'signature');
    else if (above.isEntityConfiguration) await verifySignature(st, above.claims.jwks.keys, above.label, 'signature');
    else await verifySignature(st, above.claims.jwks.keys, above.label, 'key_not_in_superior');
  }
  // ES[0] is self-signed with a key in ES[0]["jwks"] and signed by a key in ES[1]["jwks"].
  if (n > 1) {
    await verifySignature(leaf, leaf.claims.jwks.keys, 'its own jwks', 'signature');
    const above = stmts[1]!;
    await verifySignature(leaf, above.claims.jwks.keys, above.label, above.isEntityConfiguration ? 'signature' : 'key_not_in_superior');
  }

  // Constraints (§6.2), each subordinate statement's independently.
  const allowedTypes: string[][] = [];
  for (let j = 1; j <= lastSubordinate; j++) {
    const st = stmts[j]!;
    const c = st.claims.constraints;
    if (!c) continue;
    // max_path_length: Intermediates between the issuer of ES[j] and the subject are ES[1..j-1]'s issuers.
    if (c.max_path_length !== undefined && j - 1 > c.max_path_length) {
      fail(
        st.label,
        'max_path_length',
        `${j - 1} intermediates between the issuer and the subject exceed max_path_length ${c.max_path_length}`,
      );
    }
    // naming_constraints apply to the subject of ES[j] and all entities below it.
    if (c.naming_constraints)
      checkNamingConstraints(
        st.label,
        c.naming_constraints,
        stmts.slice(1, j + 1).map((s) => s.claims.sub),
      );
    if (c.allowed_entity_types) allowedTypes.push(c.allowed_entity_types);
  }

  // Metadata (§3.1.1 metadata claim, §6.1.4.2, §6.2.3).
  let metadata: Record<string, Record<string, unknown>> = structuredClone(leaf.claims.metadata ?? {});
  const immediate = lastSubordinate >= 1 ? stmts[1]! : undefined;
  // The immediate superior's metadata overrides identically named parameters, only for entity types the subject has.
  for (const [entityType, md] of Object.entries(immediate?.claims.metadata ?? {})) {
    if (metadata[entityType]) metadata[entityType] = { ...metadata[entityType], ...structuredClone(md) };
  }
  // allowed_entity_types: remove other entity types (never federation_entity), before policies.
  for (const allowed of allowedTypes) {
    for (const entityType of Object.keys(metadata)) {
      if (entityType !== 'federation_entity' && !allowed.includes(entityType)) delete metadata[entityType];
    }
  }
  // Policy resolution: collect metadata_policy_crit, then merge from the anchor's statement down.
  const critical = new Set<string>();
  for (let j = 1; j <= lastSubordinate; j++) {
    for (const op of stmts[j]!.claims.metadata_policy_crit ?? []) {
      if (!SUPPORTED_ADDITIONAL_OPERATORS.has(op))
        fail(stmts[j]!.label, 'policy_illegal', `critical policy operator ${op} is not supported`);
      critical.add(op);
    }
  }
  let policy: MetadataPolicy = {};
  for (let j = lastSubordinate; j >= 1; j--) {
    const st = stmts[j]!;
    if (st.claims.metadata_policy === undefined) continue;
    try {
      validatePolicy(st.claims.metadata_policy, [...critical]);
    } catch (err) {
      throw policyError(st.label, err);
    }
    try {
      policy = combinePolicies(policy, st.claims.metadata_policy, [...critical]);
    } catch (err) {
      throw policyError(st.label, err);
    }
  }
  try {
    metadata = applyPolicy(metadata, policy);
  } catch (err) {
    throw policyError(leaf.label, err);
  }
  if (ctx.entityType !== undefined && !metadata[ctx.entityType])
    fail(leaf.label, 'entity_type', `the resolved metadata has no ${ctx.entityType}`);

  const chain: TrustChain = {
    subject: leaf.claims.sub,
    trustAnchor: anchorId,
    statements: stmts.map((s) => s.jwt),
    expiresAt: Math.min(...stmts.map((s) => s.claims.exp)),
    metadata,
  };
  if (leaf.claims.trust_marks) chain.trustMarks = structuredClone(leaf.claims.trust_marks);
  return chain;
}

/** A MetadataPolicyError as the TrustChainError of the statement that caused it. */
function policyError(label: string, err: unknown): Error {
  if (!(err instanceof MetadataPolicyError)) return err as Error;
  const check: TrustChainCheck =
    err.kind === 'illegal' ? 'policy_illegal' : err.kind === 'conflict' ? 'policy_conflict' : 'policy_violation';
  return new TrustChainError(label, check, err.message, { cause: err });
}

/**
 * Validates a Trust Chain given as statements (compact JWTs): the subject's entity configuration
 * first, then the subordinate statements, then (optionally, see validateStatements) the Trust
 * Anchor's entity configuration. Returns the chain with the subject's resolved metadata, or
 * throws a TrustChainError naming the statement and the failed check.
 */
export async function validateTrustChain(statements: string[], opts: Omit<ResolveOptions, 'fetcher'>): Promise<TrustChain> {
  const ctx = context(opts);
  if (!Array.isArray(statements)) fail('trust chain', 'malformed', 'a trust chain is an array of statements');
  const parsed = statements.map((jwt, j) => parseStatement(jwt, ctx, `statement ${j} of the trust chain`));
  return validateStatements(parsed, ctx);
}

// ---------------------------------------------------------------------------------------------
// Resolution (§10.1)
// ---------------------------------------------------------------------------------------------

/** §9: the configuration endpoint; a trailing "/" of the Entity Identifier is removed first. */
export function entityConfigurationUrl(entityId: string): string {
  return entityId.replace(/\/$/, '') + ENTITY_CONFIGURATION_PATH;
}

/** §8.1.1: the fetch endpoint with the `sub` query parameter. */
export function fetchStatementUrl(fetchEndpoint: string, subject: string): string {
  const url = new URL(fetchEndpoint);
  url.searchParams.set('sub', subject);
  return url.href;
}

/** Runs one fetch with a timeout; the fetcher gets an AbortSignal and is not waited for past the timeout. */
async function timed(label: string, url: string, timeoutMs: number, run: (signal: AbortSignal) => Promise<string>): Promise<string> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TrustChainError(label, 'fetch_timeout', `no answer within ${timeoutMs} ms`, { url }));
      controller.abort();
    }, timeoutMs);
  });
  try {
    const body = await Promise.race([run(controller.signal), timeout]);
    if (typeof body !== 'string') fail(label, 'fetch_failed', 'the fetcher did not return a string');
    return body.trim();
  } catch (err) {
    if (err instanceof TrustChainError) {
      if (err.url || (err.check !== 'fetch_failed' && err.check !== 'too_large')) throw err;
      throw new TrustChainError(err.statement, err.check, err.detail, { url, cause: err.cause });
    }
    throw new TrustChainError(label, 'fetch_failed', (err as Error)?.message ?? String(err), { url, cause: err });
  } finally {
    clearTimeout(timer);
  }
}

class Resolver {
  readonly #ctx: Context;
  readonly #fetcher: StatementFetcher;
  readonly #timeoutMs: number;
  readonly #maxHints: number;
  readonly #maxFetches: number;
  #fetches = 0;
  readonly #configurations = new Map<string, Promise<Statement>>();
  readonly #subordinates = new Map<string, Promise<Statement>>();

  constructor(opts: ResolveOptions) {
    this.#ctx = context(opts);
    this.#fetcher = opts.fetcher;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxHints = opts.maxAuthorityHints ?? DEFAULT_MAX_AUTHORITY_HINTS;
    this.#maxFetches = opts.maxFetches ?? DEFAULT_MAX_FETCHES;
  }

  #budget(label: string, url: string): void {
    if (++this.#fetches > this.#maxFetches)
      throw new TrustChainError(label, 'fetch_budget', `more than ${this.#maxFetches} fetches`, { url });
  }

  /** The entity's configuration, fetched once per resolution ("MUST NOT attempt to fetch Entity Statements they already have obtained"). */
  entityConfiguration(entityId: string): Promise<Statement> {
    let p = this.#configurations.get(entityId);
    if (!p) {
      p = this.#fetchConfiguration(entityId);
      p.catch(() => {}); // awaited by the caller; avoids an unhandled rejection for memoized failures
      this.#configurations.set(entityId, p);
    }
    return p;
  }

  async #fetchConfiguration(entityId: string): Promise<Statement> {
    const label = entityConfigurationLabel(entityId);
    const url = entityConfigurationUrl(entityId);
    this.#budget(label, url);
    const jwt = await timed(label, url, this.#timeoutMs, (signal) => this.#fetcher.entityConfiguration(entityId, signal));
    const st = parseStatement(jwt, this.#ctx, label);
    checkStatement(st, this.#ctx);
    if (st.claims.iss !== entityId || st.claims.sub !== entityId)
      fail(label, 'iss_sub', `iss/sub are ${st.claims.iss}/${st.claims.sub}, expected ${entityId}`);
    // "the entity configuration is self-signed with a key from its own jwks"
    await verifySignature(st, st.claims.jwks.keys, 'its own jwks', 'signature');
    return st;
  }

  subordinateStatement(superior: Statement, subject: string): Promise<Statement> {
    const key = `${superior.claims.sub}\n${subject}`;
    let p = this.#subordinates.get(key);
    if (!p) {
      p = this.#fetchSubordinate(superior, subject);
      p.catch(() => {});
      this.#subordinates.set(key, p);
    }
    return p;
  }

  async #fetchSubordinate(superior: Statement, subject: string): Promise<Statement> {
    const issuer = superior.claims.sub;
    const label = subordinateStatementLabel(issuer, subject);
    // §8.1: the fetch endpoint is published in the superior's own entity configuration.
    const fed = superior.claims.metadata?.federation_entity;
    const endpoint = fed?.federation_fetch_endpoint;
    if (typeof endpoint !== 'string' || !isEntityUrl(endpoint))
      fail(superior.label, 'no_fetch_endpoint', 'metadata.federation_entity.federation_fetch_endpoint is missing');
    const url = fetchStatementUrl(endpoint as string, subject);
    this.#budget(label, url);
    const jwt = await timed(label, url, this.#timeoutMs, (signal) =>
      this.#fetcher.subordinateStatement(endpoint as string, issuer, subject, signal),
    );
    const st = parseStatement(jwt, this.#ctx, label);
    checkStatement(st, this.#ctx);
    if (st.claims.iss !== issuer || st.claims.sub !== subject)
      fail(st.label, 'iss_sub', `expected a statement by ${issuer} about ${subject}`);
    // §3.2: signed with a key in the issuer's entity configuration.
    await verifySignature(st, superior.claims.jwks.keys, superior.label, 'signature');
    return st;
  }

  async resolve(entityId: string): Promise<TrustChain> {
    const ctx = this.#ctx;
    if (!isEntityId(entityId, ctx.allowHttp)) fail(entityConfigurationLabel(entityId), 'entity_id', 'not a valid Entity Identifier');
    const subject = await this.entityConfiguration(entityId);
    if (ctx.anchors.has(entityId)) return validateStatements([subject], ctx);

    // Breadth-first over authority_hints: every path is tried until one validates, shortest
    // first (§10.3 suggests preferring a shorter chain). SPEC CHOICE: a path ends at the first
    // configured Trust Anchor reached, even if that anchor has superiors of its own.
    interface Path {
      configurations: Statement[]; // subject, then each superior on the path
      subordinates: Statement[]; // subordinates[k] is issued by configurations[k+1] about configurations[k]
    }
    const errors: TrustChainError[] = [];
    let frontier: Path[] = [{ configurations: [subject], subordinates: [] }];
    while (frontier.length > 0) {
      const next: Path[] = [];
      for (const path of frontier) {
        const current = path.configurations.at(-1)!;
        const hints = current.claims.authority_hints ?? [];
        if (hints.length === 0) {
          errors.push(new TrustChainError(current.label, 'unknown_trust_anchor', 'no authority_hints, and not a configured trust anchor'));
          continue;
        }
        // SPEC CHOICE: only the first maxAuthorityHints hints are inspected (§18.1).
        for (const hint of hints.slice(0, this.#maxHints)) {
          // "If a loop is detected, the authority hint that led to it MUST NOT be used."
          if (path.configurations.some((c) => c.claims.sub === hint)) {
            errors.push(new TrustChainError(current.label, 'loop', `authority hint ${hint} leads back into the path`));
            continue;
          }
          try {
            const superior = await this.entityConfiguration(hint);
            const statement = await this.subordinateStatement(superior, current.claims.sub);
            if (ctx.anchors.has(hint)) {
              return await validateStatements([subject, ...path.subordinates, statement, superior], ctx);
            }
            const intermediates = path.subordinates.length + 1;
            if (intermediates > ctx.maxPathLength) {
              errors.push(
                new TrustChainError(
                  statement.label,
                  'max_path_length',
                  `more than ${ctx.maxPathLength} intermediates without reaching a trust anchor`,
                ),
              );
              continue;
            }
            next.push({ configurations: [...path.configurations, superior], subordinates: [...path.subordinates, statement] });
          } catch (err) {
            if (!(err instanceof TrustChainError)) throw err;
            if (err.check === 'fetch_budget') throw withAlternatives(err, errors);
            errors.push(err);
          }
        }
      }
      frontier = next;
    }
    // No path validated. Report the first real failure (shortest path first); a loop or a dead
    // end only when nothing else went wrong. The other failures are in `alternatives`.
    const chosen =
      errors.find((e) => e.check !== 'unknown_trust_anchor' && e.check !== 'loop') ??
      errors.find((e) => e.check === 'loop') ??
      errors[0] ??
      new TrustChainError(subject.label, 'unknown_trust_anchor', 'no path to a configured trust anchor');
    throw withAlternatives(chosen, errors);
  }
}

function withAlternatives(chosen: TrustChainError, all: TrustChainError[]): TrustChainError {
  return new TrustChainError(chosen.statement, chosen.check, chosen.detail, {
    ...(chosen.url ? { url: chosen.url } : {}),
    cause: chosen.cause,
    alternatives: all.filter((e) => e !== chosen),
  });
}

/**
 * Resolves and validates a Trust Chain for `entityId` to one of the configured Trust Anchors
 * (§10): fetches its entity configuration, follows authority_hints (fetching each superior's
 * entity configuration and, from its fetch endpoint, its subordinate statement about the entity
 * below), detects loops, and validates every candidate chain in full (statements, signatures,
 * constraints, metadata policy). Throws a TrustChainError naming the statement and the check.
 */
export async function resolveTrustChain(entityId: string, opts: ResolveOptions): Promise<TrustChain> {
  return new Resolver(opts).resolve(entityId);
}

// ---------------------------------------------------------------------------------------------
// HTTP fetcher
// ---------------------------------------------------------------------------------------------

/**
 * A StatementFetcher over HTTP (§8.1.1, §9): GET with no redirects, 200 with content type
 * application/entity-statement+jwt required, body read up to `maxBytes`.
 */
export function httpStatementFetcher(opts: { maxBytes?: number } = {}): StatementFetcher {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_JWT_BYTES;
  const get = async (url: string, label: string, signal?: AbortSignal): Promise<string> => {
    const res = await fetch(url, { redirect: 'error', headers: { accept: ENTITY_STATEMENT_MEDIA_TYPE }, ...(signal ? { signal } : {}) });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new TrustChainError(label, 'fetch_failed', `HTTP ${res.status}`, { url });
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== ENTITY_STATEMENT_MEDIA_TYPE) {
      await res.body?.cancel();
      throw new TrustChainError(label, 'fetch_failed', `content type ${type || 'missing'}, expected ${ENTITY_STATEMENT_MEDIA_TYPE}`, {
        url,
      });
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new TrustChainError(label, 'too_large', `response exceeds ${maxBytes} bytes`, { url });
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  };
  return {
    entityConfiguration: (entityId, signal) => get(entityConfigurationUrl(entityId), entityConfigurationLabel(entityId), signal),
    subordinateStatement: (endpoint, issuer, subject, signal) =>
      get(fetchStatementUrl(endpoint, subject), subordinateStatementLabel(issuer, subject), signal),
  };
}

// ---------------------------------------------------------------------------------------------
// Cache
// ---------------------------------------------------------------------------------------------

/**
 * Resolved Trust Chains by key (e.g. subject + anchor), until chain.expiresAt (§10.4), with
 * least-recently-used eviction beyond maxEntries. get and set are O(1): a Map keeps insertion
 * order, and a hit is re-inserted to become the most recent.
 */
export class TrustChainCache {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, TrustChain>();

  constructor(opts: { maxEntries: number }) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = opts.maxEntries;
  }

  /** The chain if present and not expired at `now` (seconds since the epoch). */
  get(key: string, now: number): TrustChain | undefined {
    const chain = this.#entries.get(key);
    if (!chain) return undefined;
    this.#entries.delete(key);
    if (chain.expiresAt <= now) return undefined;
    this.#entries.set(key, chain);
    return chain;
  }

  set(key: string, chain: TrustChain): void {
    this.#entries.delete(key);
    this.#entries.set(key, chain);
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
