/**
 * Resolution (OpenID Federation 1.0 §10.1): from a subject's entity configuration up its
 * authority_hints to a configured Trust Anchor, fetching each statement once through the
 * caller's StatementFetcher, within a timeout per fetch and a budget of fetches.
 *
 * Where the specification leaves a choice or is silent, the choice is marked "SPEC CHOICE".
 */
import { ENTITY_CONFIGURATION_PATH } from './entity-configuration.ts';
import { FEDERATION_DEFAULTS } from './federation-defaults.ts';
import { entityConfigurationLabel, subordinateStatementLabel, TrustChainError } from './federation-errors.ts';
import { context, fail, parseStatement, type Context, type Statement } from './trust-chain-parse.ts';
import { verifySignature } from './trust-chain-signatures.ts';
import { checkStatement, isEntityId, isEntityUrl } from './trust-chain-statement-checks.ts';
import type { ResolveOptions, StatementFetcher, TrustChain } from './trust-chain-types.ts';
import { validateStatements } from './trust-chain-validate.ts';

/** §9: the configuration endpoint; a trailing "/" of the Entity Identifier is removed first. */
export function entityConfigurationUrl(entityId: string): string {
  return entityId.replace(/\/$/, '') + ENTITY_CONFIGURATION_PATH;
}

/** §8.1.1: the fetch endpoint with the `sub` query parameter. */
export function fetchStatementUrl(fetchEndpoint: string, subject: string): string {
  const url = new URL(fetchEndpoint);
  url.searchParams.set('sub', subject);
  return url.href;
}

/** Runs one fetch with a timeout; the fetcher gets an AbortSignal and is not waited for past the timeout. */
async function timed(label: string, url: string, timeoutMs: number, run: (signal: AbortSignal) => Promise<string>): Promise<string> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TrustChainError(label, 'fetch_timeout', `no answer within ${timeoutMs} ms`, { url }));
      controller.abort();
    }, timeoutMs);
  });
  try {
    const body = await Promise.race([run(controller.signal), timeout]);
    if (typeof body !== 'string') fail(label, 'fetch_failed', 'the fetcher did not return a string');
    return body.trim();
  } catch (err) {
    if (err instanceof TrustChainError) {
      if (err.url || (err.check !== 'fetch_failed' && err.check !== 'too_large')) throw err;
      throw new TrustChainError(err.statement, err.check, err.detail, {
        url,
        cause: err.cause,
        ...(err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus }),
      });
    }
    throw new TrustChainError(label, 'fetch_failed', (err as Error)?.message ?? String(err), { url, cause: err });
  } finally {
    clearTimeout(timer);
  }
}

class Resolver {
  readonly #ctx: Context;
  readonly #fetcher: StatementFetcher;
  readonly #timeoutMs: number;
  readonly #maxHints: number;
  readonly #maxFetches: number;
  #fetches = 0;
  readonly #configurations = new Map<string, Promise<Statement>>();
  readonly #subordinates = new Map<string, Promise<Statement>>();

  constructor(opts: ResolveOptions) {
    this.#ctx = context(opts);
    this.#fetcher = opts.fetcher;
    this.#timeoutMs = opts.timeoutMs ?? FEDERATION_DEFAULTS.statementFetchTimeoutMs;
    this.#maxHints = opts.maxAuthorityHints ?? FEDERATION_DEFAULTS.maxAuthorityHints;
    this.#maxFetches = opts.maxFetches ?? FEDERATION_DEFAULTS.maxFetchesPerResolution;
  }

  #budget(label: string, url: string): void {
    if (++this.#fetches > this.#maxFetches)
      throw new TrustChainError(label, 'fetch_budget', `more than ${this.#maxFetches} fetches`, { url });
  }

  /** The entity's configuration, fetched once per resolution ("MUST NOT attempt to fetch Entity Statements they already have obtained"). */
  entityConfiguration(entityId: string): Promise<Statement> {
    let p = this.#configurations.get(entityId);
    if (!p) {
      p = this.#fetchConfiguration(entityId);
      p.catch(() => {}); // awaited by the caller; avoids an unhandled rejection for memoized failures
      this.#configurations.set(entityId, p);
    }
    return p;
  }

