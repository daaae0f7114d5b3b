/**
 * services/exchange/log-bundle.ts: an exported access log verifies with the node's keys as its
 * trust chain gives them plus its signed historical keys, so entries signed before a key rotation
 * still verify; a bundle whose historical keys, own signature or chain do not hold is refused.
 */
import test from 'ava';
import { migrate } from '../../infra/migrate.ts';
import { EntityKeyRing } from '../../infra/entity-key-ring.ts';
import { publicJwk } from '../../infra/entity-keys.ts';
import { FieldCipher } from '../../infra/crypto.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { AccessLog, type AccessEntry } from '../../services/exchange/access-log.ts';
import { exportLog, verifyLogBundle, type ChainValidator, type LogBundle } from '../../services/exchange/log-bundle.ts';
import { databaseEngines } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('exchange_bundle');
test.after.always(cleanup);

const NODE = 'http://127.0.0.1:7920';

const entry = (n: number): Omit<AccessEntry, 'at'> => ({
  request_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  role: 'requester',
  requester: NODE,
  holder: 'http://127.0.0.1:7120',
  client_id: null,
  subject_kind: 'legal',
  subject_index: 'index',
  dataset: 'legal-person-facts',
  attributes: ['org_name'],
  purpose: 'tax-filing',
  item: null,
  case: 'GZ-1',
  consent: null,
  result: 'refused',
  reason: 'no_record',
});

test('entries signed before a rotation verify through the historical keys; a broken bundle is refused', async (t) => {
  const db = await engines[0]!.open('unit_exchange_bundle');
  await migrate(db, ['common', 'services']);
  const keyRing = await EntityKeyRing.open(db, new FieldCipher(Buffer.alloc(32, 3)));
  const log = new AccessLog(db, NODE, keyRing);
  const runtime = { self: { url: NODE }, keyRing } as unknown as EntityRuntime;
  await log.append(entry(1));
  await log.append(entry(2));
  const before = keyRing.signingKey().kid;
  // The next key signs at once; the old one is no longer published, only historical.
  await keyRing.rotate(0, 0);
  await log.append(entry(3));
  t.not(keyRing.signingKey().kid, before);

  // As the node's trust chain would give them: its published keys only.
  const validator: ChainValidator = async () => ({
    subject: NODE,
    keys: keyRing.published().map(publicJwk),
    trustAnchor: 'http://127.0.0.1:7000',
  });
  const bundle = await exportLog(runtime, log, ['chain']);
  t.like(await verifyLogBundle(bundle, validator), { intact: true, entries: 3, problem: null, trust_anchor: 'http://127.0.0.1:7000' });

  const broken = async (change: (b: LogBundle) => void) => {
    const copy = structuredClone(bundle);
    change(copy);
    return verifyLogBundle(copy, validator);
  };
  t.like(
    await broken((b) => (b.historical_keys = b.signature)),
    { intact: false, problem: 'historical_keys' },
    'historical keys not signed as such',
  );
  t.like(
    await broken((b) => (b.exported_at = new Date(0).toISOString())),
    { intact: false, problem: 'bundle_signature' },
    'another export time',
  );
  t.like(await broken((b) => delete (b as Partial<LogBundle>).entries), { intact: false, problem: 'malformed' });
  t.like(await verifyLogBundle(bundle, async () => ({ subject: 'http://127.0.0.1:9', keys: [], trustAnchor: 'x' })), {
    intact: false,
    problem: 'trust_chain',
  });
  t.like(
    await verifyLogBundle(bundle, async () => {
      throw new Error('statement 1 of the trust chain: expired');
    }),
    { intact: false, problem: 'trust_chain', detail: 'statement 1 of the trust chain: expired' },
  );
});
