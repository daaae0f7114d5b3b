/**
 * Where the federation's policy says so (topology `policy.portal_trust_mark_required`), an OP
 * accepts a portal by automatic registration only while it holds a valid government-portal trust
 * mark from the national issuer.
 */
import test from 'ava';
import { federationCommand } from '../../cli/federation-command.ts';
import { trustMarkCommand } from '../../cli/trust-mark-command.ts';
import { GOVERNMENT_PORTAL } from '../../federation/trust-marks.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { oidc } from '../helpers/flows.ts';
import { FederationPortals, portalClient, pushedLogin } from '../helpers/federation-portal.ts';

let fed: TestFederation;
let portals: FederationPortals;

test.before(async () => {
  fed = await startTestFederation(['national', 'gd', 'zj', 'registries'], {
    edit: (raw) => {
      raw.policy = { portal_trust_mark_required: true };
    },
  });
  portals = new FederationPortals();
});
test.after.always(async () => {
  await portals?.close();
  await fed?.close();
});

test('a portal without a government-portal trust mark is refused; once it holds one it is accepted', async (t) => {
  let marks: { trust_mark_type: string; trust_mark: string }[] = [];
  const portal = await portals.start(fed.url('zj'), () => marks);
  const ctx = { topology: fed.topology, dataDir: fed.config.dataDir };
  await federationCommand('add-subordinate', { entity: 'zj', subject: portal.url }, ctx);
  await new Promise((r) => setTimeout(r, 1100));

  const refused = await t.throwsAsync<oidc.ResponseBodyError>(pushedLogin(await portalClient(fed.url('gd'), portal)));
  t.is(refused?.error, 'invalid_client');

  await trustMarkCommand('grant', { sub: portal.url, type: 'government-portal' }, ctx);
  await new Promise((r) => setTimeout(r, 1100));
  const res = await fetch(
    `${fed.url('national')}/federation/trust-mark?${new URLSearchParams({ trust_mark_type: GOVERNMENT_PORTAL, sub: portal.url })}`,
  );
  t.is(res.status, 200);
  marks = [{ trust_mark_type: GOVERNMENT_PORTAL, trust_mark: (await res.text()).trim() }];

  const { url } = await pushedLogin(await portalClient(fed.url('gd'), portal));
  t.true(url.toString().startsWith(`${fed.url('gd')}/auth?`));
});
