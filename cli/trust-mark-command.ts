/**
 * `gov-id federation trust-marks …`: how the national admin decides which entities hold which
 * Trust Marks. The subcommands edit the Trust Mark Issuer's configuration file
 * (`${dataDir}/federation/trust-marks.json`, federation/trust-mark-issuer.ts) — validated before it
 * is written, written atomically — so the running national platform takes the change on its next
 * request. See docs/federation.md.
 *
 *   gov-id federation trust-marks list [--sub URL] [--type TYPE]
 *   gov-id federation trust-marks grant --sub URL --type TYPE [--max-loa loa1|loa2|loa3] [--expires-at DATE]
 *   gov-id federation trust-marks revoke --sub URL --type TYPE
 *
 * TYPE is `real-name-op`, `government-portal` or the full identifier; URL is an Entity Identifier
 * or the ID of an entity of the topology (`gz`). `--subject` is accepted for `--sub`.
 */
import { LOA_LEVELS, type LoaLevel } from '../idp/loa.ts';
import { ConfigurationError } from '../infra/errors.ts';
import { entityIdProblem } from '../federation/authority-config.ts';
import { loadTopology, type Entity, type Topology } from '../federation/topology.ts';
import { print, type CommandContext } from './command.ts';
import {
  defaultMaxLoa,
  findGrant,
  grantState,
  loadTrustMarkConfig,
  saveTrustMarkConfig,
  trustMarkConfigPath,
  trustMarkIssuerMetadata,
  type TrustMarkGrant,
  type TrustMarkIssuerConfig,
} from '../federation/trust-mark-issuer.ts';
import {
  govIdTrustMarkType,
  REAL_NAME_OP,
  GOVERNMENT_PORTAL,
  TRUST_MARK_SHORT_NAMES,
  trustMarkShortName,
  type GovIdTrustMarkType,
} from '../federation/trust-marks.ts';

/** A trust-marks command that cannot be carried out; printed as `gov-id: MESSAGE` with exit code 2. */
export class TrustMarkCommandError extends ConfigurationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('', message);
    this.name = 'TrustMarkCommandError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export interface TrustMarkCommandContext {
  topology: Topology;
  dataDir: string;
  /** Seconds since the epoch (tests). */
  now?: () => number;
}

const ACTIONS = ['list', 'grant', 'revoke'] as const;

function option(values: Record<string, unknown>, names: string[], action: string, required: true): string;
function option(values: Record<string, unknown>, names: string[], action: string, required: false): string | undefined;
function option(values: Record<string, unknown>, names: string[], action: string, required: boolean): string | undefined {
  const given = names.filter((n) => values[n] !== undefined && values[n] !== '');
  if (given.length > 1) throw new TrustMarkCommandError(`give only one of ${given.map((n) => `--${n}`).join(', ')}`);
  const name = given[0];
  if (name === undefined) {
    if (required) throw new TrustMarkCommandError(`federation trust-marks ${action} needs --${names[0]}`);
    return undefined;
  }
  const v = values[name];
  if (typeof v !== 'string') throw new TrustMarkCommandError(`--${name} must be given once, as text`);
  return v;
}

function rethrow(err: unknown): never {
  if (err instanceof ConfigurationError && !(err instanceof TrustMarkCommandError))
    throw new TrustMarkCommandError(err.message, { cause: err });
  throw err;
}

/** --sub: an Entity Identifier (URL), or the ID of an entity of the topology. */
function subject(ctx: TrustMarkCommandContext, values: Record<string, unknown>, action: string, required: boolean): string | undefined {
  const raw = required ? option(values, ['sub', 'subject'], action, true) : option(values, ['sub', 'subject'], action, false);
  if (raw === undefined) return undefined;
  if (!raw.includes(':')) {
    const entity = ctx.topology.entities.find((e) => e.id === raw);
    if (!entity) throw new TrustMarkCommandError(`--sub: "${raw}" is neither a URL nor an entity of topology ${ctx.topology.name}`);
    return entity.url;
  }
  const problem = entityIdProblem(raw);
  if (problem) throw new TrustMarkCommandError(`--sub: ${raw} ${problem}`);
  return raw;
}

