/**
 * Chain validation (OpenID Federation 1.0 §4, §10.2): a Trust Chain given as statements is checked
 * statement by statement, link by link, signature by signature from the anchor down, against
 * constraints, and the subject's metadata is resolved through the chain's metadata policy.
 *
 * Where the specification leaves a choice or is silent, the choice is marked "SPEC CHOICE".
 */
import { MetadataPolicyError, TrustChainError, type TrustChainCheck } from './federation-errors.ts';
import { applyPolicy, combinePolicies, SUPPORTED_ADDITIONAL_OPERATORS, validatePolicy, type MetadataPolicy } from './metadata-policy.ts';
import { checkNamingConstraints } from './trust-chain-constraints.ts';
import { context, fail, parseStatement, type Context, type Statement } from './trust-chain-parse.ts';
import { verifySignature } from './trust-chain-signatures.ts';
import { checkStatement } from './trust-chain-statement-checks.ts';
import type { ResolveOptions, TrustChain } from './trust-chain-types.ts';

/**
 * Validates ES[0..i]: ES[0] the subject's entity configuration, ES[1..] subordinate statements,
 * and, last, the anchor's entity configuration.
 *
 * SPEC CHOICE: §4 lets the anchor's entity configuration be omitted from the array. When the
 * last statement is a subordinate statement, its issuer must be a configured Trust Anchor and
 * it is verified with the configured anchor keys.
 */
