/**
 * The configuration of one federation authority (the national trust anchor or a province, an
 * intermediate): which entities it vouches for (its Immediate Subordinates) and the metadata
 * policy and constraints it puts in its Subordinate Statements about them (OpenID Federation 1.0
 * §3.1.3, §6). One JSON file per authority, `${dataDir}/federation/${authorityId}.json`, created
 * from the topology on first use and edited by the province admin by hand or with
 * `gov-id federation …`. Format reference: docs/federation.md.
 *
 * ```json
 * {
 *   "metadata_policy": { "openid_relying_party": { "grant_types": { "subset_of": ["authorization_code", "refresh_token"] } } },
 *   "subordinates": [
 *     {
 *       "entity_id": "http://127.0.0.1:7101",
 *       "metadata_policy": { "openid_provider": { "id_token_signing_alg_values_supported": { "subset_of": ["ES256"] } } },
 *       "constraints": { "max_path_length": 0 }
 *     }
 *   ]
 * }
 * ```
 *
 * - `metadata_policy` (top level, optional) applies to every subordinate; a subordinate's own
 *   `metadata_policy` is combined with it by the specification's merge rules (§6.1.4.1), so it can
 *   only make things stricter. Both are validated with validatePolicy, and their combination must
 *   succeed, before a file is used.
 * - `constraints`, `metadata` and `jwks` (keys pinned out of band; otherwise the keys the subordinate
 *   publishes in its entity configuration are used) are per subordinate.
 *
 * A running authority reads its file through an AuthorityConfigWatcher: it looks at the file at
 * most once per second, takes a valid edit at once, and refuses an invalid one with a logged
 * error, keeping the last good configuration in force.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { JWK } from 'jose';
import { ConfigurationError } from '../infra/errors.ts';
import type { Logger } from '../infra/log.ts';
import { fileExists, LiveConfigFile, readJsonFile, writeJsonFileAtomically, type LiveConfigSource } from './live-config-file.ts';
import { MetadataPolicyError } from './federation-errors.ts';
import { combinePolicies, validatePolicy, type EntityMetadata, type MetadataPolicy } from './metadata-policy.ts';
import type { Entity, Topology } from './topology.ts';
import { LOOPBACK_HOSTS } from '../infra/loopback.ts';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** §6.2: constraints a superior places on a subordinate and everything below it. */
export interface SubordinateConstraints {
  /** Most Intermediates allowed between this subordinate's superior and a Trust Chain's subject (0: the subordinate is a leaf). */
  max_path_length?: number;
  /** Host names allowed (permitted) or refused (excluded) for the subordinate and every entity below it; ".example.cn" means any host under example.cn. */
  naming_constraints?: { permitted?: string[]; excluded?: string[] };
  /** Entity types kept in the resolved metadata (federation_entity is always kept and must not be listed). */
  allowed_entity_types?: string[];
}

export interface SubordinateConfig {
  /** The subordinate's Entity Identifier: an https URL (http only on loopback), no trailing slash. */
  entity_id: string;
  /** Free text for the admin; not published. */
  comment?: string;
  /** Combined with the authority-wide metadata_policy. */
  metadata_policy?: MetadataPolicy;
  constraints?: SubordinateConstraints;
  /** Metadata the authority asserts about the subordinate; overrides the subordinate's own values of the same parameters. */
  metadata?: EntityMetadata;
  /** The subordinate's federation keys, pinned. Without it the keys of its entity configuration are used. */
  jwks?: { keys: JWK[] };
}

export interface AuthorityConfig {
  /** Free text for the admin; not published. */
  comment?: string;
  /** Applied to every subordinate. */
  metadata_policy?: MetadataPolicy;
  subordinates: SubordinateConfig[];
}

// ---------------------------------------------------------------------------------------------
// Authorities
// ---------------------------------------------------------------------------------------------

/** The entities that issue Subordinate Statements: the national trust anchor and the provinces. */
export function isFederationAuthority(entity: Entity): boolean {
  return entity.kind === 'op' && (entity.tier === 'national' || entity.tier === 'province');
}

/** The authority named on the command line (an entity ID such as "gd", or its URL). */
export function authorityEntity(topology: Topology, authorityId: string): Entity {
  const entity = topology.get(authorityId);
  if (!isFederationAuthority(entity)) {
    const authorities = topology.entities
      .filter(isFederationAuthority)
      .map((e) => e.id)
      .join(', ');
    throw new ConfigurationError(
      '--entity',
      `${entity.id} is a ${entity.tier} ${entity.kind}, not a federation authority, and has no subordinates; the authorities are ${authorities}`,
    );
  }
  return entity;
}

