/**
 * The registry of homes (federation/registry-of-homes.ts) and its outbox of publications upward
 * (federation/registry-outbox.ts), on a schema migrated with the `common` and `idp` sets, on the
 * embedded PGlite (always) and on PostgreSQL (when DATABASE_URL is set). The HTTP side is tested
 * end to end through the hosts.
 */
import test from 'ava';
import { lineText, recordingLogger, type LogLine } from '../helpers/recording-logger.ts';
import { randomBytes } from 'node:crypto';
import { BlindIndex, FieldCipher } from '../../infra/crypto.ts';
import type { Database } from '../../infra/database.ts';
import { InvalidIdentifier, InvalidUscc } from '../../infra/identifiers.ts';
import { migrate } from '../../infra/migrate.ts';
import { HomeConflict, HomeRegistry, type HomeKind } from '../../federation/registry-of-homes.ts';
import {
  enqueueRegistryPublication,
  listRegistryConflicts,
  RegistryPublisher,
  type Publication,
} from '../../federation/registry-outbox.ts';
import { readAudit } from '../../infra/audit-log.ts';
import { randomDraw, syntheticIdNumber } from '../../services/population/synthetic-persons.ts';
import { syntheticUscc } from '../../services/legal-persons/synthetic-organizations.ts';
import { databaseEngines, forEngines, type DatabaseEngine } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('registry');
test.after.always(cleanup);

const GZ = 'https://gz.example.gov.cn';
const SZ = 'https://sz.example.gov.cn';
const GD = 'https://gd.example.gov.cn';
const JS = 'https://js.example.gov.cn';

const keys = { cipher: new FieldCipher(randomBytes(32)), blindIndex: new BlindIndex(randomBytes(32)) };

async function registryDb(engine: DatabaseEngine): Promise<Database> {
  const db = await engine.open('unit_registry');
  await migrate(db, ['common', 'idp']);
  return db;
}

const newId = () => syntheticIdNumber(randomDraw);
const newUscc = () => syntheticUscc(randomDraw);

function publisher(db: Database, deliver: (p: Publication) => Promise<void>, lines: LogLine[] = []): RegistryPublisher {
  return new RegistryPublisher({ db, cipher: keys.cipher, deliver, log: recordingLogger(lines) });
}

/** The database's clock, in seconds. */
async function dbNow(db: Database): Promise<number> {
  const { rows } = await db.query<{ now: number }>('SELECT extract(epoch FROM now())::float8 AS now');
  return rows[0]!.now;
}

/**
 * Runs a flush and returns the backoff it set, as bounds: the next attempt measured from just
 * before and just after the flush (a slow machine widens the bounds, never breaks them).
 */
async function backoffOf(db: Database, flush: () => Promise<unknown>): Promise<{ min: number; max: number }> {
  const before = await dbNow(db);
  await flush();
  const after = await dbNow(db);
  const { rows } = await db.query<{ next: number }>('SELECT extract(epoch FROM next_attempt_at)::float8 AS next FROM registry_outbox');
  return { min: rows[0]!.next - after, max: rows[0]!.next - before };
}

const within = (b: { min: number; max: number }, seconds: number) => b.min <= seconds && seconds <= b.max;

async function outbox(db: Database) {
  const { rows } = await db.query<{
    kind: HomeKind;
    home: string;
    previous_home: string | null;
    attempts: number;
    next_attempt_at: Date;
    last_error: string | null;
    identifier_enc: string;
    later: boolean;
  }>(
    'SELECT kind, home, previous_home, attempts, next_attempt_at, last_error, identifier_enc, next_attempt_at > now() AS later FROM registry_outbox ORDER BY id',
  );
  return rows;
}

