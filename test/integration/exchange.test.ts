import test from 'ava';
import { decodeJwt } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson, relyingParty } from '../helpers/flows.ts';
import { opSite, registerAt } from '../helpers/recognition-sites.ts';
import { consentAt, dataAccessDetail, requestData } from '../helpers/exchange-flows.ts';

const PASSWORD = 'Passw0rd-gov';
let fed: TestFederation;
test.before(async () => {
  fed = await startTestFederation(['gz', 'zj', 'registries']);
});
test.after.always(async () => {
  await fed?.close();
});

test('smoke: a person registered at gz consents at zj and the node reads their population facts', async (t) => {
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, PASSWORD);
  const node = fed.url('registries');
  const detail = dataAccessDetail({
    holder: node,
    requester: node,
    dataset: 'population-facts',
    attributes: ['name', 'birth_date'],
    purpose: 'permit-application',
    item: '11440100MB2C9H1A3J000001',
  });
  const rp = await relyingParty(fed, 'zj');
  const out = await consentAt(rp, new UserAgent(), { identifier: person.id_number, password: PASSWORD, details: [detail], mode: 'once' });
  t.truthy(out.consentPage, 'the consent page was shown');
  t.log(out.consentPage?.html);
  t.truthy(out.accessToken, out.last.html.slice(0, 2000) + out.last.url);
  t.log(decodeJwt(out.accessToken!));
  const answer = await requestData(fed, 'registries', {
    holder: node,
    access_token: out.accessToken!,
    subject: { kind: 'natural', id_number: person.id_number },
    dataset: 'population-facts',
    attributes: ['name', 'birth_date'],
    purpose: 'permit-application',
    item: '11440100MB2C9H1A3J000001',
  });
  t.log(answer);
  t.is(answer.status, 200);
});