export function authorityConfigPath(dataDir: string, authorityId: string): string {
  return join(dataDir, 'federation', `${authorityId}.json`);
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why `value` is not an acceptable Entity Identifier, or null. */
export function entityIdProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as https://gz.gd.gov.cn';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https URL';
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname))
    return 'must use https (http is accepted only for loopback addresses, as in the demo federation)';
  if (url.username || url.password) return 'must not contain a user name or password';
  if (url.search || url.hash || value.includes('?') || value.includes('#')) return 'must not have a query or a fragment';
  if (value.endsWith('/')) return 'must not end with a slash';
  return null;
}

const entityId = z.string().superRefine((v, ctx) => {
  const problem = entityIdProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A metadata policy, checked with validatePolicy; an error's path goes down to the operator. */
const metadataPolicy = z.unknown().superRefine((v, ctx) => {
  try {
    validatePolicy(v as MetadataPolicy);
  } catch (err) {
    if (!(err instanceof MetadataPolicyError)) throw err;
    const { path, reason } = policyErrorParts(err);
    ctx.addIssue({ code: 'custom', message: reason, path });
  }
});

/** Splits a MetadataPolicyError into the path below the policy and the reason. */
function policyErrorParts(err: MetadataPolicyError): { path: string[]; reason: string } {
  const path = [err.entityType, err.parameter, err.operator].filter((p): p is string => Boolean(p));
  const prefix = path.length ? `${path.join('.')}: ` : '';
  return { path, reason: err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message };
}

const domainName = z
  .string()
  .regex(
    /^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
    'must be a host name such as gz.gd.gov.cn, or .gd.gov.cn for every host under it',
  );

const constraints = z.strictObject({
  max_path_length: z.number().int('must be a whole number').min(0, 'must be 0 or more').optional(),
  naming_constraints: z
    .strictObject({
      permitted: z.array(domainName).min(1, 'must list at least one host name (leave it out to permit every name)').optional(),
      excluded: z.array(domainName).min(1, 'must list at least one host name (leave it out to exclude none)').optional(),
    })
    .optional(),
  allowed_entity_types: z
    .array(z.string().min(1, 'must not be empty'))
    .refine(
      (types) => !types.includes('federation_entity'),
      'must not list federation_entity, which is always allowed (OpenID Federation §6.2.3)',
    )
    .optional(),
});

/** federation_entity endpoints belong in the entity's own configuration, never in a superior's statement (§8.1, §8.2). */
const SELF_PUBLISHED = [
  'federation_fetch_endpoint',
  'federation_list_endpoint',
  'federation_resolve_endpoint',
  'federation_trust_mark_status_endpoint',
  'federation_trust_mark_list_endpoint',
  'federation_trust_mark_endpoint',
  'federation_historical_keys_endpoint',
];

const metadata = z.record(z.string().min(1), z.unknown()).superRefine((md, ctx) => {
  for (const [entityType, params] of Object.entries(md)) {
    if (!isPlainObject(params)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of metadata parameters', path: [entityType] });
      continue;
    }
    for (const [parameter, value] of Object.entries(params)) {
      if (value === null)
        ctx.addIssue({
          code: 'custom',
          message: 'must not be null (leave the parameter out, or remove it with a metadata_policy "value": null)',
          path: [entityType, parameter],
        });
      if (entityType === 'federation_entity' && SELF_PUBLISHED.includes(parameter)) {
        ctx.addIssue({
          code: 'custom',
          message: 'federation endpoints are published by the entity in its own entity configuration, not by its superior',
          path: [entityType, parameter],
        });
      }
    }
  }
});

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const jwk = z.looseObject({ kty: z.string().min(1), kid: z.string().min(1, 'every key needs a kid') }).superRefine((key, ctx) => {
  for (const member of PRIVATE_MEMBERS) {
    if (member in key)
      ctx.addIssue({ code: 'custom', message: `is a private or secret key member; pin only the public key`, path: [member] });
  }
  if (key.use !== undefined && key.use !== 'sig')
    ctx.addIssue({ code: 'custom', message: 'must be "sig" (federation keys sign statements)', path: ['use'] });
});
const jwks = z.strictObject({ keys: z.array(jwk).min(1, 'must hold at least one key') }).superRefine((set, ctx) => {
  const seen = new Map<string, number>();
  set.keys.forEach((k, i) => {
    if (seen.has(k.kid))
      ctx.addIssue({ code: 'custom', message: `kid "${k.kid}" is used twice (also keys[${seen.get(k.kid)}])`, path: ['keys', i, 'kid'] });
    seen.set(k.kid, i);
  });
});

const subordinate = z.strictObject({
  entity_id: entityId,
  comment: z.string().optional(),
  metadata_policy: metadataPolicy.optional(),
  constraints: constraints.optional(),
  metadata: metadata.optional(),
  jwks: jwks.optional(),
});

const authorityConfigSchema = z.strictObject({
  comment: z.string().optional(),
  metadata_policy: metadataPolicy.optional(),
  subordinates: z.array(subordinate),
});

/** Why a field that is not part of the format was refused. */
const UNKNOWN_FIELD_REASONS: Record<string, string> = {
  trust_marks:
    'trust marks are published by the subordinate in its own entity configuration (OpenID Federation §3.1.2), not in a subordinate statement',
  authority_hints: 'authority_hints are published by the subordinate in its own entity configuration, not configured at its superior',
  metadata_policy_crit: 'no additional (critical) policy operators are supported; use the standard operators only',
  source_endpoint: 'source_endpoint is set by the authority itself (its fetch endpoint)',
  sub: 'name the subordinate with entity_id',
  iss: 'the issuer is always this authority',
};

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

function issueToError(source: string, error: z.ZodError): ConfigurationError {
  const first = error.issues[0]!;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  if (first.code === 'unrecognized_keys') {
    const key = first.keys[0]!;
    const path = formatPath([...first.path, key]);
    return new ConfigurationError(
      `${source}: ${path}`,
      (UNKNOWN_FIELD_REASONS[key] ?? 'is not a field of the authority configuration (see docs/federation.md)') + more,
    );
  }
  let message = first.message;
  if (first.code === 'invalid_type' && first.expected === 'int') message = 'must be a whole number';
  else if (first.code === 'invalid_type' && message.startsWith('Invalid input')) {
    const expected = first.expected === 'object' ? 'a JSON object' : first.expected === 'array' ? 'an array' : `a ${first.expected}`;
    message = `must be ${expected}${first.input === undefined ? ' (missing)' : ''}`;
  }
  return new ConfigurationError(`${source}: ${formatPath(first.path) || '(root)'}`, message + more);
}

/**
 * Validates an authority configuration. `authorityEntityId`, when given, is the authority's own
 * Entity Identifier (an authority is not its own subordinate). Throws ConfigurationError whose
 * path names the field, e.g. `gd.json: subordinates[1].metadata_policy.openid_provider.grant_types.subset_of`.
 */
export function parseAuthorityConfig(raw: unknown, source = 'authority configuration', authorityEntityId?: string): AuthorityConfig {
  const parsed = authorityConfigSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw issueToError(source, parsed.error);
  const config = parsed.data as AuthorityConfig;
  const fail = (path: string, reason: string): never => {
    throw new ConfigurationError(`${source}: ${path}`, reason);
  };
  const seen = new Map<string, number>();
  config.subordinates.forEach((sub, i) => {
    const at = `subordinates[${i}]`;
    if (authorityEntityId !== undefined && sub.entity_id === authorityEntityId)
      fail(`${at}.entity_id`, `${sub.entity_id} is this authority itself; an authority is not its own subordinate`);
    if (seen.has(sub.entity_id))
      fail(`${at}.entity_id`, `${sub.entity_id} is listed twice (also subordinates[${seen.get(sub.entity_id)}])`);
    seen.set(sub.entity_id, i);
    if (config.metadata_policy && sub.metadata_policy) {
      try {
        combinePolicies(config.metadata_policy, sub.metadata_policy);
      } catch (err) {
        if (!(err instanceof MetadataPolicyError)) throw err;
        const { path, reason } = policyErrorParts(err);
        const why = reason.replace(/^superiors set different (\w+) operators/, 'the two set different $1 operators');
        fail(
          formatPath([...`${at}.metadata_policy`.split('.'), ...path]),
          `cannot be combined with the authority-wide metadata_policy: ${why}`,
        );
      }
    }
  });
  return config;
}

/**
 * The metadata policy of the statement about `sub`: the authority-wide policy combined with the
 * subordinate's own (undefined when neither has one). The combination was checked on load.
 */
export function effectivePolicy(config: AuthorityConfig, sub: SubordinateConfig): MetadataPolicy | undefined {
  const combined = combinePolicies(config.metadata_policy ?? {}, sub.metadata_policy ?? {});
  return Object.keys(combined).length ? combined : undefined;
}

export function findSubordinate(config: AuthorityConfig, entityId: string): SubordinateConfig | undefined {
  return config.subordinates.find((s) => s.entity_id === entityId);
}

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

/**
 * What every authority starts with: small and spec-legal. Relying parties authenticate at the
 * token endpoint with private_key_jwt or client_secret_basic (token_endpoint_auth_method is a
 * single string, so one_of; subset_of needs an array) and use the code and refresh grants only;
 * OPs sign ID tokens with ES256 or RS256.
 */
export function defaultMetadataPolicy(): MetadataPolicy {
  return {
    openid_relying_party: {
      token_endpoint_auth_method: { one_of: ['private_key_jwt', 'client_secret_basic'] },
      grant_types: { subset_of: ['authorization_code', 'refresh_token'] },
    },
    openid_provider: {
      id_token_signing_alg_values_supported: { subset_of: ['ES256', 'RS256'] },
    },
  };
}

/**
 * The configuration derived from the topology: every entity whose superior is this authority
 * becomes a subordinate, with the default policy. A province under the national anchor may have
 * one Intermediate below it (itself) — `max_path_length: 1` lets its cities be leaves — and a city
 * or the services entity is a leaf (`max_path_length: 0`).
 */
export function defaultAuthorityConfig(topology: Topology, authorityId: string): AuthorityConfig {
  const authority = authorityEntity(topology, authorityId);
  return {
    metadata_policy: defaultMetadataPolicy(),
    subordinates: topology.entities
      .filter((e) => e.superior === authority.id)
      .map((e) => ({ entity_id: e.url, constraints: { max_path_length: isFederationAuthority(e) ? 1 : 0 } })),
  };
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/** Reads and validates a configuration file. */
export function readAuthorityConfigFile(file: string, authorityEntityId?: string): AuthorityConfig {
  return parseAuthorityConfig(readJsonFile(file, 'authority configuration'), file, authorityEntityId);
}

/**
 * Validates, then writes atomically: the text goes to a temporary file in the same folder, is
 * flushed to disk, and replaces the file by rename, so a reader sees the old file or the new one,
 * never half of one. An invalid configuration throws and leaves the file as it was.
 */
export function writeAuthorityConfigFile(file: string, config: AuthorityConfig, authorityEntityId?: string): AuthorityConfig {
  const valid = parseAuthorityConfig(JSON.parse(JSON.stringify(config)), file, authorityEntityId);
  writeJsonFileAtomically(file, valid, 'authority configuration');
  return valid;
}

/** The authority's configuration, created from defaultAuthorityConfig when the file is absent. */
export function loadAuthorityConfig(dataDir: string, topology: Topology, authorityId: string): AuthorityConfig {
  const authority = authorityEntity(topology, authorityId);
  const file = authorityConfigPath(dataDir, authority.id);
  if (!fileExists(file, 'authority configuration'))
    return writeAuthorityConfigFile(file, defaultAuthorityConfig(topology, authority.id), authority.url);
  return readAuthorityConfigFile(file, authority.url);
}

/** Validates and writes the authority's configuration atomically (see writeAuthorityConfigFile). */
export function saveAuthorityConfig(dataDir: string, topology: Topology, authorityId: string, config: AuthorityConfig): AuthorityConfig {
  const authority = authorityEntity(topology, authorityId);
  return writeAuthorityConfigFile(authorityConfigPath(dataDir, authority.id), config, authority.url);
}

// ---------------------------------------------------------------------------------------------
// Live reloading
// ---------------------------------------------------------------------------------------------

/** What a running authority reads its configuration through. */
export type AuthorityConfigSource = LiveConfigSource<AuthorityConfig>;

export interface AuthorityConfigWatcherOptions {
  file: string;
  /** The authority's own Entity Identifier. */
  authorityEntityId: string;
  /** Written when the file is absent at start. */
  defaults?: () => AuthorityConfig;
  log?: Logger;
  checkIntervalMs?: number;
  now?: () => number;
}

/** An authority's configuration, kept current without a restart (see live-config-file.ts). */
export class AuthorityConfigWatcher extends LiveConfigFile<AuthorityConfig> {
  constructor(opts: AuthorityConfigWatcherOptions) {
    super({
      file: opts.file,
      read: (file) => readAuthorityConfigFile(file, opts.authorityEntityId),
      createDefault: opts.defaults ? (file) => void writeAuthorityConfigFile(file, opts.defaults!(), opts.authorityEntityId) : undefined,
      label: 'authority configuration',
      summary: (c) => ({ subordinates: c.subordinates.length }),
      log: opts.log,
      checkIntervalMs: opts.checkIntervalMs,
      now: opts.now,
    });
  }
}

/**
 * The live configuration of `authorityId` in `dataDir`, created from the topology when absent.
 * What cli/entity-host.ts hands to authorityEndpoints.
 */
export function watchAuthorityConfig(
  dataDir: string,
  topology: Topology,
  authorityId: string,
  opts: { log?: Logger; checkIntervalMs?: number; now?: () => number } = {},
): AuthorityConfigWatcher {
  const authority = authorityEntity(topology, authorityId);
  return new AuthorityConfigWatcher({
    file: authorityConfigPath(dataDir, authority.id),
    authorityEntityId: authority.url,
    defaults: () => defaultAuthorityConfig(topology, authority.id),
    ...opts,
  });
}