forEngines(engines, 'a recorded home is found by its identifier, stored only as a blind index', async (t, engine) => {
  const db = await registryDb(engine);
  const registry = new HomeRegistry(db, keys.blindIndex);
  const person = newId();
  const org = newUscc();
  t.is(await db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: GZ, via: GD })), 'recorded');
  t.is(await db.transaction((tx) => registry.record(tx, { kind: 'legal', identifier: org.toLowerCase(), home: SZ, via: GD })), 'recorded');

  t.is(await registry.lookup('natural', person), GZ);
  t.is(await registry.lookup('legal', org), SZ, 'identifiers are normalized (upper case)');
  t.is(await registry.lookup('natural', newId()), null);

  const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM home_registry ORDER BY kind');
  t.deepEqual(
    rows.map((r) => [r.kind, r.blind_index, r.home, r.via]),
    [
      ['legal', registry.indexOf('legal', org), SZ, GD],
      ['natural', registry.indexOf('natural', person), GZ, GD],
    ],
  );
  t.false(JSON.stringify(rows).includes(person) || JSON.stringify(rows).includes(org), 'no identifier in clear');
  t.not(
    registry.indexOf('natural', person),
    new HomeRegistry(db, new BlindIndex(randomBytes(32))).indexOf('natural', person),
    "each broker's index is its own",
  );
});

forEngines(engines, 'the same home again is unchanged; another home is a conflict naming the existing one', async (t, engine) => {
  const db = await registryDb(engine);
  const registry = new HomeRegistry(db, keys.blindIndex);
  const person = newId();
  await db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: GZ, via: GD }));
  t.is(await db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: GZ, via: GD })), 'unchanged');

  const conflict = await t.throwsAsync(
    db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: SZ, via: GD })),
    { instanceOf: HomeConflict },
  );
  t.is(conflict.home, GZ);
  t.false(conflict.message.includes(person));
  const wrongPrevious = await t.throwsAsync(
    db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: SZ, via: GD, previousHome: JS })),
    { instanceOf: HomeConflict },
  );
  t.is(wrongPrevious.home, GZ, 'a move away from a home that is not the current one is refused');
  t.is(await registry.lookup('natural', person), GZ);

  // Kinds are separate spaces.
  t.is(await db.transaction((tx) => registry.record(tx, { kind: 'legal', identifier: newUscc(), home: SZ, via: GD })), 'recorded');
});

forEngines(engines, 'a relocation from the current home moves the entry; its redelivery is unchanged', async (t, engine) => {
  const db = await registryDb(engine);
  const registry = new HomeRegistry(db, keys.blindIndex);
  const person = newId();
  await db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: GZ, via: GD }));
  t.is(
    await db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: JS, via: JS, previousHome: GZ })),
    'moved',
  );
  t.is(await registry.lookup('natural', person), JS);
  const { rows } = await db.query<{ via: string; moved: boolean }>('SELECT via, updated_at > registered_at AS moved FROM home_registry');
  t.deepEqual(rows, [{ via: JS, moved: true }]);
  t.is(
    await db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: JS, via: JS, previousHome: GZ })),
    'unchanged',
  );
  // A move of an identifier this registry never saw records it.
  t.is(
    await db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: newId(), home: JS, via: JS, previousHome: GZ })),
    'recorded',
  );
});

forEngines(engines, 'concurrent first publications of one identifier: one home wins, the other is a conflict', async (t, engine) => {
  const db = await registryDb(engine);
  const other = await engine.reopen(db.schema);
  const registry = new HomeRegistry(db, keys.blindIndex);
  const person = newId();
  const results = await Promise.allSettled([
    db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: person, home: GZ, via: GD })),
    other.transaction((tx) =>
      new HomeRegistry(other, keys.blindIndex).record(tx, { kind: 'natural', identifier: person, home: SZ, via: GD }),
    ),
  ]);
  const recorded = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.deepEqual(
    recorded.map((r) => r.value),
    ['recorded'],
  );
  t.is(refused.length, 1);
  t.true(refused[0]!.reason instanceof HomeConflict);
  t.is(await registry.lookup('natural', person), (refused[0]!.reason as HomeConflict).home);
});

