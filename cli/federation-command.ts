/**
 * `gov-id federation …`: how a province (or national) admin configures the subordinates of a
 * federation authority and looks at trust chains. Subcommands edit the authority's configuration
 * file (federation/authority-config.ts) — validated before it is written, written atomically — so a
 * running authority takes the change on its next request; `show-chain` resolves a trust chain
 * over HTTP against the running federation. See docs/federation.md.
 *
 *   gov-id federation list --entity AUTH
 *   gov-id federation add-subordinate --entity AUTH --subject URL [--policy FILE]
 *   gov-id federation remove-subordinate --entity AUTH --subject URL
 *   gov-id federation set-policy --entity AUTH [--subject URL] --policy FILE
 *   gov-id federation show-chain --entity X [--trust-anchor URL]
 */
import { readFileSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { ConfigurationError } from '../infra/errors.ts';
import {
  authorityConfigPath,
  authorityEntity,
  effectivePolicy,
  entityIdProblem,
  findSubordinate,
  loadAuthorityConfig,
  saveAuthorityConfig,
  type AuthorityConfig,
  type SubordinateConfig,
} from '../federation/authority-config.ts';
import { allowHttpEntityIds } from '../federation/authority-endpoints.ts';
import { EntityConfigurationError, fetchEntityKeys } from '../federation/entity-configuration.ts';
import { MetadataPolicyError, TrustChainError } from '../federation/federation-errors.ts';
import { validatePolicy, type MetadataPolicy } from '../federation/metadata-policy.ts';
import { httpStatementFetcher, resolveTrustChain, type StatementFetcher } from '../federation/trust-chain.ts';
import { loadTopology, type Entity, type Topology } from '../federation/topology.ts';
import { print, type CommandContext } from './command.ts';

/**
 * A federation command that cannot be carried out; the message says why and what to do. A
 * ConfigurationError, so the command line prints it as `gov-id: MESSAGE` with exit code 2.
 */
export class FederationCommandError extends ConfigurationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('', message);
    this.name = 'FederationCommandError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export interface FederationCommandContext {
  topology: Topology;
  dataDir: string;
  /** How show-chain fetches statements (default: over HTTP). */
  fetcher?: StatementFetcher;
}

const ACTIONS = ['list', 'add-subordinate', 'remove-subordinate', 'set-policy', 'show-chain'] as const;

function stringOption(values: Record<string, unknown>, name: string, action: string, required: true): string;
function stringOption(values: Record<string, unknown>, name: string, action: string, required: false): string | undefined;
function stringOption(values: Record<string, unknown>, name: string, action: string, required: boolean): string | undefined {
  const v = values[name];
  if (v === undefined || v === '') {
    if (required) throw new FederationCommandError(`federation ${action} needs --${name}`);
    return undefined;
  }
  if (typeof v !== 'string') throw new FederationCommandError(`--${name} must be given once, as text`);
  return v;
}

/** A configuration error from loading or saving, as a FederationCommandError with the same message. */
function rethrow(err: unknown): never {
  if (err instanceof ConfigurationError && !(err instanceof FederationCommandError))
    throw new FederationCommandError(err.message, { cause: err });
  throw err;
}

function authority(ctx: FederationCommandContext, values: Record<string, unknown>, action: string): Entity {
  const id = stringOption(values, 'entity', action, true);
  try {
    return authorityEntity(ctx.topology, id);
  } catch (err) {
    return rethrow(err);
  }
}

/** --subject: an Entity Identifier (URL), or the ID of an entity of the topology. */
function subject(ctx: FederationCommandContext, values: Record<string, unknown>, action: string, required: true): string;
function subject(ctx: FederationCommandContext, values: Record<string, unknown>, action: string, required: false): string | undefined;
function subject(ctx: FederationCommandContext, values: Record<string, unknown>, action: string, required: boolean): string | undefined {
  const raw = stringOption(values, 'subject', action, false);
  if (raw === undefined) {
    if (required) throw new FederationCommandError(`federation ${action} needs --subject`);
    return undefined;
  }
  if (!raw.includes(':')) {
    const entity = ctx.topology.entities.find((e) => e.id === raw);
    if (!entity) throw new FederationCommandError(`--subject: "${raw}" is neither a URL nor an entity of topology ${ctx.topology.name}`);
    return entity.url;
  }
  const problem = entityIdProblem(raw);
  if (problem) throw new FederationCommandError(`--subject: ${raw} ${problem}`);
  return raw;
}

