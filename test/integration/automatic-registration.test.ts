/**
 * Automatic registration across provinces: a portal that is a subordinate of Zhejiang uses the
 * Guangdong OP with its entity ID as client_id, authenticating with private_key_jwt and the keys
 * its trust chain publishes; a portal whose chain is broken, or whose metadata its superior's
 * policy forbids, is refused.
 */
import test from 'ava';
import Koa from 'koa';
import { exportJWK, generateKeyPair } from 'jose';
import { randomUUID } from 'node:crypto';
import { listen, type Listener } from '../../infra/http-server.ts';
import { entityConfigurationMiddleware } from '../../federation/entity-configuration.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { federationCommand } from '../../cli/federation-command.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson, oidc, redeem, registerOnPage, REDIRECT_URI } from '../helpers/flows.ts';

let fed: TestFederation;
const portals: Listener[] = [];

test.before(async () => {
  fed = await startTestFederation(['national', 'gd', 'zj', 'registries']);
});
test.after.always(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await fed?.close();
});

async function privateJwk(): Promise<{ jwk: PrivateJwk; key: CryptoKey }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { jwk: { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' } as PrivateJwk, key: privateKey as CryptoKey };
}

/** A relying portal of the federation: its entity configuration names zj as its superior. */
async function startPortal() {
  const federationKey = await privateJwk();
  const clientKey = await privateJwk();
  const app = new Koa();
  let url = '';
  const { d: _d, ...publicClientKey } = clientKey.jwk;
  app.use(
    entityConfigurationMiddleware(() => ({
      entityId: url,
      keys: [federationKey.jwk],
      authorityHints: [fed.url('zj')],
      metadata: {
        openid_relying_party: {
          client_name: '测试门户',
          redirect_uris: [REDIRECT_URI],
          response_types: ['code'],
          grant_types: ['authorization_code', 'refresh_token'],
          token_endpoint_auth_method: 'private_key_jwt',
          id_token_signed_response_alg: 'ES256',
          jwks: { keys: [publicClientKey] },
        },
      },
    })),
  );
  const listener = await listen(app.callback(), 0);
  portals.push(listener);
  url = `http://127.0.0.1:${listener.port}`;
  return { url, clientKey };
}

async function rpFor(entityId: string, key: { jwk: PrivateJwk; key: CryptoKey }) {
  return oidc.discovery(new URL(fed.url('gd')), entityId, {}, oidc.PrivateKeyJwt({ key: key.key, kid: key.jwk.kid }), { execute: [oidc.allowInsecureRequests] });
}

async function pushedLogin(config: oidc.Configuration) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    nonce,
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url, verifier, state, nonce };
}

test.serial('a portal of another province logs in by its entity ID through its trust chain', async (t) => {
  const portal = await startPortal();
  await federationCommand('add-subordinate', { entity: 'zj', subject: portal.url }, { topology: fed.topology, dataDir: fed.config.dataDir });
  // The authority picks the change up without a restart (it looks at its file at most once a second).
  await new Promise((r) => setTimeout(r, 1100));

  const config = await rpFor(portal.url, portal.clientKey);
  const { url, verifier, state, nonce } = await pushedLogin(config);
  const ua = new UserAgent();
  const page = await ua.navigate(url.toString(), {}, REDIRECT_URI);
  const callback = await registerOnPage(fed, ua, page, await newPerson(fed), 'Auto-regist1');
  const tokens = await redeem({ config, clientId: portal.url, issuer: fed.url('gd') }, callback, { page, verifier, state, nonce });
  t.is(tokens.claims()!.aud, portal.url);
  t.is(tokens.claims()!.iss, fed.url('gd'));
});

test.serial('a portal with no trust chain is refused at the PAR endpoint', async (t) => {
  const portal = await startPortal();
  const config = await rpFor(portal.url, portal.clientKey);
  const err = await t.throwsAsync<oidc.ResponseBodyError>(pushedLogin(config));
  t.is(err?.error, 'invalid_client');
});

test.serial("a portal whose metadata its superior's policy forbids is refused", async (t) => {
  const portal = await startPortal();
  const policyFile = join(fed.config.dataDir, 'forbid.json');
  writeFileSync(policyFile, JSON.stringify({ openid_relying_party: { grant_types: { subset_of: ['authorization_code'] }, token_endpoint_auth_method: { one_of: ['client_secret_basic'] } } }));
  await federationCommand('add-subordinate', { entity: 'zj', subject: portal.url, policy: policyFile }, { topology: fed.topology, dataDir: fed.config.dataDir });
  await new Promise((r) => setTimeout(r, 1100));
  const config = await rpFor(portal.url, portal.clientKey);
  const err = await t.throwsAsync<oidc.ResponseBodyError>(pushedLogin(config));
  t.is(err?.error, 'invalid_client');
});
