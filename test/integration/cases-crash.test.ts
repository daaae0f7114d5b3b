/**
 * Applications and cross-region hand-offs survive a crash: the federation runs as a real child
 * process (test/helpers/federation-process.ts: `gov-id start` on a persisted data folder, or on
 * PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set), which a crash point
 * (infra/crash-points.ts) makes kill itself with SIGKILL once an application's case is committed
 * and before its receipt is answered, once the handling platform took a hand-off and before it
 * answered its receipt, and once the receiving platform holds that receipt and before it recorded
 * it. While it is down the person gets a connection error at once, never a hang. Restarted on the
 * same data, the same request (the same idempotency key; the same hand-off action) answers as if
 * nothing had happened, and the data hold each application once: one case under one number, its
 * materials once and no stray upload, its notice and SMS once, its audit entries once, the hand-off
 * once at each platform with both signatures.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { casesApi, pdf, personWithToken, type CasesApi, type Reply } from '../helpers/cases-api.ts';
import { crashableFederation, settled, START_BOUND_MS, type CrashableFederation } from '../helpers/federation-process.ts';
import type { Person } from '../helpers/flows.ts';
import { openEntityDatabase } from '../../cli/entity-host.ts';
import type { CrashPoint } from '../../infra/crash-points.ts';

/** 无犯罪记录证明开具 at 广州市公安局: handled nationwide; an e-license and an uploaded power of attorney. */
const CERTIFICATE = '11440100000101002C3200101012000';
/** 杭州市公安局: an authority of Zhejiang's platform, whose window receives for others. */
const HZ_POLICE = '11330100000101005T';

/** The crashes: which services entity dies at which point, during which request. */
const CRASHES: { point: CrashPoint; at: string; during: 'submission' | 'hand_off' }[] = [
  { point: 'case.received', at: 'zj-services', during: 'submission' },
  { point: 'handoff.received', at: 'gz-services', during: 'hand_off' },
  { point: 'handoff.acknowledged', at: 'zj-services', during: 'hand_off' },
];

/** An application made in the test: what the data must hold of it at the end. */
interface Application {
  label: string;
  key: string;
  number: string;
  handedOff: boolean;
}

/** How a call failed: the connection error's code (ECONNREFUSED, UND_ERR_SOCKET …), or the error's name (TimeoutError: a hang). */
function failure(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  return e.cause?.code ?? e.name;
}

/** The call's reply, or how it failed. */
const outcome = (reply: Promise<Reply>): Promise<Reply | string> => reply.catch((err: unknown) => failure(err));

/** The federation keys a services entity publishes in its entity configuration. */
async function publishedKeys(url: string): Promise<JSONWebKeySet> {
  const res = await fetch(`${url}/.well-known/openid-federation`);
  return decodeJwt(await res.text()).jwks as JSONWebKeySet;
}

