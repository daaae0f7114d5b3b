/**
 * Automatic registration across provinces: a portal that is a subordinate of Zhejiang uses the
 * Guangdong OP with its entity ID as client_id, authenticating with private_key_jwt and the keys
 * its trust chain publishes; a portal whose chain is broken, or whose metadata its superior's
 * policy forbids, is refused.
 */
import test from 'ava';
import { federationCommand } from '../../cli/federation-command.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson, oidc, redeem, registerOnPage, REDIRECT_URI } from '../helpers/flows.ts';
import { FederationPortals, portalClient, pushedLogin } from '../helpers/federation-portal.ts';

let fed: TestFederation;
let portals: FederationPortals;

test.before(async () => {
  fed = await startTestFederation(['national', 'gd', 'zj', 'registries']);
  portals = new FederationPortals();
});
test.after.always(async () => {
  await portals?.close();
  await fed?.close();
});

test.serial('a portal of another province logs in by its entity ID through its trust chain', async (t) => {
  const portal = await portals.start(fed.url('zj'));
  await federationCommand(
    'add-subordinate',
    { entity: 'zj', subject: portal.url },
    { topology: fed.topology, dataDir: fed.config.dataDir },
  );
  // The authority picks the change up without a restart (it looks at its file at most once a second).
  await new Promise((r) => setTimeout(r, 1100));

  const config = await portalClient(fed.url('gd'), portal);
  const { url, verifier, state, nonce } = await pushedLogin(config);
  const ua = new UserAgent();
  const page = await ua.navigate(url.toString(), {}, REDIRECT_URI);
  const callback = await registerOnPage(fed, ua, page, await newPerson(fed), 'Auto-regist1');
  const tokens = await redeem({ config, clientId: portal.url, issuer: fed.url('gd') }, callback, { page, verifier, state, nonce });
  t.is(tokens.claims()!.aud, portal.url);
  t.is(tokens.claims()!.iss, fed.url('gd'));
});

test.serial('a portal with no trust chain is refused at the PAR endpoint', async (t) => {
  const portal = await portals.start(fed.url('zj'));
  const config = await portalClient(fed.url('gd'), portal);
  const err = await t.throwsAsync<oidc.ResponseBodyError>(pushedLogin(config));
  t.is(err?.error, 'invalid_client');
});

test.serial("a portal whose metadata its superior's policy forbids is refused", async (t) => {
  const portal = await portals.start(fed.url('zj'));
  const policyFile = join(fed.config.dataDir, 'forbid.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      openid_relying_party: {
        grant_types: { subset_of: ['authorization_code'] },
        token_endpoint_auth_method: { one_of: ['client_secret_basic'] },
      },
    }),
  );
  await federationCommand(
    'add-subordinate',
    { entity: 'zj', subject: portal.url, policy: policyFile },
    { topology: fed.topology, dataDir: fed.config.dataDir },
  );
  await new Promise((r) => setTimeout(r, 1100));
  const config = await portalClient(fed.url('gd'), portal);
  const err = await t.throwsAsync<oidc.ResponseBodyError>(pushedLogin(config));
  t.is(err?.error, 'invalid_client');
});