forEngines(engines, 'invalid identifiers are refused before anything is stored', async (t, engine) => {
  const db = await registryDb(engine);
  const registry = new HomeRegistry(db, keys.blindIndex);
  await t.throwsAsync(
    db.transaction((tx) => registry.record(tx, { kind: 'natural', identifier: '123', home: GZ, via: GD })),
    { instanceOf: InvalidIdentifier },
  );
  await t.throwsAsync(registry.lookup('legal', 'not-a-uscc'), { instanceOf: InvalidUscc });
  await t.throwsAsync(
    db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: '110105194912310020', home: GZ })),
    { instanceOf: InvalidIdentifier },
  );
  t.deepEqual((await db.query('SELECT 1 FROM home_registry UNION ALL SELECT 1 FROM registry_outbox')).rows, []);
});

forEngines(engines, 'a publication commits or rolls back with the transaction that enqueued it, encrypted at rest', async (t, engine) => {
  const db = await registryDb(engine);
  const registry = new HomeRegistry(db, keys.blindIndex);
  const person = newId();
  await t.throwsAsync(
    db.transaction(async (tx) => {
      await registry.record(tx, { kind: 'natural', identifier: person, home: GZ, via: GD });
      await enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: GZ });
      throw new Error('the account could not be created');
    }),
    { message: 'the account could not be created' },
  );
  t.deepEqual(await outbox(db), []);
  t.is(await registry.lookup('natural', person), null);

  await db.transaction((tx) =>
    enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person.toLowerCase(), home: SZ, previousHome: GZ }),
  );
  const rows = await outbox(db);
  t.is(rows.length, 1);
  t.like(rows[0], { kind: 'natural', home: SZ, previous_home: GZ, attempts: 0, last_error: null, later: false });
  t.false(rows[0]!.identifier_enc.includes(person));
  t.is(keys.cipher.decrypt(rows[0]!.identifier_enc, 'registry_outbox.identifier'), person);
});

forEngines(engines, 'flush delivers every due publication once and deletes it', async (t, engine) => {
  const db = await registryDb(engine);
  const person = newId();
  const org = newUscc();
  await db.transaction(async (tx) => {
    await enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: GZ });
    await enqueueRegistryPublication(tx, keys, { kind: 'legal', identifier: org, home: SZ, previousHome: GZ });
  });
  const delivered: Publication[] = [];
  const p = publisher(db, async (pub) => void delivered.push(pub));
  t.is(await p.flush(), 2);
  t.deepEqual(
    delivered.sort((a, b) => a.kind.localeCompare(b.kind)),
    [
      { kind: 'legal', identifier: org, home: SZ, previousHome: GZ },
      { kind: 'natural', identifier: person, home: GZ, previousHome: null },
    ],
  );
  t.deepEqual(await outbox(db), []);
  t.is(await p.flush(), 0);
  t.is(delivered.length, 2);
});

