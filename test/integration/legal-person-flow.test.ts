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
  const res = await fetch(`${fed.topology.services().url}/demo/organizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rep_id_number: repIdNumber }),
  });
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

  const wrongCheck = await ua.submit(picker, '/org/register', {
    uscc: org.uscc.slice(0, 17) + (org.uscc[17] === '0' ? '1' : '0'),
    org_name: org.name,
  });
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
  const tampered = await ua2.navigate(new URL(`${findForm(picker2.html, '/org').action}`, picker2.url).toString(), {
    form: { ...hidden, org: 'someone-elses-org' },
  });
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

async function accountArea(ua: UserAgent, op: string, identifier: string, password: string) {
  const login = await ua.navigate(`${fed.url(op)}/account`);
  const pw = await ua.submit(login, '/identifier', { identifier });
  return ua.submit(pw, '/password', { password });
}

test('the representative authorizes an agent, who then acts for the organization until revoked', async (t) => {
  const rp = await relyingParty(fed, 'gz');
  const rep = await newPerson(fed);
  const agent = await newPerson(fed);
  const org = await newOrganization(rep.id_number);

  // Both register as natural persons first.
  for (const p of [rep, agent]) {
    const ua = new UserAgent();
    const a = await authorize(rp, ua);
    await redeem(rp, await registerOnPage(fed, ua, a.page, p, 'Person-pass1'), a);
  }

  const repUa = new UserAgent();
  const account = await accountArea(repUa, 'gz', rep.phone, 'Person-pass1');
  t.is(account.status, 200, account.html.slice(0, 500));
  t.regex(account.html, /我的账号/);
  const registered = await repUa.submit(account, '/account/organizations', { uscc: org.uscc, org_name: org.name });
  t.is(registered.status, 201);
  const manageUrl = /href="(\/account\/organizations\/[^"]+)"/.exec(registered.html)![1]!;
  const manage = await repUa.navigate(new URL(manageUrl, registered.url).toString());
  t.regex(manage.html, /新增授权/);

  const mismatch = await repUa.submit(manage, '/agents', {
    name: '不是此人',
    id_number: agent.id_number,
    role: 'agent',
    categories: 'tax',
    expires: '',
  });
  t.is(mismatch.status, 422);
  const noCategory = await repUa.submit(manage, '/agents', { name: agent.name, id_number: agent.id_number, role: 'agent', expires: '' });
  t.is(noCategory.status, 400);
  const pastDate = await repUa.submit(manage, '/agents', {
    name: agent.name,
    id_number: agent.id_number,
    role: 'agent',
    categories: 'tax',
    expires: '2001-01-01',
  });
  t.is(pastDate.status, 400);
  const added = await repUa.submit(manage, '/agents', {
    name: agent.name,
    id_number: agent.id_number,
    role: 'agent',
    categories: 'tax',
    expires: '',
  });
  t.is(added.status, 201);
  t.regex(added.html, new RegExp(agent.name));
  const twice = await repUa.submit(manage, '/agents', {
    name: agent.name,
    id_number: agent.id_number,
    role: 'agent',
    categories: 'tax',
    expires: '',
  });
  t.is(twice.status, 409);

  // The agent logs in for the organization.
  const agentUa = new UserAgent();
  const a = await authorize(rp, agentUa, { scope: 'openid profile legal_person' });
  const pw = await agentUa.submit(a.page, '/identifier', { identifier: agent.id_number });
  const picker = await agentUa.submit(pw, '/password', { password: 'Person-pass1' });
  const [orgSubject] = orgChoices(picker.html);
  const tokens = await redeem(rp, await agentUa.submit(picker, '/org', { org: orgSubject! }, REDIRECT_URI), a);
  const claims = tokens.claims()!;
  t.is(claims.user_type, 'legal');
  t.is(claims.agent_role, 'agent');
  t.deepEqual(claims.service_categories, ['tax']);
  t.is((claims.act as { name: string }).name, agent.name);

  // An agent cannot manage the organization.
  const agentAccount = await accountArea(new UserAgent(), 'gz', agent.id_number, 'Person-pass1');
  t.notRegex(agentAccount.html, /href="\/account\/organizations\//);

  // Revocation: refresh stops at once, and the next login offers no organization.
  const revokeForm = /action="(\/account\/organizations\/[^"]+\/agents\/[^"]+\/revoke)"/.exec(added.html)![1]!;
  const revoked = await repUa.submit(added, revokeForm, {});
  t.is(revoked.status, 200);
  const refused = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
  t.is(refused?.error, 'invalid_grant');
  const agentUa2 = new UserAgent();
  const a2 = await authorize(rp, agentUa2, { scope: 'openid legal_person' });
  const pw2 = await agentUa2.submit(a2.page, '/identifier', { identifier: agent.id_number });
  const picker2 = await agentUa2.submit(pw2, '/password', { password: 'Person-pass1' });
  t.deepEqual(orgChoices(picker2.html), []);
});

test('an authorization that lapses stops refresh for the organization', async (t) => {
  const rp = await relyingParty(fed, 'gz');
  const rep = await newPerson(fed);
  const org = await newOrganization(rep.id_number);
  const ua = new UserAgent();
  const a = await authorize(rp, ua, { scope: 'openid legal_person' });
  const picker = await registerOnPage(fed, ua, a.page, rep, 'Lapse-pass1');
  const registered = await ua.submit(picker, '/org/register', { uscc: org.uscc, org_name: org.name });
  const [orgSubject] = orgChoices(registered.html);
  const tokens = await redeem(rp, await ua.submit(registered, '/org', { org: orgSubject! }, REDIRECT_URI), a);
  const rotated = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  // The mandate lapses (as an expiry date passing would make it).
  const db = fed.host.entities.find((e) => e.entity.id === 'gz')!.runtime.db;
  await db.query("UPDATE agent_authorizations SET expires_at = now() - interval '1 second' WHERE legal_subject = $1", [orgSubject]);
  const refused = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(rp.config, rotated.refresh_token!));
  t.is(refused?.error, 'invalid_grant');
});
