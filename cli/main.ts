/**
 * The `gov-id` command line. Run `gov-id help` for the list of commands.
 */
import { parseArgs } from 'node:util';
import { configFromEnv } from '../infra/config.ts';
import { ConfigurationError } from '../infra/errors.ts';
import { describeTopology, loadTopology, type Topology } from '../federation/topology.ts';
import { migrateEntity, startHost } from './entity-host.ts';
import { AdminCallError, callAdmin } from './admin-client.ts';
import { FEDERATION_HELP, federationCommand } from './federation-command.ts';
import { CONFORMANCE_HELP, CONFORMANCE_OPTIONS, conformanceCommand, readJson } from './conformance-command.ts';
import { TRUST_MARK_HELP, trustMarkCommand } from './trust-mark-command.ts';
import { ACCOUNT_CONFLICT_ACTIONS, ACCOUNT_CONFLICTS_HELP, accountConflictsCommand } from './account-conflicts-command.ts';

const HELP = `gov-id — federated identity for Internet + government services

Usage:
  gov-id start [--topology FILE] [--data DIR]        start the whole federation (demo mode)
  gov-id serve --entity ID [--topology FILE] [--data DIR] [--demo]
                                                     serve one entity, as a deployment runs it
  gov-id migrate [--entity ID]                       apply database migrations
  gov-id topology [--topology FILE]                  print every entity as JSON
  gov-id admin person add [--name NAME]              add a person to the population registry
  gov-id admin org add [--rep-id-number ID]          add an organization to the legal-person registry
                                                     (its legal representative: that person, or a new one)
  gov-id admin outbox --to PHONE                     show the messages sent to a phone
  gov-id admin account move --entity ID --id-number ID --to ENTITY
                                                     relocation: the account's home moves from --entity to --to
                                                     (the old home then sends its logins to the new one)
${ACCOUNT_CONFLICTS_HELP}  gov-id admin client add --entity ID --redirect-uri URI [--redirect-uri URI ...]
        [--public] [--scope "openid profile ..."] [--name NAME]
        [--post-logout-redirect-uri URI] [--backchannel-logout-uri URI] [--require-par] [--jwks FILE]
                                                     register a client at an OP; prints its credentials
                                                     (--jwks: a JWK Set of its public keys, EC P-256 or RSA:
                                                     a private_key_jwt client, with no secret)
${FEDERATION_HELP}${TRUST_MARK_HELP}  gov-id keys list --entity ID                       the entity's federation keys (signing, published, historical)
  gov-id keys rotate --entity ID [--lead SECONDS] [--grace SECONDS]
                                                     publish a new federation key that signs after --lead (default 600);
                                                     the old one stays published for --grace more (default 86400)
  gov-id audit list --entity ID [--limit N]           the newest entries of the entity's audit log
  gov-id audit verify --entity ID                    walk the audit log's hash chain; exit 1 if it is broken
${CONFORMANCE_HELP}

Environment: DATABASE_URL, REDIS_URL, GOV_ID_DATA, GOV_ID_MASTER_KEY, GOV_ID_TOPOLOGY (see README.md).
`;

