import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, oidc, passwordLogin, redeem, registerOnPage, relyingParty, REDIRECT_URI } from '../helpers/flows.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gd', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

test('register → login → token → userinfo → refresh → logout at an OP, with openid-client', async (t) => {
  const rp = await relyingParty(fed, 'gd', { post_logout_redirect_uris: ['http://127.0.0.1:9/bye'] });
  const person = await newPerson(fed);
  const password = 'Passw0rd-gov';

  const ua = new UserAgent();
  const a1 = await authorize(rp, ua);
  t.is(a1.page.status, 200);
  const cb1 = await registerOnPage(fed, ua, a1.page, person, password);
  const first = await redeem(rp, cb1, a1);
  const claims1 = first.claims()!;
  t.is(claims1.iss, fed.url('gd'));
  t.is(claims1.name, person.name);
  t.is(claims1.user_type, 'natural');
  t.is(claims1.home, fed.url('gd'));
  t.is(claims1.acr, 'urn:gov-id:loa:1');
  t.not(claims1.sub, person.id_number);
  t.false(JSON.stringify(claims1).includes(person.id_number));

  // A fresh browser: log in with the ID number and the password just set.
  const ua2 = new UserAgent();
  const a2 = await authorize(rp, ua2);
  const cb2 = await passwordLogin(ua2, a2.page, person.id_number, password);
  t.true(new URL(cb2.url).searchParams.get('iss') === fed.url('gd'), 'RFC 9207 iss in the authorization response');
  const tokens = await redeem(rp, cb2, a2);
  t.is(tokens.claims()!.sub, claims1.sub, 'the subject is stable');

  const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims1.sub);
  t.is(info.name, person.name);
  t.is(info.phone_number, `+86${person.phone}`);
  t.is(info.id_number, undefined, 'no id_number without its scope');

  t.truthy(tokens.refresh_token);
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  t.not(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
  const reused = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
  t.is(reused?.error, 'invalid_grant', 'a rotated refresh token is dead');

  // RP-initiated logout ends the session and the grant.
  const end = oidc.buildEndSessionUrl(rp.config, {
    id_token_hint: refreshed.id_token!,
    post_logout_redirect_uri: 'http://127.0.0.1:9/bye',
  });
  const confirm = await ua2.navigate(end.toString());
  t.is(confirm.status, 200);
  const bye = await ua2.submit(confirm, '/session/end/confirm', { logout: 'yes' }, 'http://127.0.0.1:9/bye');
  t.true(bye.url.startsWith('http://127.0.0.1:9/bye'), `${bye.status} ${bye.url} ${bye.html.slice(0, 3000)}`);
  const afterLogout = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!));
  t.is(afterLogout?.error, 'invalid_grant', 'logout revoked the grant');
  const again = await authorize(rp, ua2);
  t.true(again.page.html.includes('name="identifier"'), 'a new login asks for the identifier again');
  t.false(again.page.url.startsWith(REDIRECT_URI));
});
