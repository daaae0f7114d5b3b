/**
 * `gov-id admin …`: the demo's registries (persons, organizations, the SMS outbox) and an OP's
 * accounts and clients, through the admin APIs of the running entities.
 */
import { loadTopology } from '../federation/topology.ts';
import { callAdmin } from './admin-client.ts';
import { print, readJson, UsageError, type CommandContext } from './command.ts';

export async function addPerson({ values, config, topologyPath }: CommandContext): Promise<number> {
  const services = loadTopology(topologyPath).services();
  print(await callAdmin(services, config.dataDir, 'POST', '/admin/persons', values.name ? { name: values.name } : {}));
  return 0;
}

export async function addOrganization({ values, config, topologyPath }: CommandContext): Promise<number> {
  const services = loadTopology(topologyPath).services();
  const rep = values['rep-id-number'];
  print(await callAdmin(services, config.dataDir, 'POST', '/admin/organizations', rep ? { rep_id_number: rep } : {}));
  return 0;
}

export async function showOutbox({ values, config, topologyPath }: CommandContext): Promise<number> {
  const services = loadTopology(topologyPath).services();
  if (!values.to) throw new UsageError('admin outbox needs --to PHONE');
  print(await callAdmin(services, config.dataDir, 'GET', `/admin/outbox?to=${encodeURIComponent(values.to)}`));
  return 0;
}

export async function moveAccount({ values, config, topologyPath }: CommandContext): Promise<number> {
  const t = loadTopology(topologyPath);
  if (!values.entity || !values['id-number'] || !values.to)
    throw new UsageError('admin account move needs --entity ID --id-number ID --to ENTITY');
  const [from, to] = [t.get(values.entity), t.get(values.to)];
  if (from.kind !== 'op' || to.kind !== 'op') throw new UsageError('accounts live at OPs: --entity and --to name OPs');
  print(await callAdmin(from, config.dataDir, 'POST', '/admin/accounts/move', { id_number: values['id-number'], to: to.url }));
  return 0;
}

export async function addClient({ values, config, topologyPath }: CommandContext): Promise<number> {
  const t = loadTopology(topologyPath);
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
