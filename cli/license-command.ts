/**
 * `gov-id license …` (docs/licenses.md, "Command line"):
 *
 *   gov-id license verify FILE [--entity ID] [--audience A] [--nonce N] [--require-key-binding]
 *   gov-id license issue --entity ID FILE
 *   gov-id license revoke|suspend|reinstate --entity ID --reason TEXT LICENSE_ID
 *
 * `verify` checks a licence file (compact JWS, SD-JWT or SD-JWT+KB; `-` reads standard input)
 * here, resolving the issuer's trust chain from the topology's trust anchor over HTTP, as any
 * verifier would; with --entity it asks that services entity's POST /licenses/verify instead.
 * It prints the answer as JSON and exits 0 when the licence is valid, 1 when a check fails (the
 * problem code on standard error), 3 when it cannot be checked now (issuer or status list out of
 * reach), 2 for a usage error or an unreadable file.
 */
import { readFileSync } from 'node:fs';
import { allowHttpEntityIds, topologyTrustAnchor } from '../federation/authority-endpoints.ts';
import { EntitySigningKeys } from '../federation/entity-signing-keys.ts';
import { loadTopology, type Entity } from '../federation/topology.ts';
import { httpStatementFetcher } from '../federation/trust-chain.ts';
import { callAdmin } from '../infra/admin-client.ts';
import { LicenseCheckFailed } from '../services/licenses/license-problems.ts';
import { LicenseVerifier, type Expectations } from '../services/licenses/license-verifier.ts';
import { verificationAnswer } from '../services/licenses/license-answers.ts';
import { CommandLineError, print, UsageError, type CommandContext } from './command.ts';

export const EXIT = { valid: 0, invalid: 1, usage: 2, undecided: 3 } as const;

function oneArgument(ctx: CommandContext, command: string, what: string): string {
  if (ctx.args.length !== 1 || !ctx.args[0]) throw new UsageError(`license ${command} needs ${what}`);
  return ctx.args[0];
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CommandLineError(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function servicesEntity(ctx: CommandContext, command: string): Entity {
  if (!ctx.values.entity) throw new UsageError(`license ${command} needs --entity ID (a services entity)`);
  const entity = loadTopology(ctx.topologyPath).get(ctx.values.entity);
  if (entity.kind !== 'services') throw new UsageError(`license ${command}: ${entity.id} is not a services entity`);
  return entity;
}

/** A verifier as anyone outside the federation's entities would run it: the topology's anchor, statements over HTTP. */
function localVerifier(topologyPath: string | undefined): LicenseVerifier {
  const topology = loadTopology(topologyPath);
  const fetcher = httpStatementFetcher();
  const keys = new EntitySigningKeys({
    trustAnchors: [topologyTrustAnchor(topology, fetcher)],
    fetcher,
    allowHttpEntityIds: allowHttpEntityIds(topology),
    entityType: 'oauth_resource',
  });
  return new LicenseVerifier({ issuerKey: (issuer, kid) => keys.key(issuer, kid) });
}

/** The answer printed, and the exit status it means. */
function report(status: number, answer: Record<string, unknown>): number {
  print(answer);
  if (status === 200 && answer.valid === true) return EXIT.valid;
  process.stderr.write(
    `gov-id: the licence is not valid: ${String(answer.error)} (${String(answer.check ?? '')}): ${String(answer.error_description ?? '')}\n`,
  );
  return status === 503 ? EXIT.undecided : EXIT.invalid;
}

export async function verifyLicense(ctx: CommandContext): Promise<number> {
  const license = readText(oneArgument(ctx, 'verify', 'the licence FILE (or - for standard input)'));
  const { audience, nonce } = ctx.values;
  const requireKeyBinding = ctx.values['require-key-binding'] === true;
  if (ctx.values.entity) {
    const entity = servicesEntity(ctx, 'verify');
    let res: Response;
    try {
      res = await fetch(`${entity.url}/licenses/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ license, audience, nonce, ...(requireKeyBinding ? { require_key_binding: true } : {}) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      process.stderr.write(`gov-id: ${entity.id} is not reachable at ${entity.url} (${(err as Error).message})\n`);
      return EXIT.undecided;
    }
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status === 400)
      throw new CommandLineError(`${entity.id} refused the request: ${String(answer.error_description ?? res.status)}`);
    return report(res.status, answer);
  }
  const expect: Expectations = {
    ...(audience ? { audience } : {}),
    ...(nonce ? { nonce } : {}),
    ...(requireKeyBinding ? { requireKeyBinding } : {}),
  };
  try {
    return report(200, verificationAnswer(await localVerifier(ctx.topologyPath).verify(license, expect)));
  } catch (err) {
    if (!(err instanceof LicenseCheckFailed)) throw err;
    return report(err.status, { error: err.problem, error_description: err.message, valid: false, check: err.check });
  }
}

export async function issueLicense(ctx: CommandContext): Promise<number> {
  const entity = servicesEntity(ctx, 'issue');
  const file = oneArgument(ctx, 'issue', 'the licence request FILE (JSON, as POST /admin/licenses takes it)');
  let body: unknown;
  try {
    body = JSON.parse(readText(file));
  } catch (err) {
    if (err instanceof CommandLineError) throw err;
    throw new CommandLineError(`${file}: ${(err as Error).message}`);
  }
  print(await callAdmin(entity, ctx.config.dataDir, 'POST', '/admin/licenses', body));
  return EXIT.valid;
}

export async function changeLicenseState(ctx: CommandContext, action: 'revoke' | 'suspend' | 'reinstate'): Promise<number> {
  const entity = servicesEntity(ctx, action);
  const id = oneArgument(ctx, action, 'the LICENSE_ID');
  if (!ctx.values.reason) throw new UsageError(`license ${action} needs --reason TEXT`);
  print(
    await callAdmin(entity, ctx.config.dataDir, 'POST', `/admin/licenses/${encodeURIComponent(id)}/${action}`, {
      reason: ctx.values.reason,
    }),
  );
  return EXIT.valid;
}
