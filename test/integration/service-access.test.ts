import test from 'ava';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { findForm, UserAgent } from '../helpers/user-agent.ts';
import { authorize, latestOtp, newPerson, oidc, registerOnPage, relyingParty } from '../helpers/flows.ts';
import { PASSWORD, serviceToken } from '../helpers/service-tokens.ts';
import { untilTrustMarked } from '../helpers/licenses.ts';
import { signEntityAssertion } from '../../infra/entity-assertion.ts';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { PrivateJwk } from '../../infra/entity-keys.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gd', 'registries']);
  await untilTrustMarked(fed, 'gd');
});
test.after.always(async () => {
  await fed?.close();
});

const me = (token?: string) =>
  fetch(`${fed.url('registries')}/me`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

test('an OP issues a JWT access token for a services entity of the federation, which takes it and learns who the person is', async (t) => {
  const { accessToken, person } = await serviceToken(fed, { op: 'gd', resource: fed.url('registries') });
  t.is(decodeProtectedHeader(accessToken).typ, 'at+jwt');
  const claims = decodeJwt(accessToken);
  t.is(claims.iss, fed.url('gd'));
  t.is(claims.aud, fed.url('registries'));
  t.is(claims.scope, 'services');
  t.is(claims.acr, 'urn:gov-id:loa:1');
  t.false(accessToken.includes(person.id_number) || JSON.stringify(claims).includes(person.name), 'no real-name facts in the token');

  const res = await me(accessToken);
  t.is(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  t.like(body, { issuer: fed.url('gd'), subject: claims.sub, kind: 'natural', name: person.name, acr: 'urn:gov-id:loa:1' });
});

test('the consent page names the services entity the portal will act at', async (t) => {
  const rp = await relyingParty(fed, 'gd');
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid profile services', resource: fed.url('registries') });
  const person = await newPerson(fed);
  // Registered by hand (registerOnPage consents on its own) to read the consent page.
  const loginPage = await ua.navigate(
    new URL(/href="([^"]*\/register[^"]*)"/.exec(a.page.html)![1]!.replace(/&amp;/g, '&'), a.page.url).toString(),
  );
  const { action, hidden } = findForm(loginPage.html, '/register');
  const sent = await ua.navigate(new URL(`${action}/otp`, loginPage.url).toString(), { form: { ...hidden, phone: person.phone } });
  const consent = await ua.submit(sent, '/register', {
    name: person.name,
    id_number: person.id_number,
    phone: person.phone,
    otp: await latestOtp(fed, person.phone),
    password: PASSWORD,
  });
  t.regex(consent.url, /\/consent/);
  t.true(consent.html.includes('基础库与共享交换平台（演示）'), 'the services entity by name');
  t.false(consent.html.includes(fed.url('registries')), 'never its raw address');
});

test('a services entity refuses a missing, opaque, tampered or foreign token with invalid_token', async (t) => {
  const missing = await me();
  t.is(missing.status, 401);
  t.regex(missing.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_request"/);

  // A token without a resource is opaque: for userinfo only.
  const rp = await relyingParty(fed, 'gd');
  const ua = new UserAgent();
  const a = await authorize(rp, ua);
  const cb = await registerOnPage(fed, ua, a.page, await newPerson(fed), PASSWORD);
  const opaque = await oidc.authorizationCodeGrant(rp.config, new URL(cb.url), {
    pkceCodeVerifier: a.verifier,
    expectedState: a.state,
    expectedNonce: a.nonce,
  });
  const r1 = await me(opaque.access_token);
  t.is(r1.status, 401);
  t.is(((await r1.json()) as { error: string }).error, 'invalid_token');

  const { accessToken } = await serviceToken(fed, { op: 'gd', resource: fed.url('registries') });
  const [h, p, s] = accessToken.split('.');
  const tampered = `${h}.${p}.${s!.slice(0, -4)}${s!.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const r2 = await me(tampered);
  t.is(r2.status, 401);
  t.regex(((await r2.json()) as { error_description: string }).error_description, /signature/);

  // Signed by a key of no federation OP, claiming to be gd.
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const foreign = await new SignJWT({ ...decodeJwt(accessToken) })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'foreign' })
    .sign(privateKey);
  const r3 = await me(foreign);
  t.is(r3.status, 401);
});

test('an OP issues no token for a resource that is not a services entity of the federation', async (t) => {
  const rp = await relyingParty(fed, 'gd');
  const ua = new UserAgent();
  for (const resource of [fed.url('gd'), 'http://127.0.0.1:9/api']) {
    const err = await t.throwsAsync(authorize(rp, ua, { scope: 'openid services', resource }, true));
    t.is((err as oidc.ResponseBodyError).error, 'invalid_target', resource);
  }
});

test("an OP tells who a token's subject is only to the services entity the token is for", async (t) => {
  const { accessToken } = await serviceToken(fed, { op: 'gd', resource: fed.url('registries') });
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const key = { ...(await exportJWK(privateKey)), kid: 'stranger', alg: 'ES256', use: 'sig' } as PrivateJwk;
  const res = await fetch(`${fed.url('gd')}/service-access/person`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await signEntityAssertion(key, 'http://127.0.0.1:9', fed.url('gd'))}`,
    },
    body: JSON.stringify({ access_token: accessToken }),
  });
  t.is(res.status, 401);
  t.false((await res.text()).includes('name'));
});
