/**
 * Parsing of Entity Statements (OpenID Federation 1.0 §3; RFC 7515 compact serialization): the
 * decoded statement every later check works on, and the validation context (the caller's
 * options with their defaults) those checks read.
 */
import type { JWK } from 'jose';
import { entityConfigurationLabel, subordinateStatementLabel, TrustChainError, type TrustChainCheck } from './federation-errors.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import type { MetadataPolicy } from './metadata-policy.ts';
import { DEFAULT_ALGORITHMS, type ResolveOptions, type TrustAnchor } from './trust-chain-types.ts';

export type Jwks = { keys: JWK[] };

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

export interface Constraints {
  max_path_length?: number;
  naming_constraints?: { permitted?: string[]; excluded?: string[] };
  allowed_entity_types?: string[];
  [parameter: string]: unknown;
}

export interface Statement {
  jwt: string;
  header: Record<string, unknown>;
  claims: Claims;
  /** "entity configuration of X" or "subordinate statement X→Y". */
  label: string;
  /** iss === sub */
  isEntityConfiguration: boolean;
}

export interface Context {
  anchors: Map<string, TrustAnchor>;
  maxPathLength: number;
  maxJwtBytes: number;
  now: () => number;
  skew: number;
  algorithms: ReadonlySet<string>;
  entityType: string | undefined;
  allowHttp: boolean;
}

export function context(opts: Omit<ResolveOptions, 'fetcher'>): Context {
  return {
    anchors: new Map(opts.trustAnchors.map((ta) => [ta.entityId, ta])),
    maxPathLength: opts.maxPathLength ?? FEDERATION_DEFAULTS.trustChainMaxPathLength,
    maxJwtBytes: opts.maxJwtBytes ?? FEDERATION_DEFAULTS.statementMaxBytes,
    now: opts.now ?? (() => Math.floor(Date.now() / 1000)),
    skew: Math.min(Math.max(opts.clockSkewSeconds ?? FEDERATION_DEFAULTS.maxClockSkewSeconds, 0), FEDERATION_DEFAULTS.maxClockSkewSeconds),
    algorithms: new Set((opts.algorithms ?? [...DEFAULT_ALGORITHMS]).filter((a) => a !== 'none')),
    entityType: opts.entityType,
    allowHttp: opts.allowHttpEntityIds ?? false,
  };
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export function fail(label: string, check: TrustChainCheck, detail: string): never {
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
export function decodeJsonSegment(segment: string): Record<string, unknown> {
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
export function parseStatement(jwt: unknown, ctx: Context, fallbackLabel: string): Statement {
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
