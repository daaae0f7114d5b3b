/**
 * The trust layer's timeouts, limits, cache periods and lifetimes, in one place with the reason for
 * each. Every option that overrides one of them (mostly for tests) says "default: FEDERATION_DEFAULTS.x".
 * (The brokers' timeouts are in idp/broker/broker-timeouts.ts.)
 */
export const FEDERATION_DEFAULTS = {
  /** Time allowed for each statement fetch of a trust chain resolution: a dead superior fails the resolution rather than hangs a login. */
  statementFetchTimeoutMs: 3000,
  /** Largest Entity Statement accepted, in bytes: real statements are a few KiB; more is an attack on memory or parsing. */
  statementMaxBytes: 64 * 1024,
  /** Most Intermediate Entities between a subject and its Trust Anchor: the federation has one tier of intermediates (provinces); 5 leaves room. */
  trustChainMaxPathLength: 5,
  /** authority_hints inspected per entity (§18.1 asks implementations to set a limit): bounds the breadth of a resolution. */
  maxAuthorityHints: 10,
  /** Fetches allowed for one resolution: bounds the work an adversarial web of authority_hints can cause. */
  maxFetchesPerResolution: 100,
  /** Leeway for a statement's iat/exp against this clock (also the most a caller may ask for): entities' clocks drift by seconds, not minutes. */
  maxClockSkewSeconds: 60,
  /**
   * Time allowed for fetching one entity configuration outside trust-chain resolution (an
   * authority reading its subordinate's keys, an entity reading the anchor's): the same bound as
   * a statement fetch, so a dead entity costs a login or a statement request no more than that.
   */
  fetchTimeoutMs: 3000,
  /**
   * A lookup or publication at the superior's registry of homes. A login waits on a lookup, and a
   * city's call runs through its province to national (the province relays before it answers),
   * each hop checking the caller's chain, cold after a start: 3 s failed such relays on a loaded
   * host. A registry that is down fails at once (connection refused); only one that hangs costs this long.
   */
  registryTimeoutMs: 8000,
  /**
   * Longest reuse of a resolved trust chain (a trusted OP, an automatically registered client, a
   * trust mark issuer's keys, the resolve endpoint's answer) before it is resolved again: how long
   * an entity an authority stopped vouching for may still be trusted elsewhere.
   */
  trustCacheSeconds: 300,
  /** Longest reuse of another entity's federation keys read from its entity configuration. */
  entityKeysCacheSeconds: 300,
  /** What an authority remembers of a subordinate's entity configuration (its keys, entity types). */
  subordinateInfoFreshSeconds: 300,
  /** ... and how much longer it uses that when a refresh fails, so a subordinate's short outage does not break every chain through it. */
  subordinateInfoStaleSeconds: 3600,
  /**
   * Lifetime of a subordinate statement, an entity configuration and a trust mark: a day, so a
   * key rotation's grace period (infra/entity-key-ring.ts) outlives every statement signed with
   * the old key; entity configurations are re-signed at half their lifetime.
   */
  subordinateStatementLifetimeSeconds: 24 * 3600,
  entityConfigurationLifetimeSeconds: 24 * 3600,
  trustMarkLifetimeSeconds: 24 * 3600,
  /** Smallest time between two looks at a live configuration file (authority, trust mark issuer): an edit is in force within it. */
  configCheckIntervalMs: 1000,
  /** A trust mark holder asks its issuer again this often (its marks last a day) ... */
  trustMarkCheckIntervalMs: 10 * 60_000,
  /** ... retries a failure first after this long, doubling up to trustMarkRetryMaxMs (or the check interval if shorter) ... */
  trustMarkRetryMs: 5000,
  trustMarkRetryMaxMs: 5 * 60_000,
  /** ... and allows each request to the issuer this long (off any login's path: more than a statement fetch). */
  trustMarkRequestTimeoutMs: 5000,
} as const;
