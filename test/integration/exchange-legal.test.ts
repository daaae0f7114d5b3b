/**
 * Consent for an organization's data (docs/exchange.md, "Legal persons"): at zj, an agent of an
 * organization registered at gz consents for it when the purpose is in the agent's service
 * categories, and the node serves the organization's facts; for a purpose outside them the consent
 * page says why and offers only to deny, and a forced "allow" is refused.
 */
import test from 'ava';
import { decodeJwt } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { relyingParty, type RelyingParty } from '../helpers/flows.ts';
import { opSite, organizationWithAgent } from '../helpers/recognition-sites.ts';
import { consentAt, dataAccessDetail, requestData, trustMarksHeld } from '../helpers/exchange-flows.ts';

const PASSWORD = 'Passw0rd-gov';
let fed: TestFederation;
let rp: RelyingParty;
let node: string;

test.before(async () => {
  fed = await startTestFederation(['gz', 'zj', 'zj-services', 'registries']);
  node = fed.url('registries');
  rp = await relyingParty(fed, 'zj', { scope: 'openid profile legal_person' });
  await trustMarksHeld(fed, ['gz', 'zj', 'gd']);
});
test.after.always(async () => {
  await fed?.close();
});

const orgFacts = (purpose: string) =>
  dataAccessDetail({
    holder: node,
    requester: fed.url('zj-services'),
    dataset: 'legal-person-facts',
    attributes: ['org_name', 'representative_name'],
    purpose,
    case: 'ZJ-2026-000042',
  });

test("an agent consents for the organization within their categories only; the node serves the organization's facts", async (t) => {
  const { org, agent } = await organizationWithAgent(fed, opSite(fed, 'gz'), PASSWORD);

  const allowed = await consentAt(rp, new UserAgent(), {
    identifier: agent.id_number,
    password: PASSWORD,
    details: [orgFacts('tax-filing')],
    mode: 'once',
    org: true,
  });
  t.truthy(allowed.consentPage);
  t.true(allowed.consentPage!.html.includes(org.name), 'the page names the organization');
  t.true(allowed.consentPage!.html.includes('经办人'), 'and the role the person consents in');
  t.truthy(allowed.accessToken, allowed.last.html.slice(0, 1500));
  const claims = decodeJwt(allowed.accessToken!);
  t.like((claims.authorization_details as object[])[0], { dataset: 'legal-person-facts', purpose: 'tax-filing' });
  const answer = await requestData(fed, 'zj-services', {
    holder: node,
    access_token: allowed.accessToken!,
    subject: { kind: 'legal', uscc: org.uscc },
    dataset: 'legal-person-facts',
    attributes: ['org_name', 'representative_name'],
    purpose: 'tax-filing',
    case: 'ZJ-2026-000042',
  });
  t.is(answer.status, 200, JSON.stringify(answer.json));
  t.is((answer.json.data as Record<string, string>).org_name, org.name);

  // Business registration is not among the agent's categories (tax only).
  const outside = await consentAt(rp, new UserAgent(), {
    identifier: agent.id_number,
    password: PASSWORD,
    details: [orgFacts('business-registration')],
    mode: null,
    org: true,
  });
  const page = outside.consentPage!.html;
  t.true(page.includes('不包含此用途所属的“市场监管（工商）”'), 'the page says why');
  t.false(page.includes('同意授权'), 'no allow button');
  t.is(new URL(outside.last.url).searchParams.get('error'), 'access_denied');
  // Posting "allow" all the same.
  const forced = await consentAt(rp, new UserAgent(), {
    identifier: agent.id_number,
    password: PASSWORD,
    details: [orgFacts('business-registration')],
    mode: 'once',
    org: true,
  });
  t.is(forced.last.status, 403);
  t.is(forced.accessToken, null);
});
