/**
 * Trust Chain resolution and validation (OpenID Federation 1.0: §3 "Entity Statement", §3.2
 * "Entity Statement Validation", §4 "Trust Chain", §6.1 "Metadata Policy", §6.2 "Constraints",
 * §10 "Resolving the Trust Chain and Metadata"): this file only re-exports the public names of
 * the trust-chain-*.ts files, one per step, so that callers import from one place.
 *
 * - resolveTrustChain (trust-chain-resolve.ts) walks a subject's authority_hints up to a
 *   configured Trust Anchor, fetching entity configurations and subordinate statements through a
 *   StatementFetcher, and returns the first chain that validates (breadth-first, so a shortest
 *   valid chain is returned).
 * - validateTrustChain (trust-chain-validate.ts) validates a chain handed over as an array of
 *   statements (e.g. a `trust_chain` request parameter or JWS header).
 * - TrustChainCache (trust-chain-cache.ts) keeps resolved chains until they expire.
 * - httpStatementFetcher (trust-chain-fetch.ts) is the ordinary HTTP StatementFetcher; no I/O
 *   happens elsewhere except through the StatementFetcher the caller passes in.
 * - Parsing (trust-chain-parse.ts), checks of one statement (trust-chain-statement-checks.ts),
 *   signatures (trust-chain-signatures.ts) and naming constraints (trust-chain-constraints.ts)
 *   are the steps validation is made of.
 *
 * Where the specification leaves a choice or is silent, the choice is marked "SPEC CHOICE".
 */
export { DEFAULT_ALGORITHMS, type ResolveOptions, type StatementFetcher, type TrustAnchor, type TrustChain } from './trust-chain-types.ts';
export { PRIVATE_MEMBERS } from './trust-chain-signatures.ts';
export { validateTrustChain } from './trust-chain-validate.ts';
export { entityConfigurationUrl, fetchStatementUrl, resolveTrustChain } from './trust-chain-resolve.ts';
export { httpStatementFetcher, type StatementTransport } from './trust-chain-fetch.ts';
export { TrustChainCache } from './trust-chain-cache.ts';
