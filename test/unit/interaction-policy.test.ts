/**
 * When an OP asks the person to sign in (again) or to consent. idp/oidc/interaction-policy.ts adds
 * four login checks to oidc-provider's defaults, answered by idp/oidc/session-facts.ts from the
 * OP's real accounts (PGlite) and store; provider-config.ts's loadExistingGrant decides when no
 * consent page is needed (a grant given before, or a first-party client). The checks are run on
 * the request context oidc-provider hands them (its `ctx.oidc`), built here with the fields they read.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { BlindIndex, FieldCipher, randomToken } from '../../infra/crypto.ts';
import type { PrivateJwk } from '../../infra/entity-keys.ts';
import { openKeyValueStore } from '../../infra/key-value-store.ts';
import { migrate } from '../../infra/migrate.ts';
import { AccountDirectory } from '../../idp/accounts/account-directory.ts';
import { LegalPersonAccounts } from '../../idp/accounts/legal-person-accounts.ts';
import { NaturalPersonAccounts } from '../../idp/accounts/natural-person-accounts.ts';
import { RecognizedAccounts } from '../../idp/accounts/recognized-accounts.ts';
import { endedSessionKey } from '../../idp/broker/session-termination.ts';
import { DEFAULT_ACR_URIS } from '../../federation/loa.ts';
import { artifactAdapter, latestGrantId } from '../../idp/oidc/artifact-adapter.ts';
import { ClientStore } from '../../idp/oidc/client-store.ts';
import { interactionPolicyFor, LEGAL_PERSON_SCOPE } from '../../idp/oidc/interaction-policy.ts';
import { providerConfiguration } from '../../idp/oidc/provider-config.ts';
import { sessionFacts } from '../../idp/oidc/session-facts.ts';
import { randomDraw, syntheticIdNumber } from '../../services/population/synthetic-persons.ts';
import { syntheticUscc } from '../../services/legal-persons/synthetic-organizations.ts';
import { databaseEngines, uniqueName } from '../helpers/unit-engines.ts';

const { engines, cleanup } = databaseEngines('policy');
const ISSUER = 'http://127.0.0.1:1/unit-op';
const PORTAL = 'https://portal.example.gov.cn';
const PHONE = '13800138000';
const { loa1, loa2, loa3 } = DEFAULT_ACR_URIS;

/** One OP's accounts, store and policy, shared by the tests (they only read). */
async function op() {
  const db = await engines[0]!.open('unit_policy');
  await migrate(db, ['common', 'idp']);
  const kv = await openKeyValueStore({ namespace: uniqueName('gov-id-unit-policy') });
  const cipher = new FieldCipher(randomBytes(32));
  const blindIndex = new BlindIndex(randomBytes(32));
  const accounts = new NaturalPersonAccounts(db, cipher, blindIndex);
  const legals = new LegalPersonAccounts(db, cipher, blindIndex);
  const recognized = new RecognizedAccounts(db, cipher, blindIndex);
  const idNumber = syntheticIdNumber(randomDraw);
  const person = await accounts.register({ name: '张三', idNumber, phone: PHONE, passwordHash: 'unused', loa: 'loa2' }, null);
  const organization = await legals.register(
    {
      uscc: syntheticUscc(randomDraw),
      orgName: '广州示例科技有限公司',
      orgType: null,
      representative: { subject: person.subject, name: person.name, idNumberIndex: person.idNumberIndex },
    },
    null,
  );
  const visitorIdNumber = syntheticIdNumber(randomDraw);
  const visitor = await recognized.link(
    {
      kind: 'natural',
      identifier: visitorIdNumber,
      home: 'https://gz.example.gov.cn',
      upstream: 'https://gd.example.gov.cn',
      upstreamSubject: 'gd-1',
      loa: 'loa1',
      claims: {},
    },
    PORTAL,
    { event: 'login.recognized', detail: {} },
  );
  const directory = new AccountDirectory(accounts, legals, recognized);
  const policy = interactionPolicyFor(sessionFacts({ directory, accounts, kv, acrUris: DEFAULT_ACR_URIS }));
  return { db, kv, policy, person, idNumber, organization, visitor, visitorIdNumber };
}
let setup: ReturnType<typeof op>;
test.before(() => {
  setup = op();
});
test.after.always(async () => {
  await (await setup.catch(() => null))?.kv.close();
  await cleanup();
});

interface Request {
  /** The session's account; none: no one is signed in. */
  accountId?: string;
  sessionAcr?: string;
  /** Clients the session holds a grant for. */
  grants?: string[];
  params?: Record<string, string>;
  scope?: string;
  /** The person has just signed in, in the interaction this request resumes. */
  justLoggedIn?: boolean;
}

