/**
 * A broker's registry of homes as an API for federation entities, one Koa middleware:
 *
 * - `POST /registry/homes` {kind, identifier, home, previous_home?}: a direct subordinate publishes
 *   a home in its own subtree. The entry and, when this broker has a superior, its publication
 *   upward commit in one transaction. 409 `home_conflict` (with the existing `home`) when the
 *   identifier has another home and the publication is not a move away from it.
 * - `POST /registry/lookup` {kind, identifier} → {home}: any OP of the federation asks where an
 *   identifier's home is (this registry, then the superior's). Rate-limited per caller.
 *
 * Callers authenticate with an entity assertion. Identifiers travel only in JSON bodies and never
 * reach the log or the audit log. Errors are JSON `{error, error_description}`.
 */
import type Koa from 'koa';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { appendAudit, recordAudit } from '../infra/audit-log.ts';
import type { BlindIndex, FieldCipher } from '../infra/crypto.ts';
import type { Database } from '../infra/database.ts';
import { verifyEntityAssertion, type EntityKeyResolver } from '../infra/entity-assertion.ts';
import { BadRequest, Forbidden, HttpError, TooManyRequests } from '../infra/errors.ts';
import { parseBody } from '../infra/http-server.ts';
import { InvalidIdentifier, InvalidUscc } from '../infra/identifiers.ts';
import type { KeyValueStore } from '../infra/key-value-store.ts';
import type { Logger } from '../infra/log.ts';
import { validate } from '../infra/validation.ts';
import { REGISTRY_HOMES_PATH, REGISTRY_LOOKUP_PATH, type RegistryClient } from './registry-client.ts';
import { HOME_KINDS, HomeConflict, type HomeRegistry } from './registry-of-homes.ts';
import { enqueueRegistryPublication } from './registry-outbox.ts';

const PATHS = new Set([REGISTRY_HOMES_PATH, REGISTRY_LOOKUP_PATH]);

/** Whether a request (its raw URL, e.g. `req.url`) is for one of these endpoints. */
export function isRegistryPath(url: string | undefined): boolean {
  if (!url) return false;
  return PATHS.has(url.split('?')[0]!);
}

export interface RegistryEndpointsOptions {
  /** This broker's entity ID (the audience of callers' assertions). */
  self: string;
  registry: HomeRegistry;
  /** Knows the superior (publications are forwarded when there is one) and looks up beyond this registry. */
  client: RegistryClient;
  db: Database;
  /** This entity's keys for the outbox of publications upward. */
  cipher: FieldCipher;
  blindIndex: BlindIndex;
  resolveCallerKeys: EntityKeyResolver;
  /** This entity's key-value store: replayed assertions and lookup rate limits. */
  kv: KeyValueStore;
  isSubordinate: (entityId: string) => boolean | Promise<boolean>;
  /** Whether `home` is in the subtree under `subordinate`. */
  isWithin: (home: string, subordinate: string) => boolean | Promise<boolean>;
  isFederationOp: (entityId: string) => boolean | Promise<boolean>;
  /** Called after a publication upward was committed (the host kicks its publisher). */
  onPublished?: () => void;
  /** Lookups per caller per minute; a province broker asks for its whole subtree (default 6000). */
  lookupsPerMinute?: number;
  log: Logger;
}

const entityId = z.url({ protocol: /^https?$/ }).max(512);
const identified = { kind: z.enum(HOME_KINDS), identifier: z.string().min(1).max(64) };
const homesBody = z.object({ ...identified, home: entityId, previous_home: entityId.nullable().optional() }).strict();
const lookupBody = z.object(identified).strict();

async function readJson(ctx: Koa.Context): Promise<unknown> {
  if (!ctx.is('application/json')) throw new HttpError(415, 'invalid_request', 'the body must be application/json');
  try {
    await parseBody(ctx, async () => undefined);
  } catch (err) {
    // The parser's own message may quote the body: say what is wrong, never what was sent.
    if ((err as { status?: number }).status === 413) throw new HttpError(413, 'request_too_large', 'the body is too large');
    throw new BadRequest('invalid_request', 'the body is not valid JSON');
  }
  return ctx.request.body;
}

/** The error answered for anything thrown; unexpected ones are logged, never shown. */
function answer(ctx: Koa.Context, err: unknown, log: Logger): void {
  if (err instanceof HomeConflict) {
    ctx.status = 409;
    ctx.body = { error: 'home_conflict', error_description: err.message, home: err.home };
    return;
  }
  let e: HttpError;
  if (err instanceof HttpError) e = err;
  else if (err instanceof InvalidIdentifier || err instanceof InvalidUscc)
    e = new BadRequest('invalid_request', `identifier: ${err.problem}`);
  else {
    log.error('registry endpoint failed', { err, path: ctx.path });
    e = new HttpError(500, 'server_error', 'internal error');
  }
  if (e instanceof TooManyRequests) ctx.set('Retry-After', String(e.retryAfterSeconds));
  ctx.status = e.status;
  ctx.body = { error: e.code, error_description: e.message };
}