/** Reads a metadata policy file and validates it; errors name the file, the field and the reason. `{}` means "no policy". */
function readPolicyFile(file: string): MetadataPolicy | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FederationCommandError(
      `--policy ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch (err) {
    throw new FederationCommandError(`--policy ${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof policy === 'object' && policy !== null && !Array.isArray(policy) && Object.keys(policy).length === 0) return undefined;
  try {
    validatePolicy(policy as MetadataPolicy);
  } catch (err) {
    if (!(err instanceof MetadataPolicyError)) throw err;
    const path = [err.entityType, err.parameter, err.operator].filter(Boolean).join('.');
    const reason = path && err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message;
    throw new FederationCommandError(`--policy ${file}: ${path || '(root)'}: ${reason}`, { cause: err });
  }
  return policy as MetadataPolicy;
}

function load(ctx: FederationCommandContext, auth: Entity): AuthorityConfig {
  try {
    return loadAuthorityConfig(ctx.dataDir, ctx.topology, auth.id);
  } catch (err) {
    return rethrow(err);
  }
}

function save(ctx: FederationCommandContext, auth: Entity, config: AuthorityConfig): AuthorityConfig {
  try {
    return saveAuthorityConfig(ctx.dataDir, ctx.topology, auth.id, config);
  } catch (err) {
    return rethrow(err);
  }
}

/** One subordinate as printed: its topology ID if any, its policy in force and its settings. */
function describeSubordinate(ctx: FederationCommandContext, config: AuthorityConfig, sub: SubordinateConfig) {
  const entity = ctx.topology.entities.find((e) => e.url === sub.entity_id);
  let policy: MetadataPolicy | undefined;
  try {
    policy = effectivePolicy(config, sub);
  } catch {
    policy = undefined; // not reached: the combination was checked when the file was loaded
  }
  return {
    entity_id: sub.entity_id,
    ...(entity ? { entity: entity.id } : {}),
    ...(sub.comment ? { comment: sub.comment } : {}),
    ...(sub.metadata_policy ? { own_metadata_policy: sub.metadata_policy } : {}),
    metadata_policy: policy ?? null,
    constraints: sub.constraints ?? null,
    ...(sub.metadata ? { metadata: sub.metadata } : {}),
    ...(sub.jwks ? { pinned_kids: sub.jwks.keys.map((k) => k.kid) } : {}),
  };
}

function summary(ctx: FederationCommandContext, auth: Entity, config: AuthorityConfig) {
  return {
    authority: auth.id,
    entity_id: auth.url,
    file: authorityConfigPath(ctx.dataDir, auth.id),
    metadata_policy: config.metadata_policy ?? null,
    subordinates: config.subordinates.map((s) => describeSubordinate(ctx, config, s)),
  };
}

/** A topology entity placed under another authority than its topology superior: its authority_hints will not name this one. */
function superiorWarning(ctx: FederationCommandContext, auth: Entity, subjectId: string): string[] {
  const entity = ctx.topology.entities.find((e) => e.url === subjectId);
  if (!entity || entity.superior === auth.id) return [];
  const superior = entity.superior ? `${entity.superior}` : 'no superior';
  return [
    `${entity.id}'s superior in the topology is ${superior}: its entity configuration does not name ${auth.id} in authority_hints, so trust chains will not go through this statement`,
  ];
}

async function showChain(ctx: FederationCommandContext, values: Record<string, unknown>) {
  const id = stringOption(values, 'entity', 'show-chain', true);
  let subjectId: string;
  if (id.includes(':')) {
    const problem = entityIdProblem(id);
    if (problem) throw new FederationCommandError(`--entity: ${id} ${problem}`);
    subjectId = id;
  } else {
    try {
      subjectId = ctx.topology.get(id).url;
    } catch (err) {
      return rethrow(err);
    }
  }
  const national = ctx.topology.entities.find((e) => e.superior === null)!;
  const anchorId = stringOption(values, 'trust-anchor', 'show-chain', false) ?? national.url;
  const anchorProblem = entityIdProblem(anchorId);
  if (anchorProblem) throw new FederationCommandError(`--trust-anchor: ${anchorId} ${anchorProblem}`);

  let anchorKeys: { keys: JWK[] };
  try {
    anchorKeys = (await fetchEntityKeys(anchorId)) as { keys: JWK[] };
  } catch (err) {
    if (!(err instanceof EntityConfigurationError)) throw err;
    throw new FederationCommandError(
      `cannot get the keys of trust anchor ${anchorId}: ${err.message}; is the federation running ("gov-id start")?`,
      { cause: err },
    );
  }
  let chain;
  try {
    chain = await resolveTrustChain(subjectId, {
      trustAnchors: [{ entityId: anchorId, jwks: anchorKeys }],
      fetcher: ctx.fetcher ?? httpStatementFetcher(),
      allowHttpEntityIds: allowHttpEntityIds(ctx.topology),
    });
  } catch (err) {
    if (!(err instanceof TrustChainError)) throw err;
    const others = err.alternatives.length ? `; other paths failed too: ${err.alternatives.map((a) => a.message).join('; ')}` : '';
    throw new FederationCommandError(`no valid trust chain from ${subjectId} to ${anchorId}: ${err.message}${others}`, { cause: err });
  }
  return {
    subject: chain.subject,
    trust_anchor: chain.trustAnchor,
    expires_at: new Date(chain.expiresAt * 1000).toISOString(),
    statements: chain.statements.map((jwt) => {
      const claims = decodeJwt(jwt);
      const header = decodeProtectedHeader(jwt);
      const entity = ctx.topology.entities.find((e) => e.url === claims.sub);
      return {
        kind: claims.iss === claims.sub ? 'entity configuration' : 'subordinate statement',
        iss: claims.iss,
        sub: claims.sub,
        ...(entity ? { entity: entity.id } : {}),
        kid: header.kid,
        iat: claims.iat,
        exp: claims.exp,
        expires: claims.exp === undefined ? null : new Date(claims.exp * 1000).toISOString(),
        ...(claims.metadata_policy ? { metadata_policy: claims.metadata_policy } : {}),
        ...(claims.constraints ? { constraints: claims.constraints } : {}),
      };
    }),
    metadata: chain.metadata,
  };
}

