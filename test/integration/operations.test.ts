/**
 * Operations on a running federation: every entity kind (OPs, the services entity, a portal)
 * serves /healthz and /readyz beside its entity configuration, and a request ID given to an OP
 * is answered, logged and passed to the services entity the OP calls while handling it, whose
 * log lines carry the same ID.
 */
import test from 'ava';
import { findForm, UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, relyingParty } from '../helpers/flows.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.ts';

const lines: LogLine[] = [];
let fed: TestFederation;

test.before(async () => {
  fed = await startTestFederation(['gd', 'registries', 'nj'], { log: recordingLogger(lines) });
});
test.after.always(async () => {
  await fed?.close();
});

test('every entity answers /healthz and /readyz (database, store, signing key), never cached', async (t) => {
  const kinds = new Set<string>();
  for (const { entity, url } of fed.host.entities) {
    kinds.add(entity.kind);
    const health = await fetch(`${url}/healthz`);
    t.is(health.status, 200, entity.id);
    t.is(health.headers.get('cache-control'), 'no-store', entity.id);
    t.deepEqual(await health.json(), { status: 'ok' }, entity.id);
    const ready = await fetch(`${url}/readyz`);
    t.is(ready.status, 200, entity.id);
    t.is(ready.headers.get('cache-control'), 'no-store', entity.id);
    t.deepEqual(await ready.json(), { status: 'ok', checks: { database: 'ok', store: 'ok', signing_key: 'ok' } }, entity.id);
  }
  t.deepEqual([...kinds].sort(), ['op', 'portal', 'services']);
});

test('a request ID given to an OP is echoed and shows in its log lines and in those of the services entity it calls', async (t) => {
  const rp = await relyingParty(fed, 'gd');
  const ua = new UserAgent();
  const { page } = await authorize(rp, ua);
  const register = await ua.navigate(
    new URL(/href="([^"]*\/register[^"]*)"/.exec(page.html)![1]!.replace(/&amp;/g, '&'), page.url).toString(),
  );
  const { action, hidden } = findForm(register.html, '/register');
  const person = await newPerson(fed);
  const requestId = `ops-test-${Date.now()}`;
  // Sending the SMS code: the OP asks the services entity's message outbox.
  const sent = await ua.request(new URL(`${action}/otp`, register.url).toString(), {
    form: { ...hidden, phone: person.phone },
    headers: { 'X-Request-Id': requestId },
  });
  t.is(sent.status, 200);
  t.is(sent.headers.get('x-request-id'), requestId);
  const withId = lines.filter((l) => l.fields.request_id === requestId);
  const answered = (entity: string) => withId.filter((l) => l.msg === 'request' && l.fields.entity === entity).map((l) => l.fields.path);
  t.true(
    answered('gd').some((path) => String(path).endsWith('/otp')),
    JSON.stringify(withId),
  );
  t.deepEqual(answered(fed.topology.services().id), ['/messages'], JSON.stringify(withId));
});

test('an unsafe request ID is replaced by a fresh one', async (t) => {
  const res = await fetch(`${fed.url('gd')}/.well-known/openid-federation`, { headers: { 'X-Request-Id': 'a'.repeat(65) } });
  t.is(res.status, 200);
  t.regex(res.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
});
