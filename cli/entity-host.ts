/**
 * Hosts entities of a topology: gives each its own schema (migrated), key-value scope, keys,
 * secrets and port, and serves its entity configuration beside its application. One process may
 * host the whole federation (`gov-id start`) or a single entity (`gov-id serve`); entities talk
 * to each other over HTTP either way.
 */
import Koa from 'koa';
import { openDatabase, type Database, type Queryable } from '../infra/database.ts';
import { ReplicaReads } from '../infra/read-replicas.ts';
import { openKeyValueStore, type KeyValueStore } from '../infra/key-value-store.ts';
import { migrate } from '../infra/migrate.ts';
import { loadMasterKey } from '../infra/crypto.ts';
import { HISTORICAL_KEYS_PATH, historicalKeysMiddleware } from '../federation/historical-keys.ts';
import { deriveEntitySecrets, type EntityRuntime } from '../infra/entity-runtime.ts';
import { createApp, listen, type Listener } from '../infra/http-server.ts';
import { EntityKeyRing } from '../infra/entity-key-ring.ts';
import { entityAdministration, isEntityAdminPath } from './entity-admin.ts';
import { createLogger, type Logger } from '../infra/log.ts';
import { withRequestIds } from '../infra/request-id.ts';
import { healthEndpoints, isHealthPath, readinessChecks } from '../infra/health-endpoints.ts';
import { EntityMetrics } from '../infra/metrics.ts';
import { checkedMetricsToken, METRICS_PATH, metricsEndpoint } from '../infra/metrics-endpoint.ts';
import { measuringRequests } from '../infra/request-metrics.ts';
import { DEFAULT_DATABASE_POOL_SIZE, DEFAULT_REPLICA_MAX_LAG_SECONDS, type DeploymentConfig } from '../infra/config.ts';
import type { Entity, Topology } from '../federation/topology.ts';
import { casesPlatform } from './cases-platform.ts';
import { ENTITY_CONFIGURATION_PATH, entityConfigurationMiddleware } from '../federation/entity-configuration.ts';
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
import { ServiceAccessTokens } from '../services/service-access/service-access-tokens.ts';
import type { FeedPuller } from '../services/catalog/feed-puller.ts';
import { cachedKeyResolver } from '../federation/entity-configuration.ts';
import { createPortalApp } from '../portal-demo/portal-app.ts';
import { HomeRegistry, identifierIndex, type HomeKind } from '../federation/registry-of-homes.ts';
import { crashPoint } from '../infra/crash-points.ts';
import { RegistryClient } from '../federation/registry-client.ts';
import { enqueueRegistryPublication, RegistryPublisher, type Publication } from '../federation/registry-outbox.ts';
import { isRegistryPath, registryEndpoints } from '../federation/registry-endpoints.ts';
import { isRegistryConflictsPath, registryConflictsAdmin } from '../federation/registry-conflicts-admin.ts';
import { CONFLICT_NOTICE_PATH, conflictNoticeEndpoint, sendConflictNotices } from '../federation/registry-conflict-notices.ts';
import type { EntityKeyResolver } from '../infra/entity-assertion.ts';
import { TrustedOps } from '../federation/trusted-op.ts';
import { NeighbourChains, OneRoundAtATime } from '../federation/neighbour-chains.ts';
import { TrustedResources } from '../federation/trusted-resources.ts';
import { ExchangeNodes } from '../federation/exchange-nodes.ts';
import { FederationTrust } from '../federation/federation-trust.ts';
import { ACCOUNT_CLIENT_ID } from '../idp/account/account-routes.ts';
import type { HomePublication } from '../idp/accounts/natural-person-accounts.ts';
import type { Locale } from '../infra/i18n.ts';
import type { IncomingMessage } from 'node:http';
import { FederationFetchPolicy, withFetchSource } from '../federation/fetch-policy.ts';
import { topologyAddresses } from '../federation/address-policy.ts';
import type { StatementFetcher } from '../federation/trust-chain.ts';
import { EntitySigningKeys } from '../federation/entity-signing-keys.ts';
import type { LicenseTrust } from '../services/licenses/license-node.ts';

