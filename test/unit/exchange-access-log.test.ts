/**
 * services/exchange/access-log.ts on a schema migrated with the `common` and `services` sets:
 * entries chained and signed per entry by the node's federation key, read by whose data they are,
 * append-only in the database, and every kind of tampering found by verifyAccessLog.
 */
import test from 'ava';
import { CompactSign, importJWK } from 'jose';
import { migrate } from '../../infra/migrate.ts';
import { EntityKeyRing } from '../../infra/entity-key-ring.ts';
import { publicJwk } from '../../infra/entity-keys.ts';
import { FieldCipher } from '../../infra/crypto.ts';
import {
  AccessLog,
  entryHash,
  verifyAccessLog,
  type AccessEntry,
  type AccessRecord,
  type LogKey,
} from '../../services/exchange/access-log.ts';
import { databaseEngines, forEngines, type DatabaseEngine } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('exchange_log');
test.after.always(cleanup);

const NODE = 'http://127.0.0.1:7920';

function entry(n: number, over: Partial<AccessEntry> = {}): Omit<AccessEntry, 'at'> {
  return {
    request_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    role: 'holder',
    requester: 'http://127.0.0.1:7320',
    holder: NODE,
    client_id: 'http://127.0.0.1:7310',
    subject_kind: 'natural',
    subject_index: n % 2 ? 'index-a' : 'index-b',
    dataset: 'population-facts',
    attributes: ['name'],
    purpose: 'permit-application',
    item: 'ITEM1',
    case: null,
    consent: { issuer: 'http://127.0.0.1:7300', id: `consent-${n}` },
    result: 'served',
    reason: null,
    ...over,
  };
}

async function nodeLog(engine: DatabaseEngine) {
  const db = await engine.open('unit_exchange_log');
  await migrate(db, ['common', 'services']);
  const keys = await EntityKeyRing.open(db, new FieldCipher(Buffer.alloc(32, 7)));
  return { db, keys, log: new AccessLog(db, NODE, keys) };
}

forEngines(engines, 'entries form a signed chain, are read by whose data they are, and cannot be changed or removed', async (t, engine) => {
  const { db, keys, log } = await nodeLog(engine);
  for (let n = 1; n <= 11; n++) await log.append(entry(n, n === 4 ? { result: 'refused', reason: 'consent_revoked', consent: null } : {}));
  const all = await log.all();
  t.deepEqual(
    all.map((r) => r.seq),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    'in order as numbers, past ten',
  );
  t.is(all[0]!.prev_hash, 'genesis');
  t.is(all[1]!.prev_hash, all[0]!.hash);
  t.deepEqual(
    (await log.ofSubject('index-a')).map((r) => r.seq),
    [11, 9, 7, 5, 3, 1],
    'newest first, only that subject',
  );
  const published = [publicJwk(keys.signingKey()) as LogKey];
  t.like(await verifyAccessLog(all, NODE, published), { entries: 11, intact: true, broken_at: null });
  t.like(
    await verifyAccessLog(all, 'http://127.0.0.1:9999', published),
    { intact: false, broken_at: 1, problem: 'signature_invalid' },
    'signed as this node',
  );

  await t.throwsAsync(db.query(`UPDATE exchange_access_log SET entry = entry || '{"result":"served"}' WHERE seq = 4`), {
    message: /append-only/,
  });
  await t.throwsAsync(db.query('DELETE FROM exchange_access_log WHERE seq = 2'), { message: /append-only/ });
  await t.throwsAsync(db.query('TRUNCATE exchange_access_log'), { message: /append-only/ });
  t.is((await log.all()).length, 11);
});

forEngines(engines, 'a changed, removed, reordered, re-signed or foreign-signed entry is found', async (t, engine) => {
  const { keys, log } = await nodeLog(engine);
  for (let n = 1; n <= 4; n++) await log.append(entry(n));
  const all = await log.all();
  const published = [publicJwk(keys.signingKey()) as LogKey];
  const check = (records: AccessRecord[]) => verifyAccessLog(records, NODE, published);

  const edited = structuredClone(all);
  edited[2]!.entry.result = 'refused';
  t.like(await check(edited), { intact: false, broken_at: 3, problem: 'hash_mismatch' }, 'an edited entry');

  // The edit with its hash recomputed: the next entry no longer links to it, and its signature is for the old hash.
  const rehashed = structuredClone(edited);
  rehashed[2]!.hash = entryHash(rehashed[2]!.prev_hash, 3, rehashed[2]!.entry);
  t.like(await check(rehashed), { intact: false, broken_at: 3, problem: 'signature_invalid' });

  t.like(await check([all[0]!, all[2]!, all[3]!]), { intact: false, broken_at: 3, problem: 'sequence_gap' }, 'a removed entry');
  t.like(
    await check([all[0]!, { ...all[2]!, seq: 2 }, { ...all[1]!, seq: 3 }, all[3]!]),
    { intact: false, broken_at: 2, problem: 'chain_broken' },
    'two entries swapped',
  );

  // Signed with a key that is not the node's.
  const jwk = (await nodeLog(engine)).keys.signingKey();
  const forged = structuredClone(all);
  forged[1]!.signature = await new CompactSign(new TextEncoder().encode(JSON.stringify({ iss: NODE, seq: 2, hash: all[1]!.hash })))
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'access-log-entry+jwt' })
    .sign(await importJWK(jwk, jwk.alg));
  t.like(await check(forged), { intact: false, broken_at: 2, problem: 'unknown_key' });

  // A retired key signed only the entries of its time (historical keys carry iat and exp).
  const retired = { ...published[0]!, iat: 0, exp: Math.floor(Date.parse(all[0]!.entry.at) / 1000) - 1 };
  t.like(await verifyAccessLog(all, NODE, [retired]), { intact: false, broken_at: 1, problem: 'key_not_valid_then' });
});
