import test from 'ava';
import { createServer, type Server } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, oidc, redeem, registerOnPage, relyingParty } from '../helpers/flows.ts';

let fed: TestFederation;
let receiver: Server;
let receiverUrl: string;
const received: string[] = [];

test.before(async () => {
  fed = await startTestFederation(['js', 'registries']);
  // The relying portal's back-channel logout endpoint.
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/backchannel`;
});

test.after.always(async () => {
  receiver?.close();
  await fed?.close();
});

test('logout at the OP sends a signed logout token to the relying party by back channel', async (t) => {
  const rp = await relyingParty(fed, 'js', { backchannel_logout_uri: receiverUrl, post_logout_redirect_uris: ['http://127.0.0.1:9/bye'] });
  const person = await newPerson(fed);
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const tokens = await redeem(rp, await registerOnPage(fed, ua, a.page, person, 'Backchannel-1'), a);
  const { sub, sid } = tokens.claims()!;
  t.truthy(sid, 'the ID token carries the session ID');

  const confirm = await ua.navigate(
    oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/bye' }).toString(),
  );
  await ua.submit(confirm, '/session/end/confirm', { logout: 'yes' }, 'http://127.0.0.1:9/bye');

  t.is(received.length, 1);
  const { payload, protectedHeader } = await jwtVerify(received[0]!, createRemoteJWKSet(new URL(`${fed.url('js')}/jwks`)), {
    issuer: fed.url('js'),
    audience: rp.clientId,
    typ: 'logout+jwt',
  });
  t.is(protectedHeader.alg, 'ES256');
  t.is(payload.sub, sub);
  t.is(payload.sid, sid);
  t.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
  t.is(payload.nonce, undefined, 'a logout token never carries a nonce');
});