export interface HostOptions extends DeploymentConfig {
  topology: Topology;
  demo: boolean;
  log?: Logger;
  /** Where a host of one entity listens instead of the topology's port (`gov-id serve --port`). */
  port?: number;
  /** Longest reuse of a resolved trust chain by an OP (seconds; default: FEDERATION_DEFAULTS.trustCacheSeconds): tests shorten it. */
  trustCacheSeconds?: number;
  /**
   * Whether OPs refresh their neighbours' trust chains in the background (neighbour-chains.ts);
   * default true. Test federations, started by the dozen on a busy machine, leave it off unless a
   * test is about it: its first round competes with the test's own first requests.
   */
  warmNeighbourChains?: boolean;
}

export interface HostedEntity {
  entity: Entity;
  url: string;
  runtime: EntityRuntime;
  /** An OP's background refresh of its neighbours' trust chains. */
  neighbourChains: NeighbourChains | null;
}

export interface Host {
  entities: HostedEntity[];
  close(): Promise<void>;
}

/** How often a platform's services entity pulls the catalog feed of the platform above (besides at start and on demand). */
const CATALOG_FEED_INTERVAL_MS = Number(process.env.GOV_ID_CATALOG_FEED_SECONDS ?? 10) * 1000;

/** Display names of the federation's platforms, by platform code, region, entity ID and issuer: people never see raw URLs. */
function platformNames(topology: Topology): Record<string, { 'zh-CN': string; en: string }> {
  return Object.fromEntries([
    ...topology.platforms.flatMap((p) => [[p.code, p.name], ...(p.region ? [[p.region, p.name]] : [])]),
    ...topology.entities.flatMap((e) => [[e.url, e.name], ...(e.issuer ? [[e.issuer, e.name]] : [])]),
  ]);
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
export function openEntityDatabase(opts: DeploymentConfig, entity: Entity, log?: Logger): Promise<Database> {
  const dataDir = opts.pgliteDir ?? `${opts.dataDir}/pglite`;
  return openDatabase({
    url: opts.databaseUrl,
    dataDir,
    schema: `${opts.schemaPrefix}${entity.id}`,
    poolSize: opts.databasePoolSize ?? DEFAULT_DATABASE_POOL_SIZE,
    ...(log ? { log } : {}),
  });
}

/**
 * Where an entity's lag-tolerant reads go: its replicas on PostgreSQL when DATABASE_REPLICA_URLS
 * names any, else its own database (the embedded engine has no replicas; the start line says the
 * setting is ignored there).
 */
function lagTolerantReads(opts: DeploymentConfig, db: Database, log: Logger): { reads: Queryable; replicas: ReplicaReads | null } {
  const urls = opts.databaseReplicaUrls ?? [];
  if (db.engine !== 'postgres' || urls.length === 0) return { reads: db, replicas: null };
  const replicas = new ReplicaReads({
    primary: db,
    urls,
    maxLagSeconds: opts.replicaMaxLagSeconds ?? DEFAULT_REPLICA_MAX_LAG_SECONDS,
    log,
  });
  return { reads: replicas, replicas };
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
function recognitionFor(
  topology: Topology,
  entity: Entity,
  runtime: EntityRuntime,
  authorityConfig: AuthorityConfigSource | null,
  fetcher: StatementFetcher,
  registrationsOpen: () => Promise<boolean>,
  trustCacheSeconds: number | undefined,
) {
  const superior = entity.superior ? topology.get(entity.superior).url : null;
  const registry = authorityConfig ? new HomeRegistry(runtime.db, runtime.blindIndex) : null;
  const signingKey = () => runtime.keyRing.signingKey();
  const client = new RegistryClient({ self: entity.url, superior, signingKey, local: registry, registrationsOpen });
  const onConflict = (p: Publication, existingHome: string) =>
    sendConflictNotices(p, existingHome, { self: entity.url, signingKey, log: runtime.log });
  const publisher = superior
    ? new RegistryPublisher({
        db: runtime.db,
        cipher: runtime.cipher,
        deliver: (p) => client.publish(p),
        log: runtime.log,
        onConflict,
        entity: entity.url,
      })
    : null;
  // In the request that committed the publication: the person sees "registered" once the superior knows.
  const deliverNow = async (kind: HomeKind, identifier: string) =>
    publisher?.deliverNow(kind, identifierIndex(runtime.blindIndex, kind, identifier));
  const trustedOps = new TrustedOps({
    trustAnchors: [topologyTrustAnchor(topology, fetcher)],
    allowHttpEntityIds: allowHttpEntityIds(topology),
    fetcher,
    ...(authorityConfig ? { authorityConfig } : {}),
    ...(trustCacheSeconds ? { cacheSeconds: trustCacheSeconds } : {}),
    onResolved: (how) => runtime.metrics.chainResolved(how),
  });
  // Whom this OP trusts is the live federation's say, never the topology file's (federation-trust.ts).
  const subordinates = () => authorityConfig?.current().subordinates.map((s) => s.entity_id) ?? [];
  const trust = new FederationTrust({ self: entity.url, ops: trustedOps, subordinates, ownClients: [ACCOUNT_CLIENT_ID] });
  const resolveCallerKeys: EntityKeyResolver = (id, opts) => trust.federationOpKeys(id, opts);
  // A subordinate (for publications) is one the authority's live configuration lists; a home is
  // within a subordinate when the home's chain runs through it.
  const endpoints =
    registry && authorityConfig
      ? registryEndpoints({
          self: entity.url,
          registry,
          client,
          db: runtime.db,
          cipher: runtime.cipher,
          blindIndex: runtime.blindIndex,
          resolveCallerKeys,
          kv: runtime.kv,
          isSubordinate: (id) => subordinates().includes(id),
          isWithin: async (home, subordinate) => (await trustedOps.pathOf(home))?.includes(subordinate) ?? false,
          isFederationOp: (id) => trust.isFederationOp(id),
          onPublished: deliverNow,
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
    committed: (kind, identifier) => {
      crashPoint('home.committed', entity.url);
      return deliverNow(kind, identifier);
    },
  };
  const opUrls = topology.ops().map((e) => e.url);
  const byUrl = (url: string) => topology.entities.find((e) => e.url === url);
  return {
    publisher,
    endpoints,
    conflictNotices: conflictNoticeEndpoint({
      self: entity.url,
      db: runtime.db,
      blindIndex: runtime.blindIndex,
      resolveCallerKeys,
      kv: runtime.kv,
      log: runtime.log,
    }),
    options: {
      superior,
      trustedOps,
      homes: client,
      trust,
      publishHome,
      siteName: (id: string, locale: Locale) => byUrl(id)?.name[locale] ?? id,
      platforms: () => opUrls,
    },
  };
}

/**
 * What a services entity's e-license node needs of the federation: issuers' and callers' keys
 * through their trust chains as services entities (`oauth_resource`), and where the national
 * licence directory is (the national services entity).
 */
function licenseTrust(topology: Topology, fetcher: StatementFetcher): LicenseTrust {
  const keys = new EntitySigningKeys({
    trustAnchors: [topologyTrustAnchor(topology, fetcher)],
    fetcher,
    allowHttpEntityIds: allowHttpEntityIds(topology),
    entityType: 'oauth_resource',
  });
  return {
    issuerKey: (issuer, kid) => keys.key(issuer, kid),
    serviceKeys: (id, opts) => keys.jwks(id, opts),
    directoryUrl: topology.services().url,
  };
}

/** The client's address, as Koa's ctx.ip has it: X-Forwarded-For counts only behind a trusted proxy (infra/http-server.ts). */
function clientAddress(req: IncomingMessage): string | undefined {
  const forwarded =
    process.env.GOV_ID_TRUST_PROXY === '1'
      ? String(req.headers['x-forwarded-for'] ?? '')
          .split(',')[0]!
          .trim()
      : '';
  return forwarded || req.socket.remoteAddress;
}

/** Paths every entity serves beside its application: its statements, its health and its administration. */
function isEntityLevelPath(url: string | undefined): boolean {
  const path = url?.split('?')[0] ?? '';
  return (
    path === ENTITY_CONFIGURATION_PATH ||
    path === HISTORICAL_KEYS_PATH ||
    path === CONFLICT_NOTICE_PATH ||
    path === METRICS_PATH ||
    isHealthPath(path) ||
    isRegistryConflictsPath(path) ||
    isEntityAdminPath(path)
  );
}

/**
 * Registrations wait until the whole host has started and delivered what a crash left in its
 * outboxes: until then a registry could miss a home that committed before the crash.
 */
class RegistrationGate {
  started = false;
  readonly publishers: RegistryPublisher[] = [];
  readonly open = async () => this.started && (await Promise.all(this.publishers.map((p) => p.backlogCleared()))).every(Boolean);
}

async function hostEntity(
  opts: HostOptions,
  entity: Entity,
  root: KeyValueStore,
  master: Buffer,
  log: Logger,
  gate: RegistrationGate,
  turns: OneRoundAtATime,
) {
  const entityLog = log.child({ entity: entity.id });
  const db = await openEntityDatabase(opts, entity, entityLog);
  await migrate(db, MIGRATION_SETS[entity.kind]);
  const secrets = deriveEntitySecrets(master, entity.url);
  const { reads, replicas } = lagTolerantReads(opts, db, entityLog);
  const runtime: EntityRuntime = {
    self: { id: entity.id, url: entity.url, name: entity.name },
    db,
    reads,
    kv: root.scoped(entity.id),
    log: entityLog,
    ...secrets,
    keyRing: await EntityKeyRing.open(db, secrets.cipher),
    metrics: new EntityMetrics(entity.id, entityLog),
    demo: opts.demo,
  };
  if (replicas) runtime.metrics.watchReplicas(replicas);
  // Other instances of this entity may rotate its keys.
  const stopFollowingKeys = await runtime.keyRing.follow(runtime.kv, runtime.log);
  const { topology } = opts;
  let app: Koa;
  let metadata: Record<string, Record<string, unknown>>;
  // National and the provinces are federation authorities: they serve statements about their subordinates.
  const authorityConfig = isFederationAuthority(entity)
    ? watchAuthorityConfig(opts.dataDir, topology, entity.id, { log: runtime.log })
    : null;
  const national = topology.entities.find((e) => e.superior === null)!;
  // Every federation fetch of this entity goes through its fetch policy (docs/federation.md, "What the federation fetches").
  const { fetcher } = new FederationFetchPolicy({
    trustAnchor: national.url,
    configured: topology.entities.map((e) => e.url),
    ownSubordinates: () => authorityConfig?.current().subordinates.map((s) => s.entity_id) ?? [],
    allowedAddresses: topologyAddresses(topology.host),
    allowHttp: allowHttpEntityIds(topology),
    kv: runtime.kv,
  });
  // The national platform (the trust anchor) issues the federation's trust marks; every entity holds its own.
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
  let catalogFeed: FeedPuller | null = null;
  let registryApp: Koa.Middleware | null = null;
  let conflictNotices: Koa.Middleware | null = null;
  let neighbourChains: NeighbourChains | null = null;
  const neighbourChainsBase = (trust: FederationTrust) => ({
    self: entity.url,
    ops: () => topology.ops().map((e) => e.url),
    refreshCallerKeys: async (id: string) => {
      if (!(await trust.federationOpKeys(id, { fresh: true }))) throw new Error(`the federation keys of ${id} could not be read`);
    },
    fetcher,
    log: runtime.log,
    ...(opts.trustCacheSeconds ? { cacheSeconds: opts.trustCacheSeconds } : {}),
    turns,
  });
  if (entity.kind === 'op') {
    const recognition = recognitionFor(topology, entity, runtime, authorityConfig, fetcher, gate.open, opts.trustCacheSeconds);
    const federationClients = automaticRegistration({
      trustAnchors: [topologyTrustAnchor(topology, fetcher)],
      fetcher,
      allowHttpEntityIds: allowHttpEntityIds(topology),
      portalTrustMarkRequired: topology.policy.portal_trust_mark_required,
      onRefused: (entityId, reason) => runtime.log.warn('automatic registration refused', { entity_id: entityId, reason }),
      ...(opts.trustCacheSeconds ? { cacheSeconds: opts.trustCacheSeconds } : {}),
      onResolved: (how) => runtime.metrics.chainResolved(how),
    });
    publisher = recognition.publisher;
    if (publisher) {
      gate.publishers.push(publisher);
      runtime.metrics.watchOutbox('registry', publisher.backlog);
    }
    registryApp = recognition.endpoints;
    conflictNotices = recognition.conflictNotices;
    const op = await createOp({
      runtime,
      servicesUrl: topology.services().url,
      // Hybrid mode is configuration: the city fronts that sign in here get the city's name on this OP's pages.
      cityPortals: new Map(
        topology.entities
          .filter((e) => e.kind === 'portal' && e.platform !== entity.id && topology.opOf(e.platform).id === entity.id)
          .map((e) => [e.url, { code: e.id, name: e.name, ...(e.color ? { color: e.color } : {}) }]),
      ),
      federationClients,
      recognition: recognition.options,
      resources: new TrustedResources({
        trustAnchors: [topologyTrustAnchor(topology, fetcher)],
        allowHttpEntityIds: allowHttpEntityIds(topology),
        fetcher,
      }),
    });
    app = op.app;
    const { trustedOps, trust } = recognition.options;
    const crossTierLogin = op.crossTierLogin!;
    neighbourChains = new NeighbourChains({
      ...neighbourChainsBase(trust),
      trustedOps,
      hops: { clients: federationClients, prepare: (id) => crossTierLogin.prepare(id) },
      callers: 'below',
    });
    metadata = {
      openid_provider: op.federationMetadata,
      openid_relying_party: op.relyingPartyMetadata,
      federation_entity: federationEntity,
    };
  } else if (entity.kind === 'services') {
    const trustIn = (entityType?: string) =>
      new TrustedOps({
        trustAnchors: [topologyTrustAnchor(topology, fetcher)],
        allowHttpEntityIds: allowHttpEntityIds(topology),
        fetcher,
        ...(entityType ? { entityType } : {}),
        ...(opts.trustCacheSeconds ? { cacheSeconds: opts.trustCacheSeconds } : {}),
        onResolved: (how) => runtime.metrics.chainResolved(how),
      });
    // The base registries answer the OPs of the federation, as the live federation says (federation-trust.ts).
    const ops = trustIn();
    const trust = new FederationTrust({ self: entity.url, ops });
    // The catalog feed answers the services entities of the federation (their chains validate as oauth_resource).
    const servicesEntities = trustIn('oauth_resource');
    const servicesKeys = cachedKeyResolver(() => true, fetcher);
    // The OPs send messages through the national one during their logins.
    if (entity.id === topology.services().id)
      neighbourChains = new NeighbourChains({ ...neighbourChainsBase(trust), trustedOps: ops, membershipOnly: true, callers: 'every op' });
    const parent = topology.platform(entity.platform).parent;
    const servicesApp = await createServicesApp({
      runtime,
      resolveCallerKeys: (id, opts) => trust.federationOpKeys(id, opts),
      access: new ServiceAccessTokens(runtime, ops),
      exchange: new ExchangeNodes({
        self: entity.url,
        resources: new TrustedResources({
          trustAnchors: [topologyTrustAnchor(topology, fetcher)],
          allowHttpEntityIds: allowHttpEntityIds(topology),
          fetcher,
        }),
        // An authority's platform has its data-sharing node: its services entity.
        nodeOf: (authority) => {
          const platform = topology.entities.find((e) => e.url === authority)?.platform;
          return topology.entities.find((e) => e.kind === 'services' && e.platform === platform)?.url ?? null;
        },
        nodes: () => topology.entities.filter((e) => e.kind === 'services').map((e) => e.url),
      }),
      platform: {
        catalog: { code: entity.platform, platformOfRegion: (region) => topology.platformOfRegion(region) },
        baseRegistries: entity.id === topology.services().id,
        feedSource: parent ? topology.nearestServices(parent).url : null,
        resolveServicesKeys: async (id, opts) => ((await servicesEntities.pathOf(id)) ? servicesKeys(id, opts) : null),
        feedIntervalMs: CATALOG_FEED_INTERVAL_MS,
        cases: casesPlatform(topology, entity.platform),
      },
      licenseTrust: licenseTrust(topology, fetcher),
    });
    app = servicesApp.app;
    catalogFeed = servicesApp.feed;
    metadata = { federation_entity: federationEntity, oauth_resource: { resource: entity.url } };
  } else {
    // A portal signs in at its platform's OP (a hybrid city front: its province's, where the city's
    // accounts live) and reads the catalog of its platform's services entity.
    const op = topology.opOf(entity.platform);
    const portal = await createPortalApp({
      runtime,
      opIssuer: op.issuer!,
      opName: op.name,
      catalogUrl: topology.nearestServices(entity.platform).url,
      tier: entity.tier,
      platform: entity.platform,
      region: entity.region,
      ...(entity.color ? { brandColor: entity.color } : {}),
      platformNames: platformNames(topology),
    });
    app = portal.app;
    metadata = { openid_relying_party: portal.metadata, federation_entity: federationEntity };
  }
  const superior = entity.superior ? topology.get(entity.superior).url : null;
  const statement = createApp(runtime.log);
  statement.use(healthEndpoints({ checks: readinessChecks(runtime), log: runtime.log }));
  statement.use(metricsEndpoint({ metrics: runtime.metrics, adminToken: runtime.adminToken, metricsToken: opts.metricsToken }));
  if (authorityConfig) {
    statement.use(
      authorityEndpoints({
        entityId: entity.url,
        keys: () => runtime.keyRing.published(),
        config: authorityConfig,
        trustAnchors: [topologyTrustAnchor(topology, fetcher)],
        fetcher,
        allowHttpEntityIds: allowHttpEntityIds(topology),
        log: runtime.log,
      }),
    );
  }
  if (trustMarkIssuer) statement.use(trustMarkIssuer.middleware());
  if (registryApp) statement.use(registryApp);
  if (conflictNotices) statement.use(conflictNotices).use(registryConflictsAdmin(runtime));
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
    withRequestIds(
      measuringRequests(runtime.metrics, runtime.log, (req, res) =>
        withFetchSource(clientAddress(req), () =>
          (isEntityLevelPath(req.url) ||
            isFederationEndpointPath(req.url) ||
            (trustMarkIssuer !== null && isTrustMarkEndpointPath(req.url)) ||
            (registryApp !== null && isRegistryPath(req.url))
            ? statementHandler
            : appHandler)(req, res),
        ),
      ),
      runtime.log,
    ),
    opts.port ?? entity.port,
    topology.host,
  );
  // Started once the entity listens; never waits for the issuer (it retries in the background).
  trustMarkHolder.start();
  return {
    hosted: { entity, url: entity.url, runtime, neighbourChains },
    listener,
    db,
    replicas,
    trustMarkHolder,
    publisher,
    stopFollowingKeys,
    catalogFeed,
    neighbourChains,
  };
}

export async function startHost(opts: HostOptions, ids: string[]): Promise<Host> {
  const log = opts.log ?? createLogger({ topology: opts.topology.name });
  checkedMetricsToken(opts.metricsToken);
  const master = loadMasterKey(opts.dataDir);
  const root = await openKeyValueStore({ url: opts.redisUrl, namespace: `gov-id:${opts.topology.name}:${opts.schemaPrefix}`, log });
  const started: Awaited<ReturnType<typeof hostEntity>>[] = [];
  const gate = new RegistrationGate();
  // The entities' refreshes of their neighbours' chains take turns (neighbour-chains.ts).
  const turns = new OneRoundAtATime();
  const close = async () => {
    for (const s of started) s.trustMarkHolder.stop();
    await Promise.all(started.map((s) => s.neighbourChains?.stop()));
    await Promise.all(started.map((s) => s.stopFollowingKeys()));
    await Promise.all(started.map((s) => s.publisher?.stop()));
    await Promise.all(started.map((s) => s.catalogFeed?.stop()));
    await Promise.all(started.map((s) => s.listener.close()));
    await Promise.all(started.map((s) => s.replicas?.close()));
    await Promise.all(started.map((s) => s.db.close()));
    await root.close();
  };
  try {
    for (const id of ids) started.push(await hostEntity(opts, opts.topology.get(id), root, master, log, gate, turns));
    // Once every entity listens: the backlog goes up through brokers of this host too.
    await Promise.all(gate.publishers.map((p) => p.start()));
    gate.started = true;
  } catch (err) {
    await close();
    throw err;
  }
  // Publications go out once every entity of the host listens: a superior checks one a broker
  // relays against the statements of its home, which may be hosted here too, started after the
  // broker. (A publisher never waits for its superior: it retries in the background.)
  for (const s of started) s.publisher?.start();
  // Likewise the catalogs: a platform's services entity reads the feed of the one above, perhaps hosted here.
  for (const s of started) s.catalogFeed?.start();
  // And the neighbours' chains, so that no cross-tier login resolves one (neighbour-chains.ts).
  if (opts.warmNeighbourChains ?? true) for (const s of started) s.neighbourChains?.start();
  return { entities: started.map((s) => s.hosted), close };
}