  async #fetchConfiguration(entityId: string): Promise<Statement> {
    const label = entityConfigurationLabel(entityId);
    const url = entityConfigurationUrl(entityId);
    this.#budget(label, url);
    const jwt = await timed(label, url, this.#timeoutMs, (signal) => this.#fetcher.entityConfiguration(entityId, signal));
    const st = parseStatement(jwt, this.#ctx, label);
    checkStatement(st, this.#ctx);
    if (st.claims.iss !== entityId || st.claims.sub !== entityId)
      fail(label, 'iss_sub', `iss/sub are ${st.claims.iss}/${st.claims.sub}, expected ${entityId}`);
    // "the entity configuration is self-signed with a key from its own jwks"
    await verifySignature(st, st.claims.jwks.keys, 'its own jwks', 'signature');
    return st;
  }

  subordinateStatement(superior: Statement, subject: string): Promise<Statement> {
    const key = `${superior.claims.sub}\n${subject}`;
    let p = this.#subordinates.get(key);
    if (!p) {
      p = this.#fetchSubordinate(superior, subject);
      p.catch(() => {});
      this.#subordinates.set(key, p);
    }
    return p;
  }

  async #fetchSubordinate(superior: Statement, subject: string): Promise<Statement> {
    const issuer = superior.claims.sub;
    const label = subordinateStatementLabel(issuer, subject);
    // §8.1: the fetch endpoint is published in the superior's own entity configuration.
    const fed = superior.claims.metadata?.federation_entity;
    const endpoint = fed?.federation_fetch_endpoint;
    if (typeof endpoint !== 'string' || !isEntityUrl(endpoint))
      fail(superior.label, 'no_fetch_endpoint', 'metadata.federation_entity.federation_fetch_endpoint is missing');
    const url = fetchStatementUrl(endpoint as string, subject);
    this.#budget(label, url);
    const jwt = await timed(label, url, this.#timeoutMs, (signal) =>
      this.#fetcher.subordinateStatement(endpoint as string, issuer, subject, signal),
    );
    const st = parseStatement(jwt, this.#ctx, label);
    checkStatement(st, this.#ctx);
    if (st.claims.iss !== issuer || st.claims.sub !== subject)
      fail(st.label, 'iss_sub', `expected a statement by ${issuer} about ${subject}`);
    // §3.2: signed with a key in the issuer's entity configuration.
    await verifySignature(st, superior.claims.jwks.keys, superior.label, 'signature');
    return st;
  }

  async resolve(entityId: string): Promise<TrustChain> {
    const ctx = this.#ctx;
    if (!isEntityId(entityId, ctx.allowHttp)) fail(entityConfigurationLabel(entityId), 'entity_id', 'not a valid Entity Identifier');
    const subject = await this.entityConfiguration(entityId);
    if (ctx.anchors.has(entityId)) return validateStatements([subject], ctx);

    // Breadth-first over authority_hints: every path is tried until one validates, shortest
    // first (§10.3 suggests preferring a shorter chain). SPEC CHOICE: a path ends at the first
    // configured Trust Anchor reached, even if that anchor has superiors of its own.
    interface Path {
      configurations: Statement[]; // subject, then each superior on the path
      subordinates: Statement[]; // subordinates[k] is issued by configurations[k+1] about configurations[k]
    }
    const errors: TrustChainError[] = [];
    let frontier: Path[] = [{ configurations: [subject], subordinates: [] }];
    while (frontier.length > 0) {
      const next: Path[] = [];
      for (const path of frontier) {
        const current = path.configurations.at(-1)!;
        const hints = current.claims.authority_hints ?? [];
        if (hints.length === 0) {
          errors.push(new TrustChainError(current.label, 'unknown_trust_anchor', 'no authority_hints, and not a configured trust anchor'));
          continue;
        }
        // SPEC CHOICE: only the first maxAuthorityHints hints are inspected (§18.1).
        for (const hint of hints.slice(0, this.#maxHints)) {
          // "If a loop is detected, the authority hint that led to it MUST NOT be used."
          if (path.configurations.some((c) => c.claims.sub === hint)) {
            errors.push(new TrustChainError(current.label, 'loop', `authority hint ${hint} leads back into the path`));
            continue;
          }
          try {
            const superior = await this.entityConfiguration(hint);
            const statement = await this.subordinateStatement(superior, current.claims.sub);
            if (ctx.anchors.has(hint)) {
              return await validateStatements([subject, ...path.subordinates, statement, superior], ctx);
            }
            const intermediates = path.subordinates.length + 1;
            if (intermediates > ctx.maxPathLength) {
              errors.push(
                new TrustChainError(
                  statement.label,
                  'max_path_length',
                  `more than ${ctx.maxPathLength} intermediates without reaching a trust anchor`,
                ),
              );
              continue;
            }
            next.push({ configurations: [...path.configurations, superior], subordinates: [...path.subordinates, statement] });
          } catch (err) {
            if (!(err instanceof TrustChainError)) throw err;
            if (err.check === 'fetch_budget') throw withAlternatives(err, errors);
            errors.push(err);
          }
        }
      }
      frontier = next;
    }
    // No path validated. Report the first real failure (shortest path first); a loop or a dead
    // end only when nothing else went wrong. The other failures are in `alternatives`.
    const chosen =
      errors.find((e) => e.check !== 'unknown_trust_anchor' && e.check !== 'loop') ??
      errors.find((e) => e.check === 'loop') ??
      errors[0] ??
      new TrustChainError(subject.label, 'unknown_trust_anchor', 'no path to a configured trust anchor');
    throw withAlternatives(chosen, errors);
  }
}

function withAlternatives(chosen: TrustChainError, all: TrustChainError[]): TrustChainError {
  return new TrustChainError(chosen.statement, chosen.check, chosen.detail, {
    ...(chosen.url ? { url: chosen.url } : {}),
    cause: chosen.cause,
    alternatives: all.filter((e) => e !== chosen),
  });
}

/**
 * Resolves and validates a Trust Chain for `entityId` to one of the configured Trust Anchors
 * (§10): fetches its entity configuration, follows authority_hints (fetching each superior's
 * entity configuration and, from its fetch endpoint, its subordinate statement about the entity
 * below), detects loops, and validates every candidate chain in full (statements, signatures,
 * constraints, metadata policy). Throws a TrustChainError naming the statement and the check.
 */
export async function resolveTrustChain(entityId: string, opts: ResolveOptions): Promise<TrustChain> {
  return new Resolver(opts).resolve(entityId);
}
