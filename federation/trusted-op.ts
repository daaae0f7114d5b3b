/**
 * What a broker needs to know about another OP of the federation before it sends a login there
 * or believes an ID token from it: that its trust chain to the anchor validates (its metadata is
 * then the chain's resolved `openid_provider` metadata), where it sits (its path to the anchor,
 * for routing) and the highest level of assurance its real-name-op trust mark lets it assert.
 * An OP without a valid real-name-op mark is not trusted with logins at all.
 */
import {
  httpStatementFetcher,
  resolveTrustChain,
  TrustChainCache,
  type StatementFetcher,
  type TrustAnchor,
  type TrustChain,
} from './trust-chain.ts';
import { entityConfigurationLabel, TrustChainError } from './federation-errors.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import { materializeTrustAnchor, type TrustAnchorSource } from './authority-endpoints.ts';
import { federationPath } from './recognition-routing.ts';
import { HttpError } from '../infra/errors.ts';
import { REAL_NAME_OP, requireTrustMark, TrustMarkError, trustAnchorTrustMarkConfig, trustMarkIssuerKeyResolver } from './trust-marks.ts';
import type { LoaLevel } from './loa.ts';
import type { ChainResolution } from '../infra/metrics.ts';

export interface TrustedOp {
  entityId: string;
  /** [the OP, its superior, ..., the trust anchor]. */
  path: string[];
  /** Its `openid_provider` metadata after the federation's policies. */
  metadata: Record<string, unknown>;
  /** From its real-name-op trust mark. */
  maxLoa: LoaLevel;
  expiresAt: number;
}

/** 403 untrusted_op; 503 temporarily_unavailable when the OP could not be reached (try later). */
export class UntrustedOp extends HttpError {
  constructor(
    readonly entityId: string,
    reason: string,
    /** Its statements could not be fetched (down or slow), rather than found wrong. */
    readonly unreachable = false,
  ) {
    super(
      unreachable ? 503 : 403,
      unreachable ? 'temporarily_unavailable' : 'untrusted_op',
      `${entityId} is not a trusted OP of the federation: ${reason}`,
    );
  }
}

export interface TrustedOpsOptions {
  trustAnchors: TrustAnchorSource[];
  allowHttpEntityIds: boolean;
  fetcher?: StatementFetcher;
  /** Longest reuse of a resolved OP before its chain is resolved again (seconds; default: FEDERATION_DEFAULTS.trustCacheSeconds). */
  cacheSeconds?: number;
  /**
   * An authority's own live configuration: when it changes (a subordinate added or removed), every
   * OP is resolved again, so what this authority decides follows its configuration at once.
   */
  authorityConfig?: { current(): unknown; readonly version: number };
  /**
   * The metadata a member's chain must resolve to (default `openid_provider`). Membership alone
   * ({@link TrustedOps.pathOf}) serves other kinds too: `oauth_resource` for the services entities.
   */
  entityType?: string;
  /** Told of every chain resolved: while a request waited (`on_demand`) or by {@link TrustedOps.refresh} (`ahead`). */
  onResolved?: (how: ChainResolution) => void;
}

export class TrustedOps {
  private readonly cache = new TrustChainCache({ maxEntries: 1000 });
  private readonly known = new Map<string, TrustedOp>();
  /** What this OP's trust decisions fetch through (a running entity's fetch policy). */
  readonly fetcher: StatementFetcher;
  private readonly cacheSeconds: number;
  private configurationVersion: number | undefined;
  /** Resolutions under way (see resolveOnce). */
  private readonly resolving = new Map<string, Promise<TrustChain>>();

  /** Validated chains, marks not checked (membership); `cache` and `known` hold the OPs trusted with logins. */
  private readonly chains = new TrustChainCache({ maxEntries: 1000 });

  constructor(private readonly opts: TrustedOpsOptions) {
    this.fetcher = opts.fetcher ?? httpStatementFetcher();
    this.cacheSeconds = opts.cacheSeconds ?? FEDERATION_DEFAULTS.trustCacheSeconds;
    this.configurationVersion = opts.authorityConfig?.version;
  }

  /** Forgets every OP when the authority's own configuration changed since the last look. */
  private followOwnConfiguration(): void {
    const config = this.opts.authorityConfig;
    if (!config) return;
    config.current();
    if (config.version === this.configurationVersion) return;
    this.configurationVersion = config.version;
    this.chains.clear();
    this.cache.clear();
    this.known.clear();
    this.resolving.clear();
  }

  /** False when the configuration changed while a chain was being resolved: that chain may predate the change and is not kept. */
  private configurationUnchanged(): boolean {
    return this.opts.authorityConfig?.version === this.configurationVersion;
  }

  /** The OP's validated trust chain (resolved or reused), its trust marks not checked; throws UntrustedOp. */
  private async chain(entityId: string): Promise<{ chain: TrustChain; anchors: TrustAnchor[] }> {
    this.followOwnConfiguration();
    const anchors = await this.anchors();
    const now = Math.floor(Date.now() / 1000);
    const hit = this.chains.get(entityId, now);
    if (hit) return { chain: hit, anchors };
    if (!URL.canParse(entityId)) throw new UntrustedOp(entityId, 'not an entity identifier');
    return { chain: await this.resolveOnce(entityId, anchors, now, 'on_demand'), anchors };
  }