const OPTIONS = {
  topology: { type: 'string' },
  data: { type: 'string' },
  entity: { type: 'string' },
  demo: { type: 'boolean' },
  name: { type: 'string' },
  to: { type: 'string' },
  'rep-id-number': { type: 'string' },
  'id-number': { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'backchannel-logout-uri': { type: 'string' },
  public: { type: 'boolean' },
  scope: { type: 'string' },
  'require-par': { type: 'boolean' },
  jwks: { type: 'string' },
  subject: { type: 'string' },
  policy: { type: 'string' },
  'trust-anchor': { type: 'string' },
  sub: { type: 'string' },
  type: { type: 'string' },
  'max-loa': { type: 'string' },
  'expires-at': { type: 'string' },
  lead: { type: 'string' },
  limit: { type: 'string' },
  grace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...CONFORMANCE_OPTIONS,
} as const;

class UsageError extends Error {}

function print(value: unknown) {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

async function runUntilSignal(close: () => Promise<void>) {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await close();
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const config = configFromEnv();
  if (values.data) config.dataDir = values.data;
  const topologyPath = values.topology ?? config.topologyPath;
  const topology = (): Topology => loadTopology(topologyPath);
  const [command, sub, action] = positionals;

  if (values.help || !command || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  switch (command) {
    case 'topology':
      print(describeTopology(topology()));
      return 0;
    case 'migrate': {
      const t = topology();
      const ids = values.entity ? [t.get(values.entity).id] : t.entities.map((e) => e.id);
      for (const id of ids) print({ entity: id, applied: await migrateEntity(config, t.get(id)) });
      return 0;
    }
    case 'start':
    case 'serve': {
      const t = topology();
      if (command === 'serve' && !values.entity) throw new UsageError('serve needs --entity ID');
      const ids = command === 'serve' ? [t.get(values.entity!).id] : t.entities.map((e) => e.id);
      const host = await startHost({ ...config, topology: t, demo: command === 'start' || Boolean(values.demo) }, ids);
      process.stdout.write(`gov-id ${t.name}: ${host.entities.length} entities on ${config.databaseUrl ? 'PostgreSQL' : `embedded PGlite (${config.dataDir})`}, ${config.redisUrl ? 'Redis' : 'in-process store'}\n`);
      for (const h of host.entities) process.stdout.write(`  ${h.entity.kind.padEnd(8)} ${h.entity.id.padEnd(12)} ${h.url}\n`);
      await runUntilSignal(host.close);
      return 0;
    }
    case 'federation': {
      if (!sub) throw new UsageError('federation needs a command: list, add-subordinate, remove-subordinate, set-policy, show-chain, trust-marks');
      if (sub === 'trust-marks') {
        print(await trustMarkCommand(action, values, { topology: topology(), dataDir: config.dataDir }));
        return 0;
      }
      print(await federationCommand(sub, values, { topology: topology(), dataDir: config.dataDir }));
      return 0;
    }
    case 'audit': {
      const t = topology();
      if (!values.entity) throw new UsageError(`audit ${sub ?? ''} needs --entity ID`);
      const entity = t.get(values.entity);
      if (sub === 'list') {
        if (values.limit !== undefined && !/^\d+$/.test(values.limit)) throw new UsageError('--limit takes a number');
        print(await callAdmin(entity, config.dataDir, 'GET', `/admin/audit${values.limit ? `?limit=${values.limit}` : ''}`));
        return 0;
      }
      if (sub === 'verify') {
        const result = (await callAdmin(entity, config.dataDir, 'GET', '/admin/audit/verify')) as { intact: boolean };
        print(result);
        return result.intact ? 0 : 1;
      }
      throw new UsageError(`unknown audit command: ${sub ?? ''}`);
    }
    case 'keys': {
      const t = topology();
      if (!values.entity) throw new UsageError(`keys ${sub ?? ''} needs --entity ID`);
      const entity = t.get(values.entity);
      if (sub === 'list') {
        print(await callAdmin(entity, config.dataDir, 'GET', '/admin/keys'));
        return 0;
      }
      if (sub === 'rotate') {
        const seconds = (flag: 'lead' | 'grace') => {
          const raw = values[flag];
          if (raw === undefined) return undefined;
          if (!/^\d+$/.test(raw)) throw new UsageError(`--${flag} takes a number of seconds`);
          return Number(raw);
        };
        print(await callAdmin(entity, config.dataDir, 'POST', '/admin/keys/rotate', { lead_seconds: seconds('lead'), grace_seconds: seconds('grace') }));
        return 0;
      }
      throw new UsageError(`unknown keys command: ${sub ?? ''}`);
    }
    case 'conformance':
      return conformanceCommand(values, { topology, dataDir: config.dataDir });
    case 'admin': {
      const t = topology();
      if (sub === 'person' && action === 'add') {
        print(await callAdmin(t.services(), config.dataDir, 'POST', '/admin/persons', values.name ? { name: values.name } : {}));
        return 0;
      }
      if (sub === 'org' && action === 'add') {
        const rep = values['rep-id-number'];
        print(await callAdmin(t.services(), config.dataDir, 'POST', '/admin/organizations', rep ? { rep_id_number: rep } : {}));
        return 0;
      }
      if (sub === 'outbox') {
        if (!values.to) throw new UsageError('admin outbox needs --to PHONE');
        print(await callAdmin(t.services(), config.dataDir, 'GET', `/admin/outbox?to=${encodeURIComponent(values.to)}`));
        return 0;
      }
      if (sub === 'account' && action === 'move') {
        if (!values.entity || !values['id-number'] || !values.to) throw new UsageError('admin account move needs --entity ID --id-number ID --to ENTITY');
        const [from, to] = [t.get(values.entity), t.get(values.to)];
        if (from.kind !== 'op' || to.kind !== 'op') throw new UsageError('accounts live at OPs: --entity and --to name OPs');
        print(await callAdmin(from, config.dataDir, 'POST', '/admin/accounts/move', { id_number: values['id-number'], to: to.url }));
        return 0;
      }
      if (sub === 'account' && action && ACCOUNT_CONFLICT_ACTIONS.has(action)) {
        print(await accountConflictsCommand(action, values, { topology: t, dataDir: config.dataDir }));
        return 0;
      }
      if (sub === 'client' && action === 'add') {
        if (!values.entity) throw new UsageError('admin client add needs --entity ID');
        const op = t.get(values.entity);
        if (op.kind !== 'op') throw new UsageError(`${op.id} is not an OP`);
        const body = {
          redirect_uris: values['redirect-uri'] ?? [],
          public: Boolean(values.public),
          ...(values.scope ? { scope: values.scope } : {}),
          ...(values.name ? { client_name: values.name } : {}),
          ...(values['post-logout-redirect-uri'] ? { post_logout_redirect_uris: values['post-logout-redirect-uri'] } : {}),
          ...(values['backchannel-logout-uri'] ? { backchannel_logout_uri: values['backchannel-logout-uri'] } : {}),
          ...(values['require-par'] ? { require_pushed_authorization_requests: true } : {}),
          ...(values.jwks ? { jwks: readJson('jwks', values.jwks) } : {}),
        };
        print(await callAdmin(op, config.dataDir, 'POST', '/admin/clients', body));
        return 0;
      }
      throw new UsageError(`unknown admin command: ${[sub, action].filter(Boolean).join(' ')}`);
    }
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || err instanceof ConfigurationError || err instanceof AdminCallError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`gov-id: ${(err as Error).message}\n${err instanceof UsageError ? 'Run "gov-id help" for usage.\n' : ''}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`gov-id: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