/**
 * The registry endpoints of a broker. Mount it before anything else that might answer these
 * paths; other requests pass through to `next`.
 */
export function registryEndpoints(opts: RegistryEndpointsOptions): Koa.Middleware {
  const lookups = opts.kv.rateLimiter({ keyPrefix: 'registry:lookup', points: opts.lookupsPerMinute ?? 6000, durationSeconds: 60 });

  const authenticate = (ctx: Koa.Context) =>
    verifyEntityAssertion(ctx.get('authorization'), { audience: opts.self, resolveKeys: opts.resolveCallerKeys, replay: opts.kv });

  /** Audits a refusal with its reason (never the identifier); returns it to be thrown. */
  async function refused<E extends Forbidden | HomeConflict>(err: E, detail: Record<string, unknown>): Promise<E> {
    await recordAudit(opts.db, {
      event: 'registry.refused',
      detail: { ...detail, reason: err instanceof HomeConflict ? 'home_conflict' : err.code },
    });
    return err;
  }

  async function publishHome(ctx: Koa.Context): Promise<void> {
    const caller = await authenticate(ctx);
    if (!(await opts.isSubordinate(caller)))
      throw await refused(new Forbidden('not_subordinate', `${caller} is not a direct subordinate of ${opts.self}`), { via: caller });
    const body = validate(homesBody, await readJson(ctx));
    const previousHome = body.previous_home ?? null;
    const audited = { kind: body.kind, home: body.home, via: caller, previous_home: previousHome };
    const under = async (entity: string | null) => entity !== null && (entity === caller || (await opts.isWithin(entity, caller)));
    // The new home announces a move in; the old home announces a move out (so that brokers on its side learn it too).
    if (!(await under(body.home)) && !(await under(previousHome))) {
      throw await refused(new Forbidden('home_outside_subtree', `${body.home} is neither ${caller} nor within its subtree`), audited);
    }
    const superior = opts.client.superior;
    const outcome = await opts.db
      .transaction(async (tx) => {
        const outcome = await opts.registry.record(tx, {
          kind: body.kind,
          identifier: body.identifier,
          home: body.home,
          via: caller,
          previousHome,
        });
        // An unchanged entry was forwarded when it was first recorded.
        if (superior && outcome !== 'unchanged') {
          await enqueueRegistryPublication(
            tx,
            { cipher: opts.cipher, blindIndex: opts.blindIndex },
            { kind: body.kind, identifier: body.identifier, home: body.home, previousHome },
          );
        }
        await appendAudit(tx, { event: 'registry.recorded', detail: { ...audited, outcome } });
        return outcome;
      })
      .catch(async (err: unknown) => {
        throw err instanceof HomeConflict ? await refused(err, { ...audited, existing_home: err.home }) : err;
      });
    if (superior && outcome !== 'unchanged') opts.onPublished?.();
    ctx.status = 200;
    ctx.body = { outcome };
  }

  async function lookup(ctx: Koa.Context): Promise<void> {
    const caller = await authenticate(ctx);
    if (!(await opts.isFederationOp(caller))) throw new Forbidden('not_federation_op', `${caller} is not an OP of the federation`);
    try {
      await lookups.consume(caller);
    } catch (r) {
      if (!(r instanceof RateLimiterRes)) throw r;
      const seconds = Math.max(1, Math.ceil(r.msBeforeNext / 1000));
      throw new TooManyRequests(`too many registry lookups by ${caller}; retry in ${seconds} s`, seconds);
    }
    const body = validate(lookupBody, await readJson(ctx));
    ctx.status = 200;
    ctx.body = { home: await opts.client.lookup(body.kind, body.identifier) };
  }

  const handlers: Record<string, (ctx: Koa.Context) => Promise<void>> = {
    [REGISTRY_HOMES_PATH]: publishHome,
    [REGISTRY_LOOKUP_PATH]: lookup,
  };

  return async (ctx, next) => {
    const handler = handlers[ctx.path];
    if (!handler) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      if (ctx.method !== 'POST') {
        ctx.set('Allow', 'POST');
        throw new HttpError(405, 'invalid_request', 'use POST');
      }
      await handler(ctx);
    } catch (err) {
      answer(ctx, err, opts.log);
    }
  };
}
