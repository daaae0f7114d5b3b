/**
 * Nobody makes an entity fetch a URL of their choosing (issue 11, defect 4). A listener on the
 * topology's own host (127.0.0.1) but on a port no authority lists counts every request it gets;
 * the four places that take an entity identifier from a request (client_id at /auth, the iss of a
 * logout token, the iss of an entity assertion, sub at /federation/resolve) are each asked about
 * it 48 times, and it is fetched not once: the federation does not list it. Many different
 * unlisted identifiers from one source run into the per-source limit. Once an authority lists
 * the same kind of listener, it is fetched and resolves (the listener is a real target).
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import { federationCommand } from '../../cli/federation-command.ts';
import { signEntityConfiguration } from '../../federation/entity-configuration.ts';
import { signEntityAssertion } from '../../infra/entity-assertion.ts';
import { generateKey } from '../../infra/entity-keys.ts';
import { REDIRECT_URI } from '../helpers/flows.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';

const ATTEMPTS = 48;

let fed: TestFederation;
const listeners: Server[] = [];

/** A listener serving a well-formed entity configuration that claims `superior` as its authority; counts the requests it gets. */
async function countingEntity(superior: string): Promise<{ url: string; requests: () => number }> {
  const key = await generateKey('ES256');
  let requests = 0;
  let url = '';
  const server = createServer((req, res) => {
    requests++;
    if (req.url !== '/.well-known/openid-federation') return void res.writeHead(404).end();
    void signEntityConfiguration({
      entityId: url,
      keys: [key],
      metadata: { federation_entity: { organization_name: 'counter' } },
      authorityHints: [superior],
    }).then((jwt) => res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' }).end(jwt));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listeners.push(server);
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, requests: () => requests };
}

test.before(async () => {
  fed = await startTestFederation(['gd', 'registries']);
});
test.after.always(async () => {
  await Promise.all(listeners.map((l) => new Promise((resolve) => l.close(resolve))));
  await fed?.close();
});

/** A logout token naming `iss`; its signature does not matter, as the issuer is looked up first. */
function logoutTokenFrom(iss: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'logout+jwt' })}.${part({ iss, aud: fed.url('gd'), iat: Math.floor(Date.now() / 1000), jti: 'x', events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sub: 's' })}.c2ln`;
}

const askers: Record<string, (id: string) => Promise<{ status: number; body: string }>> = {
  'client_id at /auth': async (id) => {
    const query = new URLSearchParams({
      client_id: id,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: REDIRECT_URI,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${fed.url('gd')}/auth?${query}`, { redirect: 'manual' });
    return { status: res.status, body: await res.text() };
  },
  'the iss of a logout token at /broker/backchannel-logout': async (id) => {
    const res = await fetch(`${fed.url('gd')}/broker/backchannel-logout`, {
      method: 'POST',
      body: new URLSearchParams({ logout_token: logoutTokenFrom(id) }),
    });
    return { status: res.status, body: await res.text() };
  },
  'the iss of an entity assertion at /registry/lookup': async (id) => {
    const assertion = await signEntityAssertion(await generateKey('ES256'), id, fed.url('national'));
    const res = await fetch(`${fed.url('national')}/registry/lookup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${assertion}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'natural', identifier: '11010519491231002X' }),
    });
    return { status: res.status, body: await res.text() };
  },
  'sub at /federation/resolve': async (id) => {
    const res = await fetch(
      `${fed.url('national')}/federation/resolve?${new URLSearchParams({ sub: id, trust_anchor: fed.url('national') })}`,
    );
    return { status: res.status, body: await res.text() };
  },
};
const refusal: Record<string, { status: number; error: RegExp }> = {
  'client_id at /auth': { status: 400, error: /invalid_client/ },
  'the iss of a logout token at /broker/backchannel-logout': { status: 400, error: /invalid_request/ },
  'the iss of an entity assertion at /registry/lookup': { status: 401, error: /unauthorized|not a trusted entity/ },
  'sub at /federation/resolve': { status: 404, error: /not_found/ },
};

test.serial('an identifier no authority lists is never fetched, however often it is named', async (t) => {
  const stranger = await countingEntity(fed.url('gd'));
  for (const [where, ask] of Object.entries(askers)) {
    for (let i = 0; i < ATTEMPTS; i++) {
      const answer = await ask(stranger.url);
      t.is(answer.status, refusal[where]!.status, `${where}: ${answer.body.slice(0, 300)}`);
      t.regex(answer.body, refusal[where]!.error, where);
    }
    t.is(stranger.requests(), 0, `${where}: ${ATTEMPTS} requests made the entity fetch ${stranger.requests()} times`);
  }
});

test.serial('many different unlisted identifiers from one source run into the per-source limit, and none is fetched', async (t) => {
  const stranger = await countingEntity(fed.url('gd'));
  // Paths under the listener and under a listed entity's own origin: all unlisted.
  const ids = Array.from({ length: ATTEMPTS }, (_, i) => (i % 2 ? `${stranger.url}/tenant-${i}` : `${fed.url('gd')}/tenant-${i}`));
  const answers = await Promise.all(
    ids.map((id) =>
      fetch(`${fed.url('gd')}/federation/resolve?${new URLSearchParams({ sub: id, trust_anchor: fed.url('national') })}`).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { error: string; error_description: string } }),
      ),
    ),
  );
  t.true(
    answers.every((a) => a.status === 404 && a.body.error === 'not_found'),
    JSON.stringify(answers.find((a) => a.status !== 404)),
  );
  t.true(answers.some((a) => /too many lookups of unlisted entities/.test(a.body.error_description)));
  t.is(stranger.requests(), 0);
});

test.serial('once an authority lists an entity, it is fetched and its chain resolves', async (t) => {
  const member = await countingEntity(fed.url('gd'));
  await federationCommand(
    'add-subordinate',
    { entity: 'gd', subject: member.url },
    { topology: fed.topology, dataDir: fed.config.dataDir },
  );
  // gd reads its configuration file again at most once a second: wait until its list endpoint names the member.
  const deadline = Date.now() + 30_000;
  while (!((await (await fetch(`${fed.url('gd')}/federation/list`)).json()) as string[]).includes(member.url)) {
    if (Date.now() > deadline) return t.fail('gd never listed the new subordinate');
    await new Promise((r) => setTimeout(r, 100));
  }
  const res = await askers['sub at /federation/resolve']!(member.url);
  t.is(res.status, 200, res.body);
  t.true(member.requests() > 0);
});