function type(values: Record<string, unknown>, action: string, required: boolean): GovIdTrustMarkType | undefined {
  const raw = required ? option(values, ['type'], action, true) : option(values, ['type'], action, false);
  if (raw === undefined) return undefined;
  const t = govIdTrustMarkType(raw);
  if (!t)
    throw new TrustMarkCommandError(
      `--type: "${raw}" is not a trust mark type of this federation; use ${Object.keys(TRUST_MARK_SHORT_NAMES).join(' or ')}`,
    );
  return t;
}

function load(ctx: TrustMarkCommandContext): TrustMarkIssuerConfig {
  try {
    return loadTrustMarkConfig(ctx.dataDir, ctx.topology);
  } catch (err) {
    return rethrow(err);
  }
}

function save(ctx: TrustMarkCommandContext, config: TrustMarkIssuerConfig): TrustMarkIssuerConfig {
  try {
    return saveTrustMarkConfig(ctx.dataDir, config);
  } catch (err) {
    return rethrow(err);
  }
}

function issuer(ctx: TrustMarkCommandContext): Entity {
  return ctx.topology.entities.find((e) => e.superior === null)!;
}

function describe(ctx: TrustMarkCommandContext, grant: TrustMarkGrant, now: number) {
  const entity = ctx.topology.entities.find((e) => e.url === grant.sub);
  return {
    type: trustMarkShortName(grant.trust_mark_type),
    trust_mark_type: grant.trust_mark_type,
    sub: grant.sub,
    ...(entity ? { entity: entity.id } : {}),
    ...(grant.max_loa ? { max_loa: grant.max_loa } : {}),
    ...(grant.expires_at ? { expires_at: grant.expires_at } : {}),
    state: grantState(grant, now),
    ...(grant.comment ? { comment: grant.comment } : {}),
  };
}

function summary(
  ctx: TrustMarkCommandContext,
  config: TrustMarkIssuerConfig,
  now: number,
  filter: { sub?: string | undefined; type?: string | undefined } = {},
) {
  const national = issuer(ctx);
  return {
    issuer: national.id,
    entity_id: national.url,
    file: trustMarkConfigPath(ctx.dataDir),
    endpoints: trustMarkIssuerMetadata(national.url),
    marks: config.marks
      .filter((m) => (filter.sub === undefined || m.sub === filter.sub) && (filter.type === undefined || m.trust_mark_type === filter.type))
      .map((m) => describe(ctx, m, now)),
  };
}

/** Why a grant looks wrong for a topology entity (printed as warnings; the grant is made anyway). */
function warnings(ctx: TrustMarkCommandContext, t: GovIdTrustMarkType, sub: string): string[] {
  const entity = ctx.topology.entities.find((e) => e.url === sub);
  if (!entity) return [];
  if (t === REAL_NAME_OP && entity.kind !== 'op')
    return [`${entity.id} is a ${entity.kind} in the topology, not an OpenID Provider; real-name-op is meant for OPs`];
  if (t === GOVERNMENT_PORTAL && entity.kind !== 'portal')
    return [`${entity.id} is a ${entity.kind} in the topology, not a portal; government-portal is meant for portals`];
  return [];
}

function parseExpiresAt(raw: string | undefined, now: number): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) || Number.isNaN(Date.parse(raw))) {
    throw new TrustMarkCommandError(`--expires-at: "${raw}" must be a date and time with a time zone, e.g. 2026-12-31T23:59:59+08:00`);
  }
  if (Date.parse(raw) / 1000 <= now) throw new TrustMarkCommandError(`--expires-at: ${raw} is in the past`);
  return raw;
}

/**
 * Runs `gov-id federation trust-marks ACTION` with the parsed command-line `values` (--sub or
 * --subject, --type, --max-loa, --expires-at) and returns the JSON to print. Throws
 * TrustMarkCommandError.
 */
