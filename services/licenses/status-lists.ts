/**
 * The issuer's token status lists (draft-ietf-oauth-status-list): every licence gets a random
 * free slot of the current list when it is issued (random, so a slot's neighbours say nothing
 * about who holds it), and the list is served as a `statuslist+jwt` signed with the entity's
 * federation key. A signed token is kept for a few seconds, and dropped here at once when a
 * status of the list changes.
 */
import { randomInt } from 'node:crypto';
import { createHeaderAndPayload, StatusList } from '@sd-jwt/jwt-status-list';
import type { Database, Queryable } from '../../infra/database.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { NotFound } from '../../infra/errors.ts';
import { STATUS, STATUS_BITS, STATUS_LIST_TYP } from './license-format.ts';
import { signer } from './jws.ts';

export const STATUS_LIST_PATH = '/licenses/status-lists';
/** Slots per list; a new list starts when half are taken, so a random probe finds a free one at once. */
const CAPACITY = 65_536;
/** What a verifier may keep a token before asking again (its `ttl`), and how long the token is valid at all. */
export const STATUS_LIST_TTL_SECONDS = 30;
const TOKEN_LIFETIME_SECONDS = 3600;
/** How long a signed token is served as it is (several instances behind a proxy each sign their own). */
const SERVE_CACHE_MS = 5_000;

export interface Slot {
  list: number;
  idx: number;
  uri: string;
}

export class StatusLists {
  readonly #served = new Map<number, { token: string; at: number }>();

  constructor(
    private readonly db: Database,
    private readonly self: string,
    private readonly signingKey: () => PrivateJwk,
  ) {}

  uri(list: number): string {
    return `${this.self}${STATUS_LIST_PATH}/${list}`;
  }

  /** The list to take a slot from, inside the issuing transaction (its row lock orders issuers). */
  private async currentList(tx: Queryable): Promise<number> {
    const take = async () =>
      (
        await tx.query<{ id: number }>(
          'UPDATE license_status_lists SET used = used + 1 WHERE id = (SELECT max(id) FROM license_status_lists) AND used < capacity / 2 RETURNING id',
        )
      ).rows[0]?.id;
    const taken = await take();
    if (taken !== undefined) return taken;
    // One issuer starts the next list; the others wait for it and take from it.
    await tx.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':license-status-lists'))");
    const after = await take();
    if (after !== undefined) return after;
    const created = await tx.query<{ id: number }>(
      `INSERT INTO license_status_lists (id, capacity, used)
       SELECT coalesce(max(id), 0) + 1, $1, 1 FROM license_status_lists RETURNING id`,
      [CAPACITY],
    );
    return created.rows[0]!.id;
  }

  /** A free slot: `claim` inserts the licence with it in `tx`, false when the slot turned out taken. */
  async takeSlot(tx: Queryable, claim: (slot: Slot) => Promise<boolean>): Promise<Slot> {
    const list = await this.currentList(tx);
    for (;;) {
      const slot = { list, idx: randomInt(CAPACITY), uri: this.uri(list) };
      if (await claim(slot)) return slot;
    }
  }

  /** A status of `list` changed: serve a fresh token from now on. */
  changed(list: number): void {
    this.#served.delete(list);
  }

  /** The signed status list token of `list`; NotFound when there is no such list. */
  async token(list: number): Promise<string> {
    const held = this.#served.get(list);
    if (held && Date.now() - held.at < SERVE_CACHE_MS) return held.token;
    const { rows } = await this.db.query<{ capacity: number }>('SELECT capacity FROM license_status_lists WHERE id = $1', [list]);
    if (!rows[0]) throw new NotFound(`no status list ${list}`);
    const slots = new StatusList(new Array<number>(rows[0].capacity).fill(STATUS.valid), STATUS_BITS);
    const changed = await this.db.query<{ status_idx: number; state: keyof typeof STATUS }>(
      "SELECT status_idx, state FROM licenses WHERE status_list = $1 AND state <> 'valid'",
      [list],
    );
    for (const r of changed.rows) slots.setStatus(r.status_idx, STATUS[r.state]);
    const key = this.signingKey();
    const iat = Math.floor(Date.now() / 1000);
    const { header, payload } = createHeaderAndPayload(
      slots,
      { iss: this.self, sub: this.uri(list), iat, exp: iat + TOKEN_LIFETIME_SECONDS, ttl: STATUS_LIST_TTL_SECONDS },
      { alg: key.alg, kid: key.kid, typ: STATUS_LIST_TYP },
    );
    const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const token = `${signingInput}.${signer(key)(signingInput)}`;
    this.#served.set(list, { token, at: Date.now() });
    return token;
  }
}