/** The `ctx.oidc` fields the checks read, as oidc-provider fills them. */
function context(r: Request, sessionUid = randomToken(8)): KoaContextWithOIDC {
  const scope = r.scope ?? 'openid profile';
  return {
    oidc: {
      session: r.accountId
        ? {
            uid: sessionUid,
            accountId: r.accountId,
            acr: r.sessionAcr,
            grantIdFor: (clientId: string) => (r.grants?.includes(clientId) ? 'grant-1' : undefined),
          }
        : { uid: sessionUid },
      params: { client_id: PORTAL, scope, ...r.params },
      client: { clientId: PORTAL },
      requestParamScopes: new Set(scope.split(' ')),
      result: r.justLoggedIn ? { login: { accountId: r.accountId } } : undefined,
    },
  } as unknown as KoaContextWithOIDC;
}

/** Whether one of our login checks asks for a login. */
async function asks(reason: string, r: Request, sessionUid?: string): Promise<boolean> {
  const { policy } = await setup;
  const check = policy.get('login')!.checks.get(reason)!;
  return Boolean(await check.check(context(r, sessionUid)));
}

test("the login prompt keeps oidc-provider's checks and adds four; consent keeps its own", async (t) => {
  const { policy } = await setup;
  t.deepEqual(
    policy.get('login')!.checks.map((c) => c.reason),
    [
      ...interactionPolicy
        .base()
        .get('login')!
        .checks.map((c) => c.reason),
      'session_ended',
      'login_hint_mismatch',
      'acr_not_met',
      'persona_mismatch',
    ],
  );
  t.deepEqual(
    policy.get('consent')!.checks.map((c) => c.reason),
    interactionPolicy
      .base()
      .get('consent')!
      .checks.map((c) => c.reason),
  );
});

test('session_ended: a session a logout elsewhere ended asks for a login; a live one, or none, does not', async (t) => {
  const { person, kv } = await setup;
  const ended = randomToken(8);
  await kv.set(endedSessionKey(ended), '1', 600);
  t.true(await asks('session_ended', { accountId: person.subject }, ended));
  t.false(await asks('session_ended', { accountId: person.subject }));
  t.false(await asks('session_ended', {}, ended), 'no one signed in: the base checks ask anyway');
});

test("login_hint_mismatch: a hint naming another person than the session's asks for a login", async (t) => {
  const { person, idNumber, visitor, visitorIdNumber } = await setup;
  const other = syntheticIdNumber(randomDraw);
  t.false(await asks('login_hint_mismatch', { accountId: person.subject, params: { login_hint: idNumber } }), 'its ID number');
  t.false(
    await asks('login_hint_mismatch', { accountId: person.subject, params: { login_hint: ` ${idNumber.toLowerCase()} ` } }),
    'trimmed, any case',
  );
  t.false(await asks('login_hint_mismatch', { accountId: person.subject, params: { login_hint: PHONE } }), 'its phone');
  t.true(await asks('login_hint_mismatch', { accountId: person.subject, params: { login_hint: other } }), 'another ID number');
  t.true(
    await asks('login_hint_mismatch', { accountId: person.subject, params: { login_hint: 'not-an-identifier' } }),
    'neither ID number nor phone',
  );
  t.false(
    await asks('login_hint_mismatch', { accountId: visitor.subject, params: { login_hint: visitorIdNumber } }),
    'a recognized account, its ID number',
  );
  t.true(
    await asks('login_hint_mismatch', { accountId: visitor.subject, params: { login_hint: idNumber } }),
    'a recognized account, another person',
  );
  t.false(
    await asks('login_hint_mismatch', { accountId: person.subject, params: { login_hint: other }, justLoggedIn: true }),
    'just signed in: asking again would loop',
  );
  t.false(await asks('login_hint_mismatch', { accountId: person.subject }), 'no hint');
  t.false(await asks('login_hint_mismatch', { params: { login_hint: other } }), 'no one signed in');
});

test("login_hint_mismatch: an organization's session is not checked against a person's hint (persona_mismatch decides)", async (t) => {
  const { organization, idNumber } = await setup;
  t.false(
    await asks('login_hint_mismatch', {
      accountId: organization,
      params: { login_hint: idNumber },
      scope: `openid ${LEGAL_PERSON_SCOPE}`,
      grants: [PORTAL],
    }),
  );
});

test("acr_not_met: single sign-on only when the session's level meets the lowest level asked", async (t) => {
  const { person } = await setup;
  const at = (sessionAcr: string | undefined, acrValues: string, justLoggedIn = false) =>
    asks('acr_not_met', {
      accountId: person.subject,
      ...(sessionAcr ? { sessionAcr } : {}),
      params: { acr_values: acrValues },
      justLoggedIn,
    });
  t.true(await at(loa1, loa2));
  t.true(await at(loa2, `${loa3}`));
  t.false(await at(loa2, loa2));
  t.false(await at(loa3, loa1));
  t.false(await at(loa1, `${loa2} ${loa1}`), 'the lowest level asked is met');
  t.false(await at(loa1, 'urn:example:unknown'), 'levels the OP does not know ask nothing');
  t.true(await at(undefined, loa1), 'a session without a level meets none');
  t.true(await at('urn:example:unknown', loa1), 'nor one with an unknown level');
  t.false(await at(loa1, loa3, true), 'just signed in: the level reached is the answer');
  t.false(await asks('acr_not_met', { accountId: person.subject }), 'no acr_values');
});