forEngines(
  engines,
  'a failed delivery keeps the row, counts the attempt and backs off; the identifier is never logged',
  async (t, engine) => {
    const db = await registryDb(engine);
    const person = newId();
    await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: GZ }));
    const lines: LogLine[] = [];
    let calls = 0;
    const failing = publisher(
      db,
      async () => {
        calls++;
        throw new Error(`${SZ} answered 503`);
      },
      lines,
    );

    const firstWait = await backoffOf(db, async () => t.is(await failing.flush(), 0));
    let [row] = await outbox(db);
    t.like(row, { attempts: 1 });
    t.regex(row!.last_error!, /^Error: .*sz\.example/);
    t.true(within(firstWait, 1), `one second after the first failure (${JSON.stringify(firstWait)})`);

    // A row not yet due is left alone (pushed well out, so that a slow machine cannot make it due).
    await db.query("UPDATE registry_outbox SET next_attempt_at = now() + interval '1 hour'");
    t.is(await failing.flush(), 0, 'not due again yet');
    t.is(calls, 1);

    await db.query('UPDATE registry_outbox SET next_attempt_at = now()');
    const secondWait = await backoffOf(db, async () => t.is(await failing.flush(), 0));
    [row] = await outbox(db);
    t.like(row, { attempts: 2 });
    t.is(calls, 2);
    t.true(within(secondWait, 2), `two seconds after the second (${JSON.stringify(secondWait)})`);

    await db.query('UPDATE registry_outbox SET attempts = 40, next_attempt_at = now()');
    const capped = await backoffOf(db, () => failing.flush());
    t.true(within(capped, 300), `backoff is capped at five minutes (${JSON.stringify(capped)})`);

    t.true(lines.length >= 3 && lines.every((l) => !lineText(l).includes(person)), 'failures are logged, without the identifier');

    await db.query('UPDATE registry_outbox SET next_attempt_at = now()');
    const delivered: Publication[] = [];
    t.is(await publisher(db, async (pub) => void delivered.push(pub)).flush(), 1);
    t.deepEqual(delivered, [{ kind: 'natural', identifier: person, home: GZ, previousHome: null }]);
    t.deepEqual(await outbox(db), []);
  },
);

forEngines(engines, 'the publications of one identifier are delivered in order, even across failures', async (t, engine) => {
  const db = await registryDb(engine);
  const person = newId();
  const bystander = newId();
  await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: GZ }));
  await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: JS, previousHome: GZ }));
  await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: bystander, home: SZ }));

  const delivered: Publication[] = [];
  const superiorDownForGz = publisher(db, async (pub) => {
    if (pub.home === GZ) throw new Error('superior unreachable');
    delivered.push(pub);
  });
  t.is(await superiorDownForGz.flush(), 1);
  t.deepEqual(
    delivered.map((p) => p.identifier),
    [bystander],
    'the move waits for the registration it moves; others do not wait',
  );

  await db.query('UPDATE registry_outbox SET next_attempt_at = now()');
  t.is(await publisher(db, async (pub) => void delivered.push(pub)).flush(), 2);
  t.deepEqual(
    delivered.slice(1).map((p) => [p.home, p.previousHome]),
    [
      [GZ, null],
      [JS, GZ],
    ],
  );
});