  /**
   * One resolution of the OP's chain at a time: concurrent first requests about one OP share one
   * (a cold start does not multiply the fetches), and a background refresh and a request share one too.
   */
  private resolveOnce(entityId: string, anchors: TrustAnchor[], now: number, how: ChainResolution, fetcher?: StatementFetcher) {
    let pending = this.resolving.get(entityId);
    if (!pending) {
      this.opts.onResolved?.(how);
      const started = this.resolve(entityId, anchors, now, fetcher).finally(() => {
        if (this.resolving.get(entityId) === started) this.resolving.delete(entityId);
      });
      this.resolving.set(entityId, (pending = started));
    }
    return pending;
  }

  private async anchors(): Promise<TrustAnchor[]> {
    return (await Promise.all(this.opts.trustAnchors.map(materializeTrustAnchor))).filter((a): a is TrustAnchor => a !== null);
  }

  /** Resolves the OP's chain and remembers it; throws UntrustedOp. */
  private async resolve(entityId: string, anchors: TrustAnchor[], now: number, fetcher = this.fetcher): Promise<TrustChain> {
    let chain;
    try {
      chain = await resolveTrustChain(entityId, {
        trustAnchors: anchors,
        fetcher,
        allowHttpEntityIds: this.opts.allowHttpEntityIds,
        entityType: this.opts.entityType ?? 'openid_provider',
      });
    } catch (err) {
      if (!(err instanceof TrustChainError)) throw err;
      // Down or slow (its own configuration did not come) is not the same as wrong: the person is told to try later.
      throw new UntrustedOp(entityId, err.message, err.statement === entityConfigurationLabel(entityId) && err.unanswered);
    }
    if (this.configurationUnchanged())
      this.chains.set(entityId, { ...chain, expiresAt: Math.min(chain.expiresAt, now + this.cacheSeconds) });
    return chain;
  }

  /**
   * [the OP, its superior, ..., the anchor] when the entity is an OP of the federation (its chain
   * validates), else null. Membership only: trusting its logins takes {@link get}.
   */
  async pathOf(entityId: string): Promise<string[] | null> {
    return this.chain(entityId).then(
      ({ chain }) => federationPath(chain),
      () => null,
    );
  }

  /** Resolves (or reuses) the OP and its real-name-op mark; throws UntrustedOp with the reason. */
  async get(entityId: string): Promise<TrustedOp> {
    this.followOwnConfiguration();
    const now = Math.floor(Date.now() / 1000);
    const hit = this.known.get(entityId);
    if (hit && this.cache.get(entityId, now)) return hit;
    const { chain, anchors } = await this.chain(entityId);
    return this.trust(entityId, chain, anchors, now);
  }

  /**
   * Resolves the entity's chain anew, ahead of the remembered one's expiry, and replaces it (its
   * real-name-op mark checked unless `membershipOnly`): the background refresh of a broker's
   * neighbours (neighbour-chains.ts), so that logins keep finding them remembered. `fetcher`
   * defaults to this entity's; a refresh round passes one that fetches each statement once.
   * Returns [the entity, its superior, ..., the anchor].
   */
  async refresh(entityId: string, opts: { fetcher?: StatementFetcher; membershipOnly?: boolean } = {}): Promise<string[]> {
    this.followOwnConfiguration();
    const anchors = await this.anchors();
    const now = Math.floor(Date.now() / 1000);
    const chain = await this.resolveOnce(entityId, anchors, now, 'ahead', opts.fetcher);
    if (!opts.membershipOnly) await this.trust(entityId, chain, anchors, now);
    return federationPath(chain);
  }

  /** The OP trusted with logins through its validated chain and its real-name-op mark, remembered; throws UntrustedOp. */
  private async trust(entityId: string, chain: TrustChain, anchors: TrustAnchor[], now: number): Promise<TrustedOp> {
    const anchor = anchors.find((a) => a.entityId === chain.trustAnchor)!;
    let mark;
    try {
      mark = await requireTrustMark(entityId, chain.trustMarks, REAL_NAME_OP, {
        trustAnchor: trustAnchorTrustMarkConfig(chain.statements.at(-1)!),
        issuerKeys: trustMarkIssuerKeyResolver({
          trustAnchor: anchor,
          fetcher: this.fetcher,
          allowHttpEntityIds: this.opts.allowHttpEntityIds,
        }),
      });
    } catch (err) {
      if (!(err instanceof TrustMarkError)) throw err;
      // Its configuration may carry the mark by the next try (an entity obtains its marks after it starts).
      this.chains.delete(entityId);
      throw new UntrustedOp(entityId, err.message);
    }
    if (!mark.max_loa) throw new UntrustedOp(entityId, 'its real-name-op trust mark has no max_loa');
    const expiresAt = Math.min(chain.expiresAt, mark.exp ?? Infinity, now + this.cacheSeconds);
    const op: TrustedOp = {
      entityId,
      path: federationPath(chain),
      metadata: chain.metadata.openid_provider!,
      maxLoa: mark.max_loa,
      expiresAt,
    };
    if (this.configurationUnchanged()) {
      this.cache.set(entityId, { ...chain, expiresAt });
      this.known.set(entityId, op);
    }
    return op;
  }

  /** Forgets an OP (e.g. after its answer failed verification, so that its keys are fetched again). */
  forget(entityId: string): void {
    this.chains.delete(entityId);
    this.cache.delete(entityId);
    this.known.delete(entityId);
  }
}
