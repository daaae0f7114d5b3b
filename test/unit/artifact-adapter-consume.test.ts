/**
 * idp/oidc/artifact-adapter.ts: consuming a code or refresh token is atomic (a key set only if
 * absent in the store for short-lived artifacts, a conditional row update in PostgreSQL for
 * long-lived ones). Of concurrent consumes exactly one wins; every loser is a replay, refused
 * with invalid_grant, and revokes the whole grant with everything issued under it. On the
 * embedded PGlite + in-process store always, and on PostgreSQL + Redis when both URLs are set.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { FieldCipher } from '../../infra/crypto.ts';
import type { Database } from '../../infra/database.ts';
import { openKeyValueStore, type KeyValueStore } from '../../infra/key-value-store.ts';
import { migrate } from '../../infra/migrate.ts';
import { artifactAdapter } from '../../idp/oidc/artifact-adapter.ts';
import { ClientStore } from '../../idp/oidc/client-store.ts';
import { databaseEngines, forEngines, storeEngines, uniqueName } from '../helpers/unit-engines.ts';

const databases = databaseEngines('consume');
const stores = storeEngines();
/** Second connections to a namespace the store engines opened (closed here; the engines clean the keys). */
const extraStores: KeyValueStore[] = [];
test.after.always(async () => {
  for (const kv of extraStores) await kv.close();
  await databases.cleanup();
  await stores.cleanup();
});

/** The two deployments: everything embedded, or both real services. */
const [pglite, postgres] = databases.engines as [(typeof databases.engines)[0], (typeof databases.engines)[0]];
const [memory, redis] = stores.engines as [(typeof stores.engines)[0], (typeof stores.engines)[0]];
const deployments = [
  { name: 'pglite+memory', available: true, skipReason: '', db: pglite, store: memory },
  {
    name: 'postgres+redis',
    available: postgres.available && redis.available,
    skipReason: 'skipped: DATABASE_URL and REDIS_URL are not both set',
    db: postgres,
    store: redis,
  },
];
type Deployment = (typeof deployments)[number];

const cipher = new FieldCipher(randomBytes(32));
/** Enough to outlive any test on a loaded machine. */
const LIFETIME = 600;

interface Op {
  db: Database;
  kv: KeyValueStore;
  namespace: string;
  adapter: (model: string) => Adapter;
}

const opOver = (db: Database, kv: KeyValueStore, namespace: string): Op => ({
  db,
  kv,
  namespace,
  adapter: artifactAdapter(db, kv, new ClientStore(db, cipher)),
});

/** One OP per deployment, shared by the tests of this file (every artifact ID is unique): one schema to migrate. */
const ops = new Map<string, Promise<Op>>();
function openOp(deployment: Deployment): Promise<Op> {
  let op = ops.get(deployment.name);
  if (!op) {
    op = (async () => {
      const db = await deployment.db.open('unit_consume');
      await migrate(db, ['common', 'idp']);
      const { store, namespace } = await deployment.store.open();
      return opOver(db, store, namespace);
    })();
    ops.set(deployment.name, op);
  }
  return op;
}

/**
 * Another instance of the same OP (as behind a load balancer): its own database handle (a second
 * pool on PostgreSQL) and its own Redis connection on the same namespace. The in-process store
 * lives in one process only, so there the instances share it.
 */
async function secondInstance(deployment: Deployment, op: Op): Promise<Op> {
  const db = await deployment.db.reopen(op.db.schema);
  if (deployment.store.name !== 'redis') return opOver(db, op.kv, op.namespace);
  const kv = await openKeyValueStore({ url: process.env.REDIS_URL, namespace: op.namespace });
  extraStores.push(kv);
  return opOver(db, kv, op.namespace);
}