/**
 * Runs `gov-id federation ACTION` with the parsed command-line `values` (--entity, --subject,
 * --policy, --trust-anchor) and returns the JSON to print. Throws FederationCommandError.
 */
export async function federationCommand(action: string, values: Record<string, unknown>, ctx: FederationCommandContext): Promise<unknown> {
  switch (action) {
    case 'list': {
      const auth = authority(ctx, values, action);
      return summary(ctx, auth, load(ctx, auth));
    }
    case 'add-subordinate': {
      const auth = authority(ctx, values, action);
      const sub = subject(ctx, values, action, true);
      const policyFile = stringOption(values, 'policy', action, false);
      const policy = policyFile === undefined ? undefined : readPolicyFile(policyFile);
      const config = load(ctx, auth);
      if (sub === auth.url) throw new FederationCommandError(`${sub} is ${auth.id} itself; an authority is not its own subordinate`);
      if (findSubordinate(config, sub))
        throw new FederationCommandError(
          `${sub} is already a subordinate of ${auth.id}; change its policy with "gov-id federation set-policy"`,
        );
      const entity = ctx.topology.entities.find((e) => e.url === sub);
      const added: SubordinateConfig = { entity_id: sub, ...(policy ? { metadata_policy: policy } : {}) };
      if (entity) added.constraints = { max_path_length: entity.superior === auth.id && entity.tier === 'province' ? 1 : 0 };
      const saved = save(ctx, auth, { ...config, subordinates: [...config.subordinates, added] });
      const warnings = superiorWarning(ctx, auth, sub);
      return { ...summary(ctx, auth, saved), added: sub, ...(warnings.length ? { warnings } : {}) };
    }
    case 'remove-subordinate': {
      const auth = authority(ctx, values, action);
      const sub = subject(ctx, values, action, true);
      const config = load(ctx, auth);
      if (!findSubordinate(config, sub)) {
        throw new FederationCommandError(
          `${sub} is not a subordinate of ${auth.id}; its subordinates are ${config.subordinates.map((s) => s.entity_id).join(', ') || 'none'}`,
        );
      }
      const saved = save(ctx, auth, { ...config, subordinates: config.subordinates.filter((s) => s.entity_id !== sub) });
      return { ...summary(ctx, auth, saved), removed: sub };
    }
    case 'set-policy': {
      const auth = authority(ctx, values, action);
      const sub = subject(ctx, values, action, false);
      const policyFile = stringOption(values, 'policy', action, true);
      const policy = readPolicyFile(policyFile);
      const config = load(ctx, auth);
      let next: AuthorityConfig;
      if (sub === undefined) {
        const { metadata_policy: _old, ...rest } = config;
        next = policy ? { ...rest, metadata_policy: policy } : rest;
      } else {
        const current = findSubordinate(config, sub);
        if (!current)
          throw new FederationCommandError(
            `${sub} is not a subordinate of ${auth.id}; add it first with "gov-id federation add-subordinate"`,
          );
        const { metadata_policy: _old, ...rest } = current;
        const updated: SubordinateConfig = policy ? { ...rest, metadata_policy: policy } : rest;
        next = { ...config, subordinates: config.subordinates.map((s) => (s === current ? updated : s)) };
      }
      const saved = save(ctx, auth, next);
      return { ...summary(ctx, auth, saved), updated: sub ?? 'all subordinates' };
    }
    case 'show-chain':
      return showChain(ctx, values);
    default:
      throw new FederationCommandError(`unknown federation command "${action}"; use one of ${ACTIONS.join(', ')}`);
  }
}

/** `gov-id federation ACTION` on the command line: prints what the action returns. */
export async function runFederationCommand(action: string, { values, config, topologyPath }: CommandContext): Promise<number> {
  print(await federationCommand(action, values, { topology: loadTopology(topologyPath), dataDir: config.dataDir }));
  return 0;
}
