/**
 * `gov-id exchange log …`: an auditor's view of a data-sharing node's access log (docs/exchange.md).
 * - `verify --entity ID`: the node exports its log (admin API) and it is checked here, its trust
 *   chain against the trust anchor's keys as the running federation publishes them;
 * - `export --entity ID FILE`: the signed bundle, written to FILE;
 * - `verify --file FILE`: the bundle checked offline (the anchor's keys from --trust-anchor-jwks,
 *   else the bundle's own anchor configuration, reported as not pinned).
 * Exit status 1 when the log or the bundle does not verify.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeJwt, type JWK } from 'jose';
import { loadTopology, type Entity, type Topology } from '../federation/topology.ts';
import { validateTrustChain, type TrustAnchor } from '../federation/trust-chain.ts';
import { allowHttpEntityIds, materializeTrustAnchor, topologyTrustAnchor } from '../federation/authority-endpoints.ts';
import { callAdmin } from '../infra/admin-client.ts';
import { isLoopbackUrl } from '../infra/loopback.ts';
import { verifyLogBundle, type ChainValidator } from '../services/exchange/log-bundle.ts';
import { CommandLineError, print, readJson, UsageError, type CommandContext } from './command.ts';

/**
 * Validates a node's trust chain as of the export (`at`): against `anchor` when given, else against
 * the anchor configuration the chain ends with. Returns the node's keys from its configuration.
 */
export function bundleChainValidator(anchor: TrustAnchor | null, allowHttp: (entityId: string) => boolean): ChainValidator {
  return async (statements, at) => {
    const last = decodeJwt(statements.at(-1)!);
    const anchors = [anchor ?? { entityId: String(last.sub), jwks: last.jwks as { keys: JWK[] } }];
    const subject = String(decodeJwt(statements[0]!).sub);
    const chain = await validateTrustChain(statements, { trustAnchors: anchors, now: () => at, allowHttpEntityIds: allowHttp(subject) });
    return { subject: chain.subject, keys: (decodeJwt(statements[0]!).jwks as { keys: JWK[] }).keys, trustAnchor: chain.trustAnchor };
  };
}

function node(ctx: CommandContext, command: string): { topology: Topology; entity: Entity } {
  if (!ctx.values.entity) throw new UsageError(`exchange log ${command} needs --entity ID (a services entity)`);
  const topology = loadTopology(ctx.topologyPath);
  const entity = topology.get(ctx.values.entity);
  if (entity.kind !== 'services')
    throw new UsageError(`exchange log ${command}: ${entity.id} is not a services entity (a data-sharing node)`);
  return { topology, entity };
}

const exported = (ctx: CommandContext, entity: Entity) => callAdmin(entity, ctx.config.dataDir, 'GET', '/admin/exchange/log/export');

export async function verifyLog(ctx: CommandContext): Promise<number> {
  if (ctx.values.file) {
    if (ctx.values.entity) throw new UsageError('exchange log verify takes --entity ID or --file FILE, not both');
    let anchor: TrustAnchor | null = null;
    if (ctx.values['trust-anchor-jwks']) {
      if (!ctx.values['trust-anchor']) throw new UsageError('--trust-anchor-jwks needs --trust-anchor URL (whose keys they are)');
      anchor = {
        entityId: ctx.values['trust-anchor'],
        jwks: readJson('trust-anchor-jwks', ctx.values['trust-anchor-jwks']) as { keys: JWK[] },
      };
    }
    let bundle: unknown;
    try {
      bundle = JSON.parse(readFileSync(ctx.values.file, 'utf8'));
    } catch (err) {
      throw new CommandLineError(`${ctx.values.file}: ${(err as Error).message}`);
    }
    const result = await verifyLogBundle(bundle, bundleChainValidator(anchor, isLoopbackUrl));
    print({ ...result, anchor_pinned: anchor !== null });
    return result.intact ? 0 : 1;
  }
  const { topology, entity } = node(ctx, 'verify');
  const anchor = await materializeTrustAnchor(topologyTrustAnchor(topology));
  if (!anchor) throw new CommandLineError(`the trust anchor's keys cannot be read; is the federation running?`);
  const result = await verifyLogBundle(
    await exported(ctx, entity),
    bundleChainValidator(anchor, () => allowHttpEntityIds(topology)),
  );
  print({ ...result, anchor_pinned: true });
  return result.intact ? 0 : 1;
}

export async function exportLog(ctx: CommandContext): Promise<number> {
  const { entity } = node(ctx, 'export');
  if (ctx.args.length !== 1 || !ctx.args[0]) throw new UsageError('exchange log export needs the FILE to write');
  const bundle = (await exported(ctx, entity)) as { entries: unknown[]; exported_at: string };
  writeFileSync(ctx.args[0], JSON.stringify(bundle, null, 1) + '\n');
  print({ entity: entity.url, entries: bundle.entries.length, exported_at: bundle.exported_at, file: ctx.args[0] });
  return 0;
}
