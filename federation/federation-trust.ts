/**
 * The trust an entity (an OP, or the services entity) puts in the OPs of the federation, each
 * decision named once and each answered from the live federation (trust chains through the
 * authorities' current configurations), never from the topology file. So an OP an authority adds
 * with `gov-id federation add-subordinate` is trusted alike by the registry of homes, the base
 * registries, the consent page and the routing of cross-tier logins, and one it removes is
 * distrusted alike by all of them (at that authority at once: its TrustedOps follows its
 * configuration; elsewhere when the chain is next resolved, FEDERATION_DEFAULTS.trustCacheSeconds
 * at most).
 */
import type { JSONWebKeySet } from 'jose';
import type { TrustedOps } from './trusted-op.ts';
import { isEntityIdentifier } from './automatic-registration.ts';
import { cachedKeyResolver } from './entity-configuration.ts';

export interface FederationTrustOptions {
  /** This entity's ID. */
  self: string;
  ops: TrustedOps;
  /** The entity IDs this entity vouches for now (its live configuration); none when it is no authority. */
  subordinates?: () => readonly string[];
  /** Client IDs of the OP's own applications (its account area). */
  ownClients?: readonly string[];
}

export class FederationTrust {
  private readonly entityKeys: ReturnType<typeof cachedKeyResolver>;

  constructor(private readonly o: FederationTrustOptions) {
    // Callers' keys are fetched through the same fetch policy as their chains.
    this.entityKeys = cachedKeyResolver(() => true, o.ops.fetcher);
  }

  /** Its trust chain to the anchor validates as an OP (`openid_provider`): it may use the registry of homes and the base registries. */
  async isFederationOp(entityId: string): Promise<boolean> {
    return (await this.o.ops.pathOf(entityId)) !== null;
  }

  /** The federation keys a call signed by `entityId` is verified with, when it is an OP of the federation; null for anyone else. */
  async federationOpKeys(entityId: string, opts?: { fresh?: boolean }): Promise<JSONWebKeySet | null> {
    return (await this.isFederationOp(entityId)) ? this.entityKeys(entityId, opts) : null;
  }

  /**
   * It relays logins to this OP, so it may name the home of a request (`home_hint`) and needs no
   * consent page. Logins travel between neighbours only (recognition-routing.ts: up to the
   * superior, down along the home's path), so a broker of this OP is its superior on its own
   * trust chain, or an OP directly below it: listed in this OP's configuration, with a chain that
   * runs through this OP. Other OPs of the federation are no brokers here.
   */
  async isBroker(clientId: string): Promise<boolean> {
    if (!isEntityIdentifier(clientId) || clientId === this.o.self) return false;
    if (clientId === (await this.superior())) return true;
    if (!this.o.subordinates?.().includes(clientId)) return false;
    return (await this.o.ops.pathOf(clientId))?.[1] === this.o.self;
  }

  /** The OP's own applications, and its brokers (the person consents where the login started, to the portal). */
  async maySkipConsent(clientId: string): Promise<boolean> {
    return (this.o.ownClients?.includes(clientId) ?? false) || this.isBroker(clientId);
  }

  /** The next entity up this OP's own validated chain; null at the trust anchor or when its chain does not validate. */
  private async superior(): Promise<string | null> {
    const up = (await this.o.ops.pathOf(this.o.self))?.[1];
    return up !== undefined && up !== this.o.self ? up : null;
  }
}
