/**
 * Hosts entities of a topology: gives each its own schema (migrated), key-value scope, keys,
 * secrets and port, and serves its entity configuration beside its application. One process may
 * host the whole federation (`gov-id start`) or a single entity (`gov-id serve`); entities talk
 * to each other over HTTP either way.
 */
import Koa from 'koa';
import { openDatabase, type Database } from '../infra/database.ts';
import { openKeyValueStore, type KeyValueStore } from '../infra/key-value-store.ts';
import { migrate } from '../infra/migrate.ts';
import { loadMasterKey } from '../infra/crypto.ts';
import { HISTORICAL_KEYS_PATH, historicalKeysMiddleware } from '../federation/historical-keys.ts';
import { deriveEntitySecrets, type EntityRuntime } from '../infra/entity-runtime.ts';
import { createApp, listen, type Listener } from '../infra/http-server.ts';
import { EntityKeyRing } from '../infra/entity-key-ring.ts';
import { entityAdministration, isEntityAdminPath } from './entity-admin.ts';
import { createLogger, type Logger } from '../infra/log.ts';
import type { DeploymentConfig } from '../infra/config.ts';
import type { Entity, Topology } from '../federation/topology.ts';
import { cachedKeyResolver, ENTITY_CONFIGURATION_PATH, entityConfigurationMiddleware } from '../federation/entity-configuration.ts';
import { isFederationAuthority, watchAuthorityConfig, type AuthorityConfigSource } from '../federation/authority-config.ts';
import {
  allowHttpEntityIds,
  authorityEndpoints,
  federationEntityEndpoints,
  isFederationEndpointPath,
  topologyTrustAnchor,
} from '../federation/authority-endpoints.ts';
import { automaticRegistration } from '../federation/automatic-registration.ts';
import { createOp } from '../idp/op-app.ts';
import {
  isTrustMarkEndpointPath,
  TrustMarkIssuer,
  trustMarkIssuerMetadata,
  trustMarkIssuersClaim,
  watchTrustMarkConfig,
} from '../federation/trust-mark-issuer.ts';
import { TrustMarkHolder } from '../federation/trust-mark-holder.ts';
import { createServicesApp } from '../services/services-app.ts';
import { createPortalApp } from '../portal-demo/portal-app.ts';
import { HomeRegistry } from '../federation/registry-of-homes.ts';
import { RegistryClient } from '../federation/registry-client.ts';
import { enqueueRegistryPublication, RegistryPublisher } from '../federation/registry-outbox.ts';
import { isRegistryPath, registryEndpoints } from '../federation/registry-endpoints.ts';
import { TrustedOps } from '../federation/trusted-op.ts';
import type { HomePublication } from '../idp/accounts/natural-person-accounts.ts';
import type { Locale } from '../infra/i18n.ts';

export interface HostOptions extends DeploymentConfig {
  topology: Topology;
  demo: boolean;
  log?: Logger;
}

export interface HostedEntity {
  entity: Entity;
  url: string;
  runtime: EntityRuntime;
}

export interface Host {
  entities: HostedEntity[];
  close(): Promise<void>;
}

const MIGRATION_SETS: Record<Entity['kind'], string[]> = {
  op: ['common', 'idp'],
  services: ['common', 'services'],
  portal: ['common'],
};

/**
 * Embedded: all entities of a process share one database folder (one schema each), which one
 * process at a time may open. Entities served by separate processes use PostgreSQL, or a data
 * folder each.
 */
export function openEntityDatabase(opts: DeploymentConfig, entity: Entity): Promise<Database> {
  const dataDir = opts.pgliteDir ?? `${opts.dataDir}/pglite`;
  return openDatabase({ url: opts.databaseUrl, dataDir, schema: `${opts.schemaPrefix}${entity.id}` });
}

export async function migrateEntity(opts: DeploymentConfig, entity: Entity): Promise<string[]> {
  const db = await openEntityDatabase(opts, entity);
  try {
    return await migrate(db, MIGRATION_SETS[entity.kind]);
  } finally {
    await db.close();
  }
}

/**
 * An OP's part in mutual recognition: the brokers (national and the provinces) keep a registry
 * of homes for everything below them and answer lookups and publications; every OP publishes the
 * homes of its own accounts upward through its outbox and resolves other OPs through the trust
 * layer when a login crosses tiers.
 */
