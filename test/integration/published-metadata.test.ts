/**
 * An OP publishes its metadata twice: its discovery document (what oidc-provider answers) and the
 * `openid_provider` metadata of its entity configuration (what the federation resolves). Both are
 * built from the same values (idp/oidc/provider-metadata.ts); for every OP of the demo they say
 * the same thing for every parameter they share, and the entity configuration says nothing that
 * discovery does not, apart from what only the federation asks.
 */
import test from 'ava';
import { decodeJwt } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';

/** OpenID Federation §12 parameters, which have no place in a discovery document. */
const FEDERATION_ONLY = ['client_registration_types_supported', 'request_authentication_methods_supported'];

/** What a relying party picks its requests by: each must be in both documents. */
const ESSENTIAL = [
  'issuer',
  'authorization_endpoint',
  'pushed_authorization_request_endpoint',
  'token_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
  'end_session_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
  'scopes_supported',
  'response_types_supported',
  'grant_types_supported',
  'code_challenge_methods_supported',
  'subject_types_supported',
  'id_token_signing_alg_values_supported',
  'token_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported',
  'acr_values_supported',
];

let fed: TestFederation;

test.before(async () => {
  // Every OP of the demo topology (national and gd come as the superiors of the others).
  fed = await startTestFederation(['gz', 'sz', 'js', 'zj']);
});
test.after.always(async () => {
  await fed?.close();
});

async function published(issuer: string) {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const configuration = decodeJwt(await (await fetch(`${issuer}/.well-known/openid-federation`)).text());
  const federation = (configuration.metadata as Record<string, Record<string, unknown>>).openid_provider!;
  return { discovery, federation };
}

test('every OP says the same in its discovery document and in its federation metadata', async (t) => {
  const ops = fed.topology.ops();
  t.deepEqual(ops.map((e) => e.id).sort(), ['gd', 'gz', 'js', 'national', 'sz', 'zj']);
  for (const op of ops) {
    const { discovery, federation } = await published(op.issuer!);
    for (const key of ESSENTIAL) {
      t.true(
        key in discovery && key in federation,
        `${op.id}: ${key} is published in ${key in discovery ? 'discovery only' : key in federation ? 'the federation metadata only' : 'neither'}`,
      );
    }
    for (const [key, value] of Object.entries(federation)) {
      if (FEDERATION_ONLY.includes(key)) continue;
      t.true(key in discovery, `${op.id}: ${key} is in the federation metadata but not in discovery`);
      t.deepEqual(value, discovery[key], `${op.id}: ${key} differs`);
    }
  }
});

test('the client authentication methods offered are the ones a client can be registered with', async (t) => {
  const { discovery, federation } = await published(fed.url('gz'));
  t.deepEqual(discovery.token_endpoint_auth_methods_supported, ['private_key_jwt', 'client_secret_basic', 'none']);
  t.deepEqual(federation.token_endpoint_auth_methods_supported, discovery.token_endpoint_auth_methods_supported);
});