forEngines(engines, 'concurrent flushes (two publishers, two connections) never deliver a row twice', async (t, engine) => {
  const db = await registryDb(engine);
  const other = await engine.reopen(db.schema);
  const identifiers = Array.from({ length: 45 }, newId);
  await db.transaction(async (tx) => {
    for (const identifier of identifiers) await enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier, home: GZ });
    // Three publications of one identifier, in order.
    await enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: identifiers[0]!, home: SZ, previousHome: GZ });
    await enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: identifiers[0]!, home: JS, previousHome: SZ });
  });
  const seen = new Map<string, number>();
  const sequence: string[] = [];
  const deliver = async (p: Publication) => {
    const key = `${p.identifier} ${p.home}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (p.identifier === identifiers[0]) sequence.push(p.home);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
  };
  const counts = await Promise.all([publisher(db, deliver).flush(), publisher(other, deliver).flush(), publisher(db, deliver).flush()]);
  t.is(
    counts.reduce((a, b) => a + b, 0),
    47,
  );
  t.is(seen.size, 47);
  t.true(
    [...seen.values()].every((n) => n === 1),
    'each publication was delivered exactly once',
  );
  t.deepEqual(sequence, [GZ, SZ, JS]);
  t.deepEqual(await outbox(db), []);
});

forEngines(engines, 'kick delivers soon without a flush call; stop waits for the pass under way', async (t, engine) => {
  const db = await registryDb(engine);
  let resolveDelivered!: (p: Publication) => void;
  const delivered = new Promise<Publication>((resolve) => (resolveDelivered = resolve));
  const p = publisher(db, async (pub) => resolveDelivered(pub));
  const person = newId();
  await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: GZ }));
  p.kick();
  p.kick();
  t.is((await delivered).identifier, person);
  await p.stop();
  t.deepEqual(await outbox(db), []);

  p.kick();
  await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: newId(), home: GZ }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is((await outbox(db)).length, 1, 'a stopped publisher delivers nothing');
});

forEngines(engines, "a lease left by a dead publisher is reclaimed at once; a live one's is respected", async (t, engine) => {
  const db = await registryDb(engine);
  const person = newId();
  await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: GZ }));
  const delivered: Publication[] = [];
  const restarted = publisher(db, async (pub) => void delivered.push(pub));

  // Another process leased the row for a long time and is alive: its lease stands.
  const deadOwner = '4242424242';
  await db.query("UPDATE registry_outbox SET lease_owner = $1, next_attempt_at = now() + interval '1 hour'", [deadOwner]);
  if (engine.name === 'postgres') {
    const peer = await engine.reopen(db.schema);
    const release = await peer.holdSessionLock(deadOwner);
    t.is(await restarted.flush(), 0, "a live peer's lease is respected");
    await release();
  }
  // It died (its connection, and the lock with it; on the embedded engine no other process can hold the data).
  // The server ends the dead connection's session on its own time: poll, far within the hour-long lease.
  let reclaimed = 0;
  for (let i = 0; i < 200 && !reclaimed; i++) {
    reclaimed = await restarted.flush();
    if (!reclaimed) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is(reclaimed, 1, 'reclaimed at once, not after the lease');
  t.is(delivered[0]?.identifier, person);
  t.deepEqual(await outbox(db), []);

  // A row under delivery by a live publisher of this process is not taken from it.
  await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: SZ, previousHome: GZ }));
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let claimed!: () => void;
  const claimedSignal = new Promise<void>((resolve) => (claimed = resolve));
  const slow = publisher(db, async () => {
    claimed();
    await held;
  });
  const slowPass = slow.flush();
  await claimedSignal;
  t.is(await restarted.flush(), 0, 'leased by a live publisher');
  release();
  t.is(await slowPass, 1);
});

forEngines(
  engines,
  'a publication refused for another home is kept as a conflict, audited, not retried, and settled by a later one',
  async (t, engine) => {
    const db = await registryDb(engine);
    const person = newId();
    await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: GZ }));
    let calls = 0;
    const refusing = publisher(db, async () => {
      calls++;
      throw new HomeConflict(JS);
    });
    t.is(await refusing.flush(), 0);
    await db.query('UPDATE registry_outbox SET next_attempt_at = now()');
    t.is(await refusing.flush(), 0);
    t.is(calls, 1, 'a conflict is not retried');

    const conflicts = await listRegistryConflicts(db, keys.cipher);
    t.like(conflicts, [{ kind: 'natural', identifier: person, home: GZ, previous_home: null, existing_home: JS }]);
    const audit = await readAudit(db, 10);
    t.like(audit.find((e) => e.event === 'registry.conflict')?.detail, { kind: 'natural', home: GZ, existing_home: JS });
    t.false(JSON.stringify(audit).includes(person), 'the audit log never holds the identifier');

    // Resolved by closing the duplicate at GZ in favour of JS: that publication is not held back by the conflict.
    await db.transaction((tx) => enqueueRegistryPublication(tx, keys, { kind: 'natural', identifier: person, home: JS, previousHome: GZ }));
    const delivered: Publication[] = [];
    t.is(await publisher(db, async (pub) => void delivered.push(pub)).flush(), 1);
    t.deepEqual(delivered, [{ kind: 'natural', identifier: person, home: JS, previousHome: GZ }]);
    t.deepEqual(await listRegistryConflicts(db, keys.cipher), []);
    t.deepEqual(await outbox(db), []);
    t.true((await readAudit(db, 10)).some((e) => e.event === 'registry.conflict_resolved'));
  },
);