function recognitionFor(topology: Topology, entity: Entity, runtime: EntityRuntime, authorityConfig: AuthorityConfigSource | null) {
  const superior = entity.superior ? topology.get(entity.superior).url : null;
  const registry = authorityConfig ? new HomeRegistry(runtime.db, runtime.blindIndex) : null;
  const client = new RegistryClient({ self: entity.url, superior, signingKey: () => runtime.keyRing.signingKey(), local: registry });
  const publisher = superior
    ? new RegistryPublisher({ db: runtime.db, cipher: runtime.cipher, deliver: (p) => client.publish(p), log: runtime.log })
    : null;
  const trustedOps = new TrustedOps({ trustAnchors: [topologyTrustAnchor(topology)], allowHttpEntityIds: allowHttpEntityIds(topology) });
  // Who may use the registry is the federation's say, not the topology file's: an OP is one whose
  // trust chain (as an OP) validates; a subordinate is one the authority's live configuration
  // lists; a home is within a subordinate when the home's chain runs through it.
  const isFederationOp = async (id: string) => (await trustedOps.pathOf(id)) !== null;
  const entityKeys = cachedKeyResolver(() => true);
  const endpoints =
    registry && authorityConfig
      ? registryEndpoints({
          self: entity.url,
          registry,
          client,
          db: runtime.db,
          cipher: runtime.cipher,
          blindIndex: runtime.blindIndex,
          resolveCallerKeys: async (id, opts) => ((await isFederationOp(id)) ? entityKeys(id, opts) : null),
          kv: runtime.kv,
          isSubordinate: (id) => authorityConfig.current().subordinates.some((s) => s.entity_id === id),
          isWithin: async (home, subordinate) => (await trustedOps.pathOf(home))?.includes(subordinate) ?? false,
          isFederationOp,
          onPublished: () => publisher?.kick(),
          log: runtime.log,
        })
      : null;
  const publishHome: HomePublication = {
    inTransaction: async (tx, kind, identifier, move) => {
      const home = move?.to ?? entity.url;
      const previousHome = move?.from ?? null;
      if (registry) await registry.record(tx, { kind, identifier, home, via: entity.url, previousHome });
      if (publisher) await enqueueRegistryPublication(tx, runtime, { kind, identifier, home, previousHome });
    },
    committed: () => publisher?.kick(),
  };
  const opUrls = topology.ops().map((e) => e.url);
  const byUrl = (url: string) => topology.entities.find((e) => e.url === url);
  return {
    publisher,
    endpoints,
    options: {
      superior,
      trustedOps,
      homes: client,
      // Brokers relaying a login skip the consent page: the OPs of this deployment's topology.
      isFederationOp: (id: string) => opUrls.includes(id),
      publishHome,
      siteName: (id: string, locale: Locale) => byUrl(id)?.name[locale] ?? id,
      platforms: () => opUrls,
    },
  };
}

/** Paths every entity serves beside its application: its statements and its administration. */
function isEntityLevelPath(url: string | undefined): boolean {
  const path = url?.split('?')[0] ?? '';
  return path === ENTITY_CONFIGURATION_PATH || path === HISTORICAL_KEYS_PATH || isEntityAdminPath(path);
}

