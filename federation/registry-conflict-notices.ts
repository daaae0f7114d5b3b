/**
 * Notices of registry conflicts to the two homes. The OP that keeps a conflict (a publication its
 * superior refused because the identifier has another home, docs/recognition.md) tells both homes,
 * so that the operators of each learn that the person or organization has an account with both.
 * - `sendConflictNotices`: best effort, bounded; the conflict stays listed where it is kept.
 * - `conflictNoticeEndpoint`, at every OP: `POST /registry/conflict-notices` {kind, identifier,
 *   home, existing_home} from a federation OP (entity assertion), for a conflict that names this
 *   OP as one of the homes; written to the audit log as `registry.conflict_reported` (with this
 *   OP's blind index of the identifier, never the identifier itself) and logged as an error.
 */
import type Koa from 'koa';
import { z } from 'zod';
import { recordAudit } from '../infra/audit-log.ts';
import type { BlindIndex } from '../infra/crypto.ts';
import type { Database } from '../infra/database.ts';
import { verifyEntityAssertion, type EntityKeyResolver } from '../infra/entity-assertion.ts';
import type { PrivateJwk } from '../infra/entity-keys.ts';
import { postAsEntity } from '../infra/entity-request.ts';
import { Forbidden, HttpError } from '../infra/errors.ts';
import type { KeyValueStore } from '../infra/key-value-store.ts';
import type { Logger } from '../infra/log.ts';
import { validate } from '../infra/validation.ts';
import { answerRegistryError, readRegistryJson } from './registry-endpoints.ts';
import { HOME_KINDS, identifierIndex } from './registry-of-homes.ts';
import type { Publication } from './registry-outbox.ts';

export const CONFLICT_NOTICE_PATH = '/registry/conflict-notices';
const TIMEOUT_MS = 3000;

const entityId = z.url({ protocol: /^https?$/ }).max(512);
const noticeBody = z
  .object({ kind: z.enum(HOME_KINDS), identifier: z.string().min(1).max(64), home: entityId, existing_home: entityId })
  .strict();

/** Tells both homes of a conflict kept by `self` (a home that is `self` has it in its own audit log already). */
export async function sendConflictNotices(
  p: Publication,
  existingHome: string,
  sender: { self: string; signingKey: () => PrivateJwk; log: Logger },
): Promise<void> {
  const homes = [...new Set([p.home, existingHome])].filter((home) => home !== sender.self);
  await Promise.all(
    homes.map(async (to) => {
      try {
        const { status } = await postAsEntity({
          from: sender.self,
          key: sender.signingKey(),
          to,
          path: CONFLICT_NOTICE_PATH,
          body: { kind: p.kind, identifier: p.identifier, home: p.home, existing_home: existingHome },
          timeoutMs: TIMEOUT_MS,
        });
        if (status !== 204) throw new Error(`answered ${status}`);
      } catch (err) {
        sender.log.warn('a home was not told of a registry conflict (it stays listed here)', { to, error: (err as Error).message });
      }
    }),
  );
}

export interface ConflictNoticeOptions {
  self: string;
  db: Database;
  blindIndex: BlindIndex;
  resolveCallerKeys: EntityKeyResolver;
  kv: KeyValueStore;
  log: Logger;
}

/** The receiving side; other requests pass through to `next`. */
export function conflictNoticeEndpoint(opts: ConflictNoticeOptions): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== CONFLICT_NOTICE_PATH) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      if (ctx.method !== 'POST') {
        ctx.set('Allow', 'POST');
        throw new HttpError(405, 'invalid_request', 'use POST');
      }
      const caller = await verifyEntityAssertion(ctx.get('authorization'), {
        audience: opts.self,
        resolveKeys: opts.resolveCallerKeys,
        replay: opts.kv,
      });
      const body = validate(noticeBody, await readRegistryJson(ctx));
      if (body.home !== opts.self && body.existing_home !== opts.self)
        throw new Forbidden('not_a_home', `the conflict does not name ${opts.self} as a home`);
      const detail = {
        kind: body.kind,
        identifier_index: identifierIndex(opts.blindIndex, body.kind, body.identifier),
        home: body.home,
        existing_home: body.existing_home,
        reported_by: caller,
      };
      await recordAudit(opts.db, { event: 'registry.conflict_reported', detail });
      opts.log.error(
        'registry conflict reported: a person or organization registered here has another home (listed by gov-id admin account conflicts at the reporter)',
        {
          kind: body.kind,
          home: body.home,
          existing_home: body.existing_home,
          reported_by: caller,
        },
      );
      ctx.status = 204;
    } catch (err) {
      answerRegistryError(ctx, err, opts.log);
    }
  };
}