/** A grant with an authorization code, an access token and a refresh token issued under it. */
async function grantWithArtifacts(op: Op) {
  const ids = { grant: uniqueName('grant'), code: uniqueName('code'), access: uniqueName('at'), refresh: uniqueName('rt') };
  const base: AdapterPayload = { accountId: 'subject-1', clientId: 'portal-1', grantId: ids.grant };
  await op.adapter('Grant').upsert(ids.grant, { jti: ids.grant, kind: 'Grant', accountId: 'subject-1', clientId: 'portal-1' }, LIFETIME);
  await op.adapter('AuthorizationCode').upsert(ids.code, { ...base, jti: ids.code, kind: 'AuthorizationCode' }, LIFETIME);
  await op.adapter('AccessToken').upsert(ids.access, { ...base, jti: ids.access, kind: 'AccessToken' }, LIFETIME);
  await op.adapter('RefreshToken').upsert(ids.refresh, { ...base, jti: ids.refresh, kind: 'RefreshToken' }, LIFETIME);
  return ids;
}

/** Runs the consumes at once; returns how many won and the losers' errors. */
async function race(consumes: Promise<unknown>[]) {
  const outcomes = await Promise.allSettled(consumes);
  return {
    won: outcomes.filter((o) => o.status === 'fulfilled').length,
    lost: outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as Error),
  };
}

async function assertRevoked(t: ExecutionContext, op: Op, ids: Awaited<ReturnType<typeof grantWithArtifacts>>) {
  t.is(await op.adapter('Grant').find(ids.grant), undefined, 'the grant is revoked');
  t.is(await op.adapter('AuthorizationCode').find(ids.code), undefined, 'its code is gone');
  t.is(await op.adapter('AccessToken').find(ids.access), undefined, 'its access token is gone');
  t.is(await op.adapter('RefreshToken').find(ids.refresh), undefined, 'its refresh token is gone');
}

const CASES = [
  { model: 'AuthorizationCode', artifact: 'code', message: 'authorization code already used', where: 'store' },
  { model: 'RefreshToken', artifact: 'refresh', message: 'refresh token already used', where: 'database' },
] as const;

for (const { model, artifact, message, where } of CASES) {
  forEngines(
    deployments,
    `${model} (${where}): of two concurrent consumes exactly one wins; the loser is invalid_grant and revokes the grant`,
    async (t, deployment) => {
      const op = await openOp(deployment);
      const ids = await grantWithArtifacts(op);
      const other = await grantWithArtifacts(op);
      const { won, lost } = await race([op.adapter(model).consume(ids[artifact]), op.adapter(model).consume(ids[artifact])]);
      t.is(won, 1);
      t.is(lost.length, 1);
      t.true(lost[0] instanceof errors.InvalidGrant, String(lost[0]));
      t.is((lost[0] as errors.InvalidGrant).error_detail, message);
      await assertRevoked(t, op, ids);
      // Another grant is untouched.
      t.truthy(await op.adapter('Grant').find(other.grant));
      t.truthy(await op.adapter(model).find(other[artifact]));
    },
  );

  forEngines(
    deployments,
    `${model} (${where}): of eight concurrent consumes from two OP instances exactly one wins`,
    async (t, deployment) => {
      const first = await openOp(deployment);
      const second = await secondInstance(deployment, first);
      const ids = await grantWithArtifacts(first);
      const { won, lost } = await race(Array.from({ length: 8 }, (_, i) => (i % 2 ? second : first).adapter(model).consume(ids[artifact])));
      t.is(won, 1);
      t.is(lost.length, 7);
      t.true(lost.every((e) => e instanceof errors.InvalidGrant));
      await assertRevoked(t, second, ids);
    },
  );

  forEngines(
    deployments,
    `${model} (${where}): the winner marks it consumed; a later replay is refused and revokes the grant`,
    async (t, deployment) => {
      const op = await openOp(deployment);
      const ids = await grantWithArtifacts(op);
      await op.adapter(model).consume(ids[artifact]);
      const consumed = await op.adapter(model).find(ids[artifact]);
      t.is(typeof consumed?.consumed, 'number', 'oidc-provider sees it consumed');
      t.truthy(await op.adapter('Grant').find(ids.grant), 'one use revokes nothing');
      const err = await t.throwsAsync(op.adapter(model).consume(ids[artifact]), { instanceOf: errors.InvalidGrant });
      t.is(err?.error_detail, message);
      await assertRevoked(t, op, ids);
    },
  );
}
