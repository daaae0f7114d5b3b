/**
 * Federation key rotation without downtime: the next key is published before it signs, the old
 * one stays published through the grace period and then is listed among the historical keys;
 * the entity keeps working with the services entity throughout.
 */
import test from 'ava';
import { decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { callAdmin } from '../../cli/admin-client.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, redeem, registerOnPage, relyingParty } from '../helpers/flows.ts';
import { federationCommand } from '../../cli/federation-command.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['national', 'gd', 'gz', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

async function entityConfiguration(id: string) {
  const jwt = await (await fetch(`${fed.url(id)}/.well-known/openid-federation`)).text();
  return { kid: decodeProtectedHeader(jwt).kid!, published: (decodeJwt(jwt).jwks as { keys: JWK[] }).keys.map((k) => k.kid!) };
}

const rotate = (id: string, body: Record<string, number>) =>
  callAdmin(fed.topology.get(id), fed.config.dataDir, 'POST', '/admin/keys/rotate', body) as Promise<{ next: string; signing: string }>;

test.serial('a rotation publishes the next key first; the chain stays valid while it waits', async (t) => {
  const before = await entityConfiguration('gz');
  const { next } = await rotate('gz', { lead_seconds: 3600, grace_seconds: 3600 });
  const after = await entityConfiguration('gz');
  t.is(after.kid, before.kid, 'the old key still signs during the lead time');
  t.deepEqual(after.published.sort(), [before.kid, next].sort(), 'both keys are published');
  const chain = (await federationCommand('show-chain', { entity: 'gz' }, { topology: fed.topology, dataDir: fed.config.dataDir })) as {
    statements: unknown[];
  };
  t.is(chain.statements.length, 4);
});

async function registerAt(op: string) {
  const rp = await relyingParty(fed, op);
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  return redeem(rp, await registerOnPage(fed, ua, a.page, await newPerson(fed), 'Rotation-1'), a);
}

test.serial(
  'an immediate rotation switches signing, retires the old key into the historical keys, and the entity keeps working',
  async (t) => {
    // The services entity has gd's current keys cached after this (and refetches them at most once a second).
    await registerAt('gd');
    await new Promise((r) => setTimeout(r, 1100));
    const before = await entityConfiguration('gd');
    const { next } = await rotate('gd', { lead_seconds: 0, grace_seconds: 0 });
    const after = await entityConfiguration('gd');
    t.is(after.kid, next);
    t.false(after.published.includes(before.kid));
    const historical = decodeJwt(await (await fetch(`${fed.url('gd')}/federation/historical-keys`)).text()) as {
      keys: (JWK & { exp: number })[];
    };
    const old = historical.keys.find((k) => k.kid === before.kid);
    t.truthy(old, 'the retired key is listed with its expiry');
    t.true(typeof old!.exp === 'number' && old!.d === undefined);

    // gd's calls to the population registry are signed with the new key at once: the services
    // entity fetches gd's keys again when it sees a key it does not know.
    const tokens = await registerAt('gd');
    t.is(tokens.claims()!.iss, fed.url('gd'));
  },
);

test('the key admin API needs the admin token', async (t) => {
  const res = await fetch(`${fed.url('gz')}/admin/keys/rotate`, { method: 'POST' });
  t.is(res.status, 401);
});