test('persona_mismatch: a session acts for one persona; a legal-person request needs an organization with a grant for the client', async (t) => {
  const { person, organization, visitor } = await setup;
  const legal = `openid ${LEGAL_PERSON_SCOPE}`;
  t.false(await asks('persona_mismatch', { accountId: person.subject }), 'a person, as a person');
  t.false(await asks('persona_mismatch', { accountId: visitor.subject }), 'a recognized person, as a person');
  t.true(await asks('persona_mismatch', { accountId: person.subject, scope: legal }), 'a person asked for an organization: pick one');
  t.true(await asks('persona_mismatch', { accountId: organization }), 'an organization asked for a person');
  t.false(
    await asks('persona_mismatch', { accountId: organization, scope: legal, grants: [PORTAL] }),
    'the organization, bound for this client',
  );
  t.true(
    await asks('persona_mismatch', { accountId: organization, scope: legal, grants: ['https://other-portal.example.gov.cn'] }),
    'no acting person bound for this client',
  );
  t.false(await asks('persona_mismatch', { scope: legal }), 'no one signed in');
});

// ---------------------------------------------------------------------------------------------
// Consent: loadExistingGrant
// ---------------------------------------------------------------------------------------------

const FIRST_PARTY = 'account-area';

async function provider() {
  const { db, kv, policy } = await setup;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey: PrivateJwk = { ...(await exportJWK(privateKey)), kid: 'unit-1', alg: 'ES256', use: 'sig' };
  const config = providerConfiguration({
    entityId: 'unit',
    issuer: ISSUER,
    adapter: artifactAdapter(db, kv, new ClientStore(db, new FieldCipher(randomBytes(32)))),
    findAccount: async () => undefined,
    interactionPolicy: policy,
    maySkipConsent: async (clientId) => clientId === FIRST_PARTY,
    earlierGrant: (accountId, clientId) => latestGrantId(db, accountId, clientId),
    signingKeys: [signingKey],
    cookieKeys: [randomToken()],
    acrUris: DEFAULT_ACR_URIS,
    renderError: async () => undefined,
    isResourceServer: async () => false,
    logoutSource: async () => undefined,
    postLogoutSuccessSource: async () => undefined,
  });
  return { config, provider: new Provider(ISSUER, config) };
}

function consentContext(provider: Provider, clientId: string, accountId: string, sessionGrant?: string): KoaContextWithOIDC {
  return {
    oidc: {
      provider,
      client: { clientId },
      session: { accountId, grantIdFor: () => sessionGrant },
      result: undefined,
      requestParamScopes: new Set(['openid', 'profile']),
    },
  } as unknown as KoaContextWithOIDC;
}

test('consent: a first-party client gets a grant for what it asks without a consent page; a portal does not', async (t) => {
  const { config, provider: p } = await provider();
  const accountId = randomToken(8);
  const firstParty = await config.loadExistingGrant!(consentContext(p, FIRST_PARTY, accountId));
  t.truthy(firstParty);
  t.deepEqual(firstParty!.getOIDCScope().split(' ').sort(), ['openid', 'profile']);
  t.truthy(await p.Grant.find(firstParty!.jti), 'saved');
  t.is(await config.loadExistingGrant!(consentContext(p, PORTAL, accountId)), undefined, 'the portal asks for consent');
  // The next login in a new session: what it asks for again, whatever an earlier grant held.
  const again = await config.loadExistingGrant!(consentContext(p, FIRST_PARTY, accountId));
  t.not(again!.jti, firstParty!.jti);
  t.deepEqual(again!.getOIDCScope().split(' ').sort(), ['openid', 'profile']);
});

test('consent: a grant the person gave the portal before is reused in this session, and carried into a grant of its own in a new session', async (t) => {
  const { config, provider: p } = await provider();
  const accountId = randomToken(8);
  const earlier = new p.Grant({ accountId, clientId: PORTAL });
  earlier.addOIDCScope('openid profile');
  const earlierId = await earlier.save();
  // A session of its own gets a grant of its own (its logout revokes that one only), with the consent carried over.
  const carried = await config.loadExistingGrant!(consentContext(p, PORTAL, accountId));
  t.truthy(carried, 'from an earlier session');
  t.not(carried!.jti, earlierId);
  t.is(carried!.getOIDCScope(), 'openid profile');
  t.is(carried!.exp, (await p.Grant.find(earlierId))!.exp, 'the consent keeps its expiry');
  const inSession = new p.Grant({ accountId, clientId: PORTAL });
  inSession.addOIDCScope('openid');
  const inSessionId = await inSession.save();
  t.is(
    (await config.loadExistingGrant!(consentContext(p, PORTAL, accountId, inSessionId)))?.jti,
    inSessionId,
    "the session's own grant first",
  );
  t.is(await config.loadExistingGrant!(consentContext(p, PORTAL, randomToken(8))), undefined, 'another person gave none');
});
