/**
 * The e-license part of one services entity (a platform's data-sharing node): its registry and
 * status lists as an issuer, its verifier, and — at the national node — the licence directory.
 * Built per services entity from its runtime; what it needs of the federation comes in as
 * LicenseTrust (the host wires it to the trust layer).
 */
import type Router from '@koa/router';
import type { EntityKeyResolver } from '../../infra/entity-assertion.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { PopulationRegistry } from '../population/population-registry.ts';
import { LegalPersonRegistry } from '../legal-persons/legal-person-registry.ts';
import { HolderKeys } from './holder-keys.ts';
import type { IssuerKeyLookup } from './issuer-keys.ts';
import { DirectoryWriter, LicenseDirectory } from './license-directory.ts';
import { LicenseRegistry } from './license-registry.ts';
import { licenseRouter } from './license-routes.ts';
import { addHolderRoutes } from './license-holder-routes.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import { LicenseVerifier } from './license-verifier.ts';
import { StatusLists } from './status-lists.ts';

export interface LicenseTrust {
  /** The key an issuer signed with, through its trust chain (federation/entity-signing-keys.ts). */
  issuerKey: IssuerKeyLookup;
  /** The keys of a calling services entity, through its trust chain (the directory's callers). */
  serviceKeys: EntityKeyResolver;
  /** The entity ID of the national node, which keeps the licence directory. */
  directoryUrl: string;
}

export interface LicenseNode {
  runtime: EntityRuntime;
  trust: LicenseTrust;
  registry: LicenseRegistry;
  verifier: LicenseVerifier;
  statusLists: StatusLists;
  /** The directory itself: at the national node only. */
  directory: LicenseDirectory | null;
  directoryWriter: DirectoryWriter;
  population: PopulationRegistry;
  legalPersons: LegalPersonRegistry;
  router: Router;
}

/** `access` checks the holders' access tokens (the holder routes). */
export function createLicenseNode(runtime: EntityRuntime, trust: LicenseTrust, access: ServiceAccess): LicenseNode {
  const self = runtime.self.url;
  const signingKey = () => runtime.keyRing.signingKey();
  const verifier = new LicenseVerifier({ issuerKey: trust.issuerKey });
  const statusLists = new StatusLists(runtime.db, self, signingKey);
  const directory = trust.directoryUrl === self ? new LicenseDirectory(runtime.db, runtime.blindIndex) : null;
  const directoryWriter = new DirectoryWriter({
    db: runtime.db,
    cipher: runtime.cipher,
    self,
    directoryUrl: trust.directoryUrl,
    local: directory,
    signingKey,
    log: runtime.log,
  });
  const registry = new LicenseRegistry({
    db: runtime.db,
    cipher: runtime.cipher,
    blindIndex: runtime.blindIndex,
    self,
    signingKey,
    statusLists,
    holderKeys: new HolderKeys(runtime.cipher),
    directory: directoryWriter,
    // This entity's own verifications see its status changes at once; others within the list's ttl.
    onStatusChanged: (uri) => verifier.forgetStatusList(self, uri),
  });
  const population = new PopulationRegistry(runtime.db, runtime.cipher, runtime.blindIndex);
  const legalPersons = new LegalPersonRegistry(runtime.db, runtime.cipher, runtime.blindIndex, population);
  const node: Omit<LicenseNode, 'router'> = {
    runtime,
    trust,
    registry,
    verifier,
    statusLists,
    directory,
    directoryWriter,
    population,
    legalPersons,
  };
  const router = licenseRouter(node);
  addHolderRoutes(router, node, access);
  return { ...node, router };
}
