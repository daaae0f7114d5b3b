/**
 * Legal persons cross tiers the same way as natural persons: an organization registered at the
 * city gz, whose legal representative logs in at the unified province zj for it, gets tokens at
 * zj with the legal-person claims of its home (USCC, name, acting person, role), `home` = gz and
 * `recognized`; the organization picker and the mandate stay at home.
 */
import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, redeem, registerOnPage, relyingParty, REDIRECT_URI, throughConsent } from '../helpers/flows.ts';
import { homePublished } from '../helpers/recognition-sites.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gz', 'zj', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

const orgChoices = (html: string) => [...html.matchAll(/<input type="radio" name="org" value="([^"]+)"/g)].map((m) => m[1]!);

/**
 * A new person registers at `op` in a legal-person login and, as its legal representative,
 * registers a new organization there; the organization picker is returned with the flow.
 */
async function representativeRegisters(op: string, password: string) {
  const rep = await newPerson(fed);
  const res = await fetch(`${fed.topology.services().url}/demo/organizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rep_id_number: rep.id_number }),
  });
  const org = (await res.json()) as { uscc: string; name: string };
  const rp = await relyingParty(fed, op);
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid profile legal_person' });
  const picker = await registerOnPage(fed, ua, a.page, rep, password);
  const registered = await ua.submit(picker, '/org/register', { uscc: org.uscc, org_name: org.name });
  await homePublished(fed, 'natural', rep.id_number, fed.url(op));
  if (registered.status === 201) await homePublished(fed, 'legal', org.uscc, fed.url(op));
  return { rep, org, rp, ua, a, picker, registered };
}

test('the representative of an organization registered at gz acts for it at zj, with the claims of its home', async (t) => {
  // At home: registration of the person, then of the organization, in one login.
  const { rep, org, rp: atGz, ua, a, registered } = await representativeRegisters('gz', 'Legal-cross-1');
  t.is(registered.status, 201);
  const homeClaims = (
    await redeem(atGz, await ua.submit(registered, '/org', { org: orgChoices(registered.html)[0]! }, REDIRECT_URI), a)
  ).claims()!;

  // Elsewhere, in another browser: identifier at zj, password and organization at gz.
  const atZj = await relyingParty(fed, 'zj', { scope: 'openid profile legal_person' });
  const ua2 = new UserAgent();
  const b = await authorize(atZj, ua2, { scope: 'openid profile legal_person' }, true);
  const password = await ua2.submit(b.page, '/identifier', { identifier: rep.id_number });
  t.true(password.url.startsWith(fed.url('gz')), password.url);
  const homePicker = await ua2.submit(password, '/password', { password: 'Legal-cross-1' });
  t.true(homePicker.url.startsWith(fed.url('gz')));
  t.deepEqual(orgChoices(homePicker.html), [homeClaims.sub]);
  const back = await throughConsent(ua2, await ua2.submit(homePicker, '/org', { org: homeClaims.sub }, REDIRECT_URI));
  const claims = (await redeem(atZj, back, b)).claims()!;
  t.is(claims.user_type, 'legal');
  t.is(claims.home, fed.url('gz'));
  t.is(claims.recognized, true);
  t.is(claims.uscc, org.uscc);
  t.is(claims.org_name, org.name);
  t.is(claims.agent_role, 'representative');
  t.is((claims.act as { name: string }).name, rep.name);
  t.not(claims.sub, homeClaims.sub, 'zj speaks of the organization with its own subject');
});

test('an organization registered at gz cannot be registered again at zj: its representative is told where', async (t) => {
  const atGz = await representativeRegisters('gz', 'Legal-once-1');
  t.is(atGz.registered.status, 201);

  // At zj, a person registered there registers an organization of their own, then tries gz's.
  const atZj = await representativeRegisters('zj', 'Legal-once-2');
  t.is(atZj.registered.status, 201, 'a new organization registers at zj');
  const again = await atZj.ua.submit(atZj.picker, '/org/register', { uscc: atGz.org.uscc, org_name: atGz.org.name });
  t.is(again.status, 409);
  t.regex(again.html, /已在“广州市政务服务网”注册/);
});