test.serial('a crash during a submission or a hand-off loses nothing and duplicates nothing', async (t) => {
  t.timeout((CRASHES.length * 2 + 2) * START_BOUND_MS);
  const crashable: CrashableFederation = await crashableFederation();
  const { fed, process: federation } = crashable;
  const zj: CasesApi = casesApi(fed, 'zj-services');
  const applications: Application[] = [];
  try {
    await federation.start();
    const registered = () => settled('registration', () => personWithToken(fed, 'zj', 'zj-services'));
    const applicant: Person = (await registered()).person;
    const receiver: Person = (await registered()).person;
    await zj.grant(receiver.id_number, HZ_POLICE, 'receiver');
    /** Logins after a restart: a token of before may be gone with the store it lived in. */
    const tokenOf = async (person: Person) => (await settled('login', () => personWithToken(fed, 'zj', 'zj-services', person))).token;
    let tokens = { applicant: await tokenOf(applicant), receiver: await tokenOf(receiver) };

    const submit = async (key: string, content: Buffer) => {
      // As the portal does: the file uploaded, then the application under the form's key.
      const uploaded = await zj.upload(tokens.applicant, content);
      return zj.call('POST', '/cases', {
        token: tokens.applicant,
        headers: { 'idempotency-key': key },
        body: {
          item_code: CERTIFICATE,
          delivery: 'pickup',
          materials: [
            { slot: 0, reference: 'e-license:居民身份证' },
            { slot: 1, upload_id: String(uploaded.json.upload_id) },
          ],
        },
      });
    };
    const handOff = (number: string) => zj.call('POST', `/staff/cases/${number}/hand_off`, { token: tokens.receiver, body: {} });
    const myCases = async () =>
      ((await zj.call('GET', '/cases/mine', { token: tokens.applicant })).json.cases as { number: string }[]).map((c) => c.number);

    for (const [i, crash] of CRASHES.entries()) {
      const label = `${crash.point}@${crash.at}`;
      const key = `crash-${i}-${Date.now()}`;
      const content = pdf(`委托书 ${key}`);
      let number = '';
      if (crash.during === 'hand_off') {
        const receipt = await submit(key, content);
        t.is(receipt.status, 201, `${label}: ${JSON.stringify(receipt.json)}`);
        number = String(receipt.json.number);
      }

      crashable.arm(crash.point, crash.at);
      const answered = await outcome(crash.during === 'submission' ? submit(key, content) : handOff(number));
      // The request dies with the process: a closed connection, not an answer and not a hang.
      t.is(typeof answered, 'string', `${label}: answered ${JSON.stringify(answered)}`);
      t.not(answered, 'TimeoutError', `${label}: the request hung`);
      const how = await federation.exited(START_BOUND_MS);
      if (how !== 'SIGKILL') return t.fail(`${label}: the process did not kill itself (${String(how)}; the request: ${String(answered)})`);
      // While it is down the person is refused at once.
      t.is(await outcome(zj.call('GET', '/cases/mine', { token: tokens.applicant })), 'ECONNREFUSED', `${label}: while down`);

      crashable.disarm();
      await federation.start();
      tokens = { applicant: await tokenOf(applicant), receiver: await tokenOf(receiver) };
      if (crash.during === 'submission') {
        // The form sent again, its file uploaded again: the receipt of the case committed before the crash.
        const again = await submit(key, content);
        t.is(again.status, 200, `${label}: ${JSON.stringify(again.json)}`);
        t.true(again.json.replayed, `${label}: the same receipt`);
        number = String(again.json.number);
        const digest = `sha-256:${createHash('sha256').update(content).digest('base64url')}`;
        t.is((again.json.materials as { slot: number; digest: string }[]).find((m) => m.slot === 1)?.digest, digest, `${label}: the file`);
      } else {
        const again = await handOff(number);
        t.is(again.status, 200, `${label}: ${JSON.stringify(again.json)}`);
        t.is(again.json.state, 'handed_off', label);
        // The applicant reads, where they applied, the case the handling platform runs.
        const seen = await zj.call('GET', `/cases/${number}`, { token: tokens.applicant });
        t.is(seen.status, 200, `${label}: ${JSON.stringify(seen.json)}`);
        t.true(seen.json.received_here, `${label}: read from the handling platform`);
        t.is(seen.json.state, 'received', `${label}: received at the handling platform`);
      }
      applications.push({ label, key, number, handedOff: crash.during === 'hand_off' });
      t.deepEqual(
        (await myCases()).filter((n) => applications.some((a) => a.number === n)).sort(),
        applications.map((a) => a.number).sort(),
        `${label}: each application once in 我的办件`,
      );
    }

    const keys = { zj: await publishedKeys(fed.url('zj-services')), gz: await publishedKeys(fed.url('gz-services')) };
    // The embedded engine's folder opens in one process at a time: the data are read with the federation stopped.
    await federation.stop();
    const zjDb = await openEntityDatabase(fed.config, fed.topology.get('zj-services'));
    const gzDb = await openEntityDatabase(fed.config, fed.topology.get('gz-services'));
    try {
      const count = async (db: typeof zjDb, sql: string, params: unknown[]) =>
        Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);
      for (const a of applications) {
        const { rows } = await zjDb.query<{ id: string; number: string; state: string; handled_by: string | null }>(
          'SELECT id, number, state, handled_by FROM cases WHERE idempotency_key = $1',
          [a.key],
        );
        t.is(rows.length, 1, `${a.label}: one case`);
        const c = rows[0]!;
        t.is(c.number, a.number, `${a.label}: under the number answered`);
        t.is(c.state, a.handedOff ? 'handed_off' : 'received', a.label);
        t.is(await count(zjDb, 'case_materials WHERE case_id = $1', [c.id]), 2, `${a.label}: each material once`);
        t.is(await count(zjDb, 'case_notices WHERE case_id = $1', [c.id]), a.handedOff ? 2 : 1, `${a.label}: notices`);
        t.is(await count(zjDb, 'message_outbox WHERE body LIKE $1', [`%${a.number}%`]), a.handedOff ? 2 : 1, `${a.label}: SMS`);
        t.is(await count(zjDb, 'audit_log WHERE subject = $1 AND event = $2', [`case:${a.number}`, 'case.received']), 1, a.label);
        if (!a.handedOff) continue;
        t.is(await count(zjDb, 'audit_log WHERE subject = $1 AND event = $2', [`case:${a.number}`, 'case.hand_off']), 1, a.label);
        t.is(c.handled_by, fed.url('gz-services'), a.label);

        const taken = await gzDb.query<{ id: string; received_by: string }>('SELECT id, received_by FROM cases WHERE number = $1', [
          a.number,
        ]);
        t.is(taken.rows.length, 1, `${a.label}: one case at the handling platform`);
        t.is(taken.rows[0]!.received_by, fed.url('zj-services'), a.label);
        t.is(await count(gzDb, 'case_materials WHERE case_id = $1', [taken.rows[0]!.id]), 2, `${a.label}: materials handed over once`);
        t.is(await count(gzDb, 'message_outbox WHERE body LIKE $1', [`%${a.number}%`]), 1, `${a.label}: SMS at the handling platform`);
        t.is(await count(gzDb, 'audit_log WHERE subject = $1 AND event = $2', [`case:${a.number}`, 'case.handoff_received']), 1, a.label);

        type Row = { direction: string; peer: string; handoff: string; digest: string; receipt: string };
        const sent = (await zjDb.query<Row>('SELECT * FROM case_handoffs WHERE number = $1', [a.number])).rows;
        const received = (await gzDb.query<Row>('SELECT * FROM case_handoffs WHERE number = $1', [a.number])).rows;
        t.is(sent.length, 1, `${a.label}: the hand-off kept once where it was sent`);
        t.is(received.length, 1, `${a.label}: the hand-off kept once where it was taken`);
        t.like(sent[0], { direction: 'sent', peer: fed.url('gz-services') });
        t.like(received[0], { direction: 'received', peer: fed.url('zj-services') });
        // Both platforms hold the same hand-off, signed by Zhejiang, and the same receipt for it, signed by Guangzhou.
        t.is(sent[0]!.handoff, received[0]!.handoff, `${a.label}: the same hand-off at both`);
        t.is(sent[0]!.receipt, received[0]!.receipt, `${a.label}: the same receipt at both`);
        const handoff = await compactVerify(sent[0]!.handoff, createLocalJWKSet(keys.zj));
        t.is(handoff.protectedHeader.typ, 'case-handoff+jwt');
        await compactVerify(sent[0]!.receipt, createLocalJWKSet(keys.gz));
        t.is(decodeProtectedHeader(sent[0]!.receipt).typ, 'case-handoff-receipt+jwt');
        const receipt = decodeJwt(sent[0]!.receipt);
        t.is(receipt.number, a.number);
        t.is(
          receipt.digest,
          createHash('sha256').update(sent[0]!.handoff).digest('base64url'),
          `${a.label}: the receipt is for that hand-off`,
        );
      }
      // No upload left outside a case (the first uploads are the cases' materials, the copies sent again are gone).
      t.is(await count(zjDb, 'case_materials WHERE case_id IS NULL', []), 0, 'no stray upload');
      // Case numbers: the day's sequence without a gap or a repeat.
      const numbers = (await zjDb.query<{ number: string }>('SELECT number FROM cases')).rows.map((r) => r.number.split('-'));
      for (const day of new Set(numbers.map((n) => n[1]))) {
        const sequence = numbers.filter((n) => n[1] === day).map((n) => Number(n[2]));
        t.deepEqual(
          sequence.sort((x, y) => x - y),
          sequence.map((_, i) => i + 1),
          `the case numbers of ${day}`,
        );
      }
    } finally {
      await zjDb.close();
      await gzDb.close();
    }
  } finally {
    await crashable.dispose();
  }
});
