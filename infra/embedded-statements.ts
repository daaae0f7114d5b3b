/**
 * Statements on the embedded PGlite as named prepared statements, each sent as one batch.
 *
 * PGlite's own `query` parses, describes, binds, describes, executes and syncs a statement in six
 * calls into WebAssembly, and PostgreSQL parses, analyzes and plans it anew every time. Planning
 * dominates: a refresh token read with its grant and account costs about 560 µs of CPU that way
 * and about 110 µs as a prepared statement (measured in a PGlite of 6,000 tokens). So each
 * statement text is prepared once per schema (Parse with a name), and every use after is a single
 * batch: Bind, Describe, Execute, Sync. PostgreSQL's plan cache then decides, as for any prepared
 * statement, between a plan per execution and a generic one (plan_cache_mode `auto`).
 *
 * Parameters are converted as `pg` converts them for PostgreSQL (its `prepareValue`), not by the
 * parameter's inferred type as PGlite's `query` does, so a statement's parameters mean the same
 * on both engines. Results are parsed by PGlite's own parsers, as before.
 */
import { createRequire } from 'node:module';
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { QueryResult } from './database.ts';

const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as {
  /** What `pg` sends for a JS value: a string, a Buffer (sent in binary) or null. */
  prepareValue(value: unknown): string | Buffer | null;
};

/**
 * Prepared statements kept per PGlite at most. One is a parse tree and a plan or two in the
 * engine's memory; the whole demo federation in one process prepares about 200. Past this the
 * least recently used one is closed.
 */
const MAX_PREPARED_STATEMENTS = 2_000;

/** SQLSTATE 0A000 as PostgreSQL raises it when a table changed the shape of a prepared SELECT's rows. */
const PLAN_SHAPE_CHANGED = /cached plan must not change result type/;

export class EmbeddedStatements {
  /** `schema \0 sql` → the statement's name, in least- to most-recently used order. */
  private readonly names = new Map<string, string>();
  /** Names to close with the next batch: evicted, or left uncertain or stale by an error. */
  private readonly closing: string[] = [];
  private lastNumber = 0;

  constructor(
    private readonly db: PGlite,
    private readonly max = MAX_PREPARED_STATEMENTS,
  ) {}

  /**
   * Runs `sql` with `params` in the schema `search_path` names now. The caller serializes all use
   * of the PGlite (one statement or transaction at a time), as the embedded engine's queue does.
   */
  async run<R>(schema: string, sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const key = `${schema}\0${sql}`;
    const known = this.names.get(key);
    // A name is never reused: a statement whose Parse may or may not have happened is closed, not taken again.
    const name = known ?? `gov_id_${++this.lastNumber}`;
    if (known) this.names.delete(key);
    else if (this.names.size >= this.max) this.evictLeastRecentlyUsed();
    const messages = this.closing.splice(0).map((old) => protocol.serialize.close({ type: 'S', name: old }));
    if (!known) messages.push(protocol.serialize.parse({ name, text: sql }));
    messages.push(
      protocol.serialize.bind({ statement: name, values: params.map(prepareValue) }),
      protocol.serialize.describe({ type: 'P' }),
      protocol.serialize.execute({}),
      protocol.serialize.sync(),
    );
    let results;
    try {
      results = await this.db.execProtocolStream(concat(messages), {});
    } catch (err) {
      // A new statement may have been prepared before the error; a known one may have gone stale.
      if (!known || PLAN_SHAPE_CHANGED.test(String((err as Error).message))) this.closing.push(name);
      else this.names.set(key, name);
      throw err;
    }
    this.names.set(key, name);
    const [result] = parse.parseResults(results, this.db.parsers);
    const rows = (result?.rows ?? []) as R[];
    return { rows, rowCount: result?.affectedRows ?? rows.length };
  }

  /**
   * A command that takes no parameters and returns no rows (BEGIN, COMMIT, ROLLBACK, SET), as one
   * Query message. PGlite's `exec` adds its own queue, a file-system sync and a parse of the
   * results to the same call: about 50 µs more each time, measured in a loop. The caller
   * serializes, as for `run`.
   */
  async control(sql: string): Promise<void> {
    await this.db.execProtocolStream(protocol.serialize.query(sql), {});
  }

  private evictLeastRecentlyUsed() {
    const [key, name] = this.names.entries().next().value!;
    this.names.delete(key);
    this.closing.push(name);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
