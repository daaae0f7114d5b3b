import test from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent, findForm, pageError } from '../helpers/user-agent.ts';
import { authorize, newPerson, oidc, redeem, registerOnPage, relyingParty, REDIRECT_URI } from '../helpers/flows.ts';

let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gz', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

async function newOrganization(repIdNumber: string): Promise<{ uscc: string; name: string }> {
  const res = await fetch(`${fed.topology.services().url}/demo/organizations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rep_id_number: repIdNumber }) });
  return (await res.json()) as { uscc: string; name: string };
}

const orgChoices = (html: string) => [...html.matchAll(/<input type="radio" name="org" value="([^"]+)"/g)].map((m) => m[1]!);

test('the legal representative registers the organization at login and gets legal-person tokens', async (t) => {
  const rp = await relyingParty(fed, 'gz');
  const rep = await newPerson(fed);
  const org = await newOrganization(rep.id_number);
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid profile legal_person' });
  const picker = await registerOnPage(fed, ua, a.page, rep, 'Legal-rep-1');
  t.regex(picker.html, /选择办事单位/);
  t.deepEqual(orgChoices(picker.html), []);

  const wrongCheck = await ua.submit(picker, '/org/register', { uscc: org.uscc.slice(0, 17) + (org.uscc[17] === '0' ? '1' : '0'), org_name: org.name });
  t.is(wrongCheck.status, 400);
  t.regex(pageError(wrongCheck)!, /校验位错误/);

  const registered = await ua.submit(picker, '/org/register', { uscc: org.uscc, org_name: org.name });
  t.is(registered.status, 201);
  const [orgSubject] = orgChoices(registered.html);
  t.truthy(orgSubject);
  const callback = await ua.submit(registered, '/org', { org: orgSubject! }, REDIRECT_URI);
  const tokens = await redeem(rp, callback, a);
  const claims = tokens.claims()!;
  t.is(claims.user_type, 'legal');
  t.is(claims.sub, orgSubject);
  t.is(claims.uscc, org.uscc);
  t.is(claims.org_name, org.name);
  t.is(claims.agent_role, 'representative');
  const act = claims.act as { sub: string; name: string };
  t.is(act.name, rep.name);
  t.not(act.sub, claims.sub);

  const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
  t.is(info.uscc, org.uscc);
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  t.is(refreshed.claims()!.sub, orgSubject);
  t.is((refreshed.claims()!.act as { sub: string }).sub, act.sub);

  // The same organization cannot be registered twice.
  const ua2 = new UserAgent();
  const a2 = await authorize(rp, ua2, { scope: 'openid legal_person' });
  const pw = await ua2.submit(a2.page, '/identifier', { identifier: rep.id_number });
  const picker2 = await ua2.submit(pw, '/password', { password: 'Legal-rep-1' });
  const again = await ua2.submit(picker2, '/org/register', { uscc: org.uscc, org_name: org.name });
  t.is(again.status, 409);
  t.regex(pageError(again)!, /已在本平台注册/);
  // A tampered choice is refused.
  const { hidden } = findForm(picker2.html, '/org');
  const tampered = await ua2.navigate(new URL(`${findForm(picker2.html, '/org').action}`, picker2.url).toString(), { form: { ...hidden, org: 'someone-elses-org' } });
  t.is(tampered.status, 403);
  t.regex(pageError(tampered)!, /无权代表/);
});

test('a person who is not the legal representative cannot register the organization', async (t) => {
  const rp = await relyingParty(fed, 'gz');
  const rep = await newPerson(fed);
  const org = await newOrganization(rep.id_number);
  const other = await newPerson(fed);
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid legal_person' });
  const picker = await registerOnPage(fed, ua, a.page, other, 'Not-the-rep1');
  const refused = await ua.submit(picker, '/org/register', { uscc: org.uscc, org_name: org.name });
  t.is(refused.status, 403);
  t.regex(pageError(refused)!, /法定代表人本人/);
  const unknown = await ua.submit(picker, '/org/register', { uscc: '91350100M000100Y43', org_name: org.name });
  t.is(unknown.status, 422);
  t.regex(pageError(unknown)!, /法人库中没有/);
  const misnamed = await ua.submit(picker, '/org/register', { uscc: org.uscc, org_name: '不存在的公司' });
  t.is(misnamed.status, 422);
});