export async function trustMarkCommand(
  action: string | undefined,
  values: Record<string, unknown>,
  ctx: TrustMarkCommandContext,
): Promise<unknown> {
  const now = (ctx.now ?? (() => Math.floor(Date.now() / 1000)))();
  switch (action) {
    case 'list': {
      const filter = { sub: subject(ctx, values, action, false), type: type(values, action, false) };
      return summary(ctx, load(ctx), now, filter);
    }
    case 'grant': {
      const sub = subject(ctx, values, action, true)!;
      const t = type(values, action, true)!;
      const maxLoaRaw = option(values, ['max-loa'], action, false);
      let maxLoa: LoaLevel | undefined;
      if (maxLoaRaw !== undefined) {
        if (!(LOA_LEVELS as string[]).includes(maxLoaRaw))
          throw new TrustMarkCommandError(`--max-loa: "${maxLoaRaw}" must be one of ${LOA_LEVELS.join(', ')}`);
        if (t !== REAL_NAME_OP) throw new TrustMarkCommandError(`--max-loa: only real-name-op marks carry a level of assurance`);
        maxLoa = maxLoaRaw as LoaLevel;
      }
      const expiresAt = parseExpiresAt(option(values, ['expires-at'], action, false), now);
      const config = load(ctx);
      const current = findGrant(config, t, sub);
      if (t === REAL_NAME_OP && maxLoa === undefined) {
        const entity = ctx.topology.entities.find((e) => e.url === sub && e.kind === 'op');
        maxLoa = current?.max_loa ?? (entity ? defaultMaxLoa(entity) : undefined);
        if (maxLoa === undefined)
          throw new TrustMarkCommandError(
            `federation trust-marks grant --type real-name-op needs --max-loa (loa1, loa2 or loa3): the highest level of assurance ${sub} may assert`,
          );
      }
      const { revoked: _revoked, ...kept } = current ?? { trust_mark_type: t, sub };
      const granted: TrustMarkGrant = {
        ...kept,
        trust_mark_type: t,
        sub,
        ...(maxLoa ? { max_loa: maxLoa } : {}),
        ...(expiresAt ? { expires_at: expiresAt } : {}),
      };
      const marks = current ? config.marks.map((m) => (m === current ? granted : m)) : [...config.marks, granted];
      const saved = save(ctx, { ...config, marks });
      const w = warnings(ctx, t, sub);
      return {
        ...summary(ctx, saved, now),
        [current ? 'updated' : 'granted']: describe(ctx, granted, now),
        ...(w.length ? { warnings: w } : {}),
      };
    }
    case 'revoke': {
      const sub = subject(ctx, values, action, true)!;
      const t = type(values, action, true)!;
      const config = load(ctx);
      const current = findGrant(config, t, sub);
      if (!current) {
        const held = config.marks.filter((m) => m.sub === sub).map((m) => trustMarkShortName(m.trust_mark_type));
        throw new TrustMarkCommandError(
          `${sub} has no ${trustMarkShortName(t)} trust mark to revoke${held.length ? `; it has ${held.join(', ')}` : ''}`,
        );
      }
      if (current.revoked)
        return { ...summary(ctx, config, now), revoked: describe(ctx, current, now), note: 'it was already revoked; nothing changed' };
      const revoked: TrustMarkGrant = { ...current, revoked: true };
      const saved = save(ctx, { ...config, marks: config.marks.map((m) => (m === current ? revoked : m)) });
      return { ...summary(ctx, saved, now), revoked: describe(ctx, revoked, now) };
    }
    default:
      throw new TrustMarkCommandError(
        `${action ? `unknown federation trust-marks command "${action}"` : 'federation trust-marks needs a command'}; use one of ${ACTIONS.join(', ')}`,
      );
  }
}

/** `gov-id federation trust-marks ACTION` on the command line: prints what the action returns. */
export async function runTrustMarkCommand(action: string, { values, config, topologyPath }: CommandContext): Promise<number> {
  print(await trustMarkCommand(action, values, { topology: loadTopology(topologyPath), dataDir: config.dataDir }));
  return 0;
}