async function hostEntity(opts: HostOptions, entity: Entity, root: KeyValueStore, master: Buffer, log: Logger) {
  const db = await openEntityDatabase(opts, entity);
  await migrate(db, MIGRATION_SETS[entity.kind]);
  const secrets = deriveEntitySecrets(master, entity.url);
  const runtime: EntityRuntime = {
    self: { id: entity.id, url: entity.url, name: entity.name },
    db,
    kv: root.scoped(entity.id),
    log: log.child({ entity: entity.id }),
    ...secrets,
    keyRing: await EntityKeyRing.open(db, secrets.cipher),
    demo: opts.demo,
  };
  const { topology } = opts;
  let app: Koa;
  let metadata: Record<string, Record<string, unknown>>;
  // National and the provinces are federation authorities: they serve statements about their subordinates.
  const authorityConfig = isFederationAuthority(entity)
    ? watchAuthorityConfig(opts.dataDir, topology, entity.id, { log: runtime.log })
    : null;
  // The national platform (the trust anchor) issues the federation's trust marks; every entity holds its own.
  const national = topology.entities.find((e) => e.superior === null)!;
  const trustMarkIssuer =
    entity.id === national.id
      ? new TrustMarkIssuer({
          entityId: entity.url,
          keys: () => runtime.keyRing.published(),
          config: watchTrustMarkConfig(opts.dataDir, topology, { log: runtime.log }),
          log: runtime.log,
        })
      : null;
  const trustMarkHolder = new TrustMarkHolder({
    entityId: entity.url,
    issuer: national.url,
    log: runtime.log,
    // National holds its own marks without going through HTTP.
    ...(trustMarkIssuer
      ? { issuerKeys: () => trustMarkIssuer.jwks(), obtain: (type: string, sub: string) => trustMarkIssuer.issue(type, sub) }
      : {}),
  });
  const federationEntity = {
    organization_name: entity.name['zh-CN'],
    federation_historical_keys_endpoint: entity.url + HISTORICAL_KEYS_PATH,
    ...(authorityConfig ? federationEntityEndpoints(entity.url) : {}),
    ...(trustMarkIssuer ? trustMarkIssuerMetadata(entity.url) : {}),
  };
  let publisher: RegistryPublisher | null = null;
  let registryApp: Koa.Middleware | null = null;
  if (entity.kind === 'op') {
    const recognition = recognitionFor(topology, entity, runtime, authorityConfig);
    publisher = recognition.publisher;
    registryApp = recognition.endpoints;
    const op = await createOp({
      runtime,
      servicesUrl: topology.services().url,
      // Hybrid mode is configuration: the city portals under this OP get the city's name on its pages.
      cityPortals: new Map(
        topology.entities
          .filter((e) => e.kind === 'portal' && e.superior === entity.id)
          .map((e) => [e.url, { code: e.id, name: e.name, ...(e.color ? { color: e.color } : {}) }]),
      ),
      federationClients: automaticRegistration({
        trustAnchors: [topologyTrustAnchor(topology)],
        allowHttpEntityIds: allowHttpEntityIds(topology),
        portalTrustMarkRequired: topology.policy.portal_trust_mark_required,
        onRefused: (entityId, reason) => runtime.log.warn('automatic registration refused', { entity_id: entityId, reason }),
      }),
      recognition: recognition.options,
    });
    app = op.app;
    metadata = {
      openid_provider: op.federationMetadata,
      openid_relying_party: op.relyingPartyMetadata,
      federation_entity: federationEntity,
    };
  } else if (entity.kind === 'services') {
    const trusted = new Set(topology.ops().map((e) => e.url));
    app = await createServicesApp({ runtime, resolveCallerKeys: cachedKeyResolver((id) => trusted.has(id)) });
    metadata = { federation_entity: federationEntity, oauth_resource: { resource: entity.url } };
  } else {
    // A portal of a hybrid city signs in at its province's OP, where the city's accounts live.
    const op = topology.get(entity.superior!);
    if (!op.issuer) throw new Error(`entity ${entity.id}: its superior ${op.id} runs no OP`);
    const portal = await createPortalApp({ runtime, opIssuer: op.issuer, opName: op.name });
    app = portal.app;
    metadata = { openid_relying_party: portal.metadata, federation_entity: federationEntity };
  }
  const superior = entity.superior ? topology.get(entity.superior).url : null;
  const statement = createApp(runtime.log);
  if (authorityConfig) {
    statement.use(
      authorityEndpoints({
        entityId: entity.url,
        keys: () => runtime.keyRing.published(),
        config: authorityConfig,
        trustAnchors: [topologyTrustAnchor(topology)],
        allowHttpEntityIds: allowHttpEntityIds(topology),
        log: runtime.log,
      }),
    );
  }
  if (trustMarkIssuer) statement.use(trustMarkIssuer.middleware());
  if (registryApp) statement.use(registryApp);
  statement.use(historicalKeysMiddleware(entity.url, runtime.keyRing));
  statement.use(entityAdministration(runtime));
  statement.use(
    entityConfigurationMiddleware(() => ({
      entityId: entity.url,
      keys: runtime.keyRing.published(),
      metadata,
      authorityHints: superior ? [superior] : [],
      trustMarks: trustMarkHolder.trustMarks(),
      ...(trustMarkIssuer ? { trustMarkIssuers: trustMarkIssuersClaim(entity.url) } : {}),
    })),
  );
  const appHandler = app.callback();
  const statementHandler = statement.callback();
  const listener: Listener = await listen(
    (req, res) =>
      (isEntityLevelPath(req.url) ||
        isFederationEndpointPath(req.url) ||
        (trustMarkIssuer !== null && isTrustMarkEndpointPath(req.url)) ||
        (registryApp !== null && isRegistryPath(req.url))
        ? statementHandler
        : appHandler)(req, res),
    entity.port,
    topology.host,
  );
  // Started once the entity listens; never waits for the issuer (it retries in the background).
  trustMarkHolder.start();
  publisher?.start();
  return { hosted: { entity, url: entity.url, runtime }, listener, db, trustMarkHolder, publisher };
}

export async function startHost(opts: HostOptions, ids: string[]): Promise<Host> {
  const log = opts.log ?? createLogger({ topology: opts.topology.name });
  const master = loadMasterKey(opts.dataDir);
  const root = await openKeyValueStore({ url: opts.redisUrl, namespace: `gov-id:${opts.topology.name}:${opts.schemaPrefix}` });
  const started: Awaited<ReturnType<typeof hostEntity>>[] = [];
  const close = async () => {
    for (const s of started) s.trustMarkHolder.stop();
    await Promise.all(started.map((s) => s.publisher?.stop()));
    await Promise.all(started.map((s) => s.listener.close()));
    await Promise.all(started.map((s) => s.db.close()));
    await root.close();
  };
  try {
    for (const id of ids) started.push(await hostEntity(opts, opts.topology.get(id), root, master, log));
  } catch (err) {
    await close();
    throw err;
  }
  return { entities: started.map((s) => s.hosted), close };
}