export async function validateStatements(stmts: Statement[], ctx: Context): Promise<TrustChain> {
  if (stmts.length === 0) fail('trust chain', 'claims', 'the trust chain is empty');
  for (const st of stmts) checkStatement(st, ctx);

  const n = stmts.length;
  const leaf = stmts[0]!;
  if (!leaf.isEntityConfiguration)
    fail(leaf.label, 'iss_sub', "the first statement must be the subject's entity configuration (iss == sub)");
  const last = stmts[n - 1]!;
  const anchorEC = n === 1 || last.isEntityConfiguration ? last : undefined;
  const lastSubordinate = anchorEC ? n - 2 : n - 1; // subordinate statements are ES[1..lastSubordinate]
  if (n === 2 && anchorEC) fail(anchorEC.label, 'iss_sub', 'no subordinate statement between the subject and the trust anchor');
  for (let j = 1; j <= lastSubordinate; j++) {
    if (stmts[j]!.isEntityConfiguration) fail(stmts[j]!.label, 'iss_sub', 'expected a subordinate statement (iss != sub)');
  }
  // ES[j]["iss"] == ES[j+1]["sub"]
  for (let j = 0; j < n - 1; j++) {
    const [a, b] = [stmts[j]!, stmts[j + 1]!];
    if (a.claims.iss !== b.claims.sub)
      fail(b.label, 'iss_sub', `sub ${b.claims.sub} does not match the issuer ${a.claims.iss} of the statement below it`);
  }
  // §3.2: the issuer of a subordinate statement must be among the subject's authority_hints.
  if (lastSubordinate >= 1) {
    const issuer = stmts[1]!.claims.iss;
    if (!(leaf.claims.authority_hints ?? []).includes(issuer))
      fail(leaf.label, 'authority_hints', `${issuer} is not among the authority_hints`);
  }

  const anchorId = anchorEC ? anchorEC.claims.sub : stmts[lastSubordinate]!.claims.iss;
  const anchor = ctx.anchors.get(anchorId);
  if (!anchor)
    fail(anchorEC?.label ?? stmts[lastSubordinate]!.label, 'unknown_trust_anchor', `${anchorId} is not a configured trust anchor`);
  const intermediates = Math.max(0, lastSubordinate - 1);
  if (intermediates > ctx.maxPathLength) {
    fail(stmts[lastSubordinate]!.label, 'max_path_length', `${intermediates} intermediates exceed the limit of ${ctx.maxPathLength}`);
  }

  // Signatures, from the anchor down, so that each key set used has been authenticated.
  // SPEC CHOICE: ES[i] (anchor EC) is verified with the configured anchor keys and its kid must
  // also be in its own jwks; ES[i-1] is then verified with ES[i]["jwks"], which the configured
  // key has just authenticated (this lets an anchor roll its keys as §11.2 describes).
  const anchorKeys = anchor!.jwks.keys;
  if (anchorEC) {
    await verifySignature(anchorEC, anchorKeys, `the configured keys of trust anchor ${anchorId}`, 'signature');
    if (!anchorEC.claims.jwks.keys.some((k) => k.kid === anchorEC.header.kid))
      fail(anchorEC.label, 'signature', 'signing key is not in its own jwks');
  }
  for (let j = lastSubordinate; j >= 1; j--) {
    const st = stmts[j]!;
    const above = stmts[j + 1];
    if (!above) await verifySignature(st, anchorKeys, `the configured keys of trust anchor ${anchorId}`, 'signature');
    else if (above.isEntityConfiguration) await verifySignature(st, above.claims.jwks.keys, above.label, 'signature');
    else await verifySignature(st, above.claims.jwks.keys, above.label, 'key_not_in_superior');
  }
  // ES[0] is self-signed with a key in ES[0]["jwks"] and signed by a key in ES[1]["jwks"].
  if (n > 1) {
    await verifySignature(leaf, leaf.claims.jwks.keys, 'its own jwks', 'signature');
    const above = stmts[1]!;
    await verifySignature(leaf, above.claims.jwks.keys, above.label, above.isEntityConfiguration ? 'signature' : 'key_not_in_superior');
  }

  // Constraints (§6.2), each subordinate statement's independently.
  const allowedTypes: string[][] = [];
  for (let j = 1; j <= lastSubordinate; j++) {
    const st = stmts[j]!;
    const c = st.claims.constraints;
    if (!c) continue;
    // max_path_length: Intermediates between the issuer of ES[j] and the subject are ES[1..j-1]'s issuers.
    if (c.max_path_length !== undefined && j - 1 > c.max_path_length) {
      fail(
        st.label,
        'max_path_length',
        `${j - 1} intermediates between the issuer and the subject exceed max_path_length ${c.max_path_length}`,
      );
    }
    // naming_constraints apply to the subject of ES[j] and all entities below it.
    if (c.naming_constraints)
      checkNamingConstraints(
        st.label,
        c.naming_constraints,
        stmts.slice(1, j + 1).map((s) => s.claims.sub),
      );
    if (c.allowed_entity_types) allowedTypes.push(c.allowed_entity_types);
  }

  // Metadata (§3.1.1 metadata claim, §6.1.4.2, §6.2.3).
  let metadata: Record<string, Record<string, unknown>> = structuredClone(leaf.claims.metadata ?? {});
  const immediate = lastSubordinate >= 1 ? stmts[1]! : undefined;
  // The immediate superior's metadata overrides identically named parameters, only for entity types the subject has.
  for (const [entityType, md] of Object.entries(immediate?.claims.metadata ?? {})) {
    if (metadata[entityType]) metadata[entityType] = { ...metadata[entityType], ...structuredClone(md) };
  }
  // allowed_entity_types: remove other entity types (never federation_entity), before policies.
  for (const allowed of allowedTypes) {
    for (const entityType of Object.keys(metadata)) {
      if (entityType !== 'federation_entity' && !allowed.includes(entityType)) delete metadata[entityType];
    }
  }
  // Policy resolution: collect metadata_policy_crit, then merge from the anchor's statement down.
  const critical = new Set<string>();
  for (let j = 1; j <= lastSubordinate; j++) {
    for (const op of stmts[j]!.claims.metadata_policy_crit ?? []) {
      if (!SUPPORTED_ADDITIONAL_OPERATORS.has(op))
        fail(stmts[j]!.label, 'policy_illegal', `critical policy operator ${op} is not supported`);
      critical.add(op);
    }
  }
  let policy: MetadataPolicy = {};
  for (let j = lastSubordinate; j >= 1; j--) {
    const st = stmts[j]!;
    if (st.claims.metadata_policy === undefined) continue;
    try {
      validatePolicy(st.claims.metadata_policy, [...critical]);
    } catch (err) {
      throw policyError(st.label, err);
    }
    try {
      policy = combinePolicies(policy, st.claims.metadata_policy, [...critical]);
    } catch (err) {
      throw policyError(st.label, err);
    }
  }
  try {
    metadata = applyPolicy(metadata, policy);
  } catch (err) {
    throw policyError(leaf.label, err);
  }
  if (ctx.entityType !== undefined && !metadata[ctx.entityType])
    fail(leaf.label, 'entity_type', `the resolved metadata has no ${ctx.entityType}`);

  const chain: TrustChain = {
    subject: leaf.claims.sub,
    trustAnchor: anchorId,
    statements: stmts.map((s) => s.jwt),
    expiresAt: Math.min(...stmts.map((s) => s.claims.exp)),
    metadata,
  };
  if (leaf.claims.trust_marks) chain.trustMarks = structuredClone(leaf.claims.trust_marks);
  return chain;
}

/** A MetadataPolicyError as the TrustChainError of the statement that caused it. */
function policyError(label: string, err: unknown): Error {
  if (!(err instanceof MetadataPolicyError)) return err as Error;
  const check: TrustChainCheck =
    err.kind === 'illegal' ? 'policy_illegal' : err.kind === 'conflict' ? 'policy_conflict' : 'policy_violation';
  return new TrustChainError(label, check, err.message, { cause: err });
}

/**
 * Validates a Trust Chain given as statements (compact JWTs): the subject's entity configuration
 * first, then the subordinate statements, then (optionally, see validateStatements) the Trust
 * Anchor's entity configuration. Returns the chain with the subject's resolved metadata, or
 * throws a TrustChainError naming the statement and the failed check.
 */
export async function validateTrustChain(statements: string[], opts: Omit<ResolveOptions, 'fetcher'>): Promise<TrustChain> {
  const ctx = context(opts);
  if (!Array.isArray(statements)) fail('trust chain', 'malformed', 'a trust chain is an array of statements');
  const parsed = statements.map((jwt, j) => parseStatement(jwt, ctx, `statement ${j} of the trust chain`));
  return validateStatements(parsed, ctx);
}
