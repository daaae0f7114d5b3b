/**
 * Per-statement validation (OpenID Federation 1.0 §3.2): everything about one Entity Statement
 * that needs no other statement (header, claims, times, syntax of jwks, constraints, trust marks).
 *
 * Where the specification leaves a choice or is silent, the choice is marked "SPEC CHOICE".
 */
import { ENTITY_STATEMENT_TYP } from './entity-configuration.ts';
import { decodeJsonSegment, fail, isObject, type Context, type Jwks, type Statement } from './trust-chain-parse.ts';

/** §1.2: an https URL with a host, optionally port and path, no query and no fragment. */
export function isEntityId(v: unknown, allowHttp: boolean): v is string {
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
export function checkStatement(st: Statement, ctx: Context): void {
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

export function isEntityUrl(v: unknown): boolean {
  return typeof v === 'string' && URL.canParse(v);
}
