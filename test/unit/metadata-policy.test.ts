/**
 * federation/metadata-policy.ts against OpenID Federation 1.0 §6.1: the specification's worked
 * examples (§6.1.5 and the op.umu.se example of Appendix A), every standard operator, merge rules
 * and conflicts, illegal combinations, value:null, and the essential/subset_of table of §6.1.3.1.8.
 */
import test from 'ava';
import { MetadataPolicyError } from '../../federation/federation-errors.ts';
import { applyPolicy, combinePolicies, resolvePolicy, validatePolicy, type MetadataPolicy } from '../../federation/metadata-policy.ts';

type Md = Record<string, Record<string, unknown>>;

function policyError(
  t: import('ava').ExecutionContext,
  fn: () => unknown,
  kind: 'illegal' | 'conflict' | 'violation',
  match?: RegExp,
): MetadataPolicyError {
  const err = t.throws(fn, { instanceOf: MetadataPolicyError });
  t.is(err?.kind, kind, err?.message);
  if (match) t.regex(err!.message, match);
  return err!;
}

/** Arrays of strings sorted, for results whose order the specification leaves undefined. */
function sortArrays(md: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(md).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v]));
}

// -------------------------------------------------------------------------------------------
// §6.1.5 Metadata Policy Example
// -------------------------------------------------------------------------------------------

const TA_RP_POLICY: MetadataPolicy = {
  openid_relying_party: {
    grant_types: {
      default: ['authorization_code'],
      subset_of: ['authorization_code', 'refresh_token'],
      superset_of: ['authorization_code'],
    },
    token_endpoint_auth_method: { one_of: ['private_key_jwt', 'self_signed_tls_client_auth'], essential: true },
    token_endpoint_auth_signing_alg: { one_of: ['PS256', 'ES256'] },
    subject_type: { value: 'pairwise' },
    contacts: { add: ['helpdesk@federation.example.org'] },
  },
};
const INTERMEDIATE_RP_POLICY: MetadataPolicy = {
  openid_relying_party: {
    grant_types: { subset_of: ['authorization_code'] },
    token_endpoint_auth_method: { one_of: ['self_signed_tls_client_auth'] },
    contacts: { add: ['helpdesk@org.example.org'] },
  },
};
const INTERMEDIATE_RP_METADATA = {
  sector_identifier_uri: 'https://org.example.org/sector-ids.json',
  policy_uri: 'https://org.example.org/policy.html',
};
const LEAF_RP_METADATA = {
  redirect_uris: ['https://rp.example.org/callback'],
  response_types: ['code'],
  token_endpoint_auth_method: 'self_signed_tls_client_auth',
  contacts: ['rp_admins@rp.example.org'],
};

test('§6.1.5 example: merging the intermediate policy into the trust anchor policy', (t) => {
  t.deepEqual(combinePolicies(TA_RP_POLICY, INTERMEDIATE_RP_POLICY), {
    openid_relying_party: {
      grant_types: { default: ['authorization_code'], superset_of: ['authorization_code'], subset_of: ['authorization_code'] },
      token_endpoint_auth_method: { one_of: ['self_signed_tls_client_auth'], essential: true },
      token_endpoint_auth_signing_alg: { one_of: ['PS256', 'ES256'] },
      subject_type: { value: 'pairwise' },
      contacts: { add: ['helpdesk@federation.example.org', 'helpdesk@org.example.org'] },
    },
  });
  t.deepEqual(resolvePolicy([TA_RP_POLICY, INTERMEDIATE_RP_POLICY]), combinePolicies(TA_RP_POLICY, INTERMEDIATE_RP_POLICY));
});

test('§6.1.5 example: the resulting RP resolved metadata', (t) => {
  // The intermediate's metadata values are applied first, then the merged policy.
  const metadata = { openid_relying_party: { ...LEAF_RP_METADATA, ...INTERMEDIATE_RP_METADATA } };
  const resolved = applyPolicy(metadata, resolvePolicy([TA_RP_POLICY, INTERMEDIATE_RP_POLICY]));
  t.deepEqual(resolved, {
    openid_relying_party: {
      redirect_uris: ['https://rp.example.org/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      subject_type: 'pairwise',
      sector_identifier_uri: 'https://org.example.org/sector-ids.json',
      policy_uri: 'https://org.example.org/policy.html',
      contacts: ['rp_admins@rp.example.org', 'helpdesk@federation.example.org', 'helpdesk@org.example.org'],
    },
  });
  t.false('token_endpoint_auth_signing_alg' in resolved.openid_relying_party!, 'one_of does not create an absent parameter');
});

test('§6.1.5 example: an RP without the essential token_endpoint_auth_method is rejected', (t) => {
  const { token_endpoint_auth_method: _omitted, ...rest } = LEAF_RP_METADATA;
  policyError(
    t,
    () => applyPolicy({ openid_relying_party: rest }, resolvePolicy([TA_RP_POLICY, INTERMEDIATE_RP_POLICY])),
    'violation',
    /essential/,
  );
});

test('§6.1.5 example: an RP with the auth method the intermediate no longer allows is rejected', (t) => {
  const md = { openid_relying_party: { ...LEAF_RP_METADATA, token_endpoint_auth_method: 'private_key_jwt' } };
  t.notThrows(() => applyPolicy(md, TA_RP_POLICY));
  policyError(t, () => applyPolicy(md, resolvePolicy([TA_RP_POLICY, INTERMEDIATE_RP_POLICY])), 'violation', /one_of/);
});

// -------------------------------------------------------------------------------------------
// Appendix A: op.umu.se under umu.se, swamid.se and edugain.geant.org
// -------------------------------------------------------------------------------------------

const EDUGAIN_ABOUT_SWAMID: MetadataPolicy = {
  openid_provider: { contacts: { add: ['ops@edugain.geant.org'] } },
  openid_relying_party: { contacts: { add: ['ops@edugain.geant.org'] } },
};
const SWAMID_ABOUT_UMU: MetadataPolicy = {
  openid_provider: {
    id_token_signing_alg_values_supported: { subset_of: ['RS256', 'ES256', 'ES384', 'ES512'] },
    token_endpoint_auth_methods_supported: { subset_of: ['client_secret_jwt', 'private_key_jwt'] },
    userinfo_signing_alg_values_supported: { subset_of: ['ES256', 'ES384', 'ES512'] },
  },
};
const UMU_ABOUT_OP: MetadataPolicy = {
  openid_provider: {
    contacts: { add: ['ops@swamid.se'] },
    organization_name: { value: 'University of Umeå' },
    subject_types_supported: { value: ['pairwise'] },
    token_endpoint_auth_methods_supported: {
      default: ['private_key_jwt'],
      subset_of: ['private_key_jwt', 'client_secret_jwt'],
      superset_of: ['private_key_jwt'],
    },
  },
};
const OP_UMU_METADATA = {
  openid_provider: {
    issuer: 'https://op.umu.se',
    signed_jwks_uri: 'https://op.umu.se/jwks.jose',
    authorization_endpoint: 'https://op.umu.se/authorization',
    client_registration_types_supported: ['automatic', 'explicit'],
    request_parameter_supported: true,
    grant_types_supported: ['authorization_code', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
    id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    logo_uri: 'https://www.umu.se/img/umu-logo-left-neg-SE.svg',
    op_policy_uri: 'https://www.umu.se/en/website/legal-information/',
    response_types_supported: ['code', 'code id_token', 'token'],
    subject_types_supported: ['pairwise', 'public'],
    token_endpoint: 'https://op.umu.se/token',
    federation_registration_endpoint: 'https://op.umu.se/fedreg',
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'client_secret_jwt', 'private_key_jwt'],
  },
};

test('Appendix A: OP resolved metadata for https://op.umu.se', (t) => {
  const policy = resolvePolicy([EDUGAIN_ABOUT_SWAMID, SWAMID_ABOUT_UMU, UMU_ABOUT_OP]);
  const resolved = applyPolicy(OP_UMU_METADATA, policy);
  t.deepEqual(Object.keys(resolved), ['openid_provider'], 'the RP policy of eduGAIN adds no entity type');
  // The specification leaves the order of merged array values undefined: compare as sets.
  t.deepEqual(
    sortArrays(resolved.openid_provider!),
    sortArrays({
      authorization_endpoint: 'https://op.umu.se/authorization',
      contacts: ['ops@swamid.se', 'ops@edugain.geant.org'],
      federation_registration_endpoint: 'https://op.umu.se/fedreg',
      client_registration_types_supported: ['automatic', 'explicit'],
      grant_types_supported: ['authorization_code', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      issuer: 'https://op.umu.se',
      signed_jwks_uri: 'https://op.umu.se/jwks.jose',
      logo_uri: 'https://www.umu.se/img/umu-logo-left-neg-SE.svg',
      organization_name: 'University of Umeå',
      op_policy_uri: 'https://www.umu.se/en/website/legal-information/',
      request_parameter_supported: true,
      response_types_supported: ['code', 'code id_token', 'token'],
      subject_types_supported: ['pairwise'],
      token_endpoint: 'https://op.umu.se/token',
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_jwt'],
    }),
  );
  t.false('userinfo_signing_alg_values_supported' in resolved.openid_provider!);
});

// -------------------------------------------------------------------------------------------
// §6.1.3.1.8: essential and subset_of
// -------------------------------------------------------------------------------------------

const ESSENTIAL_SUBSET_TABLE: [essential: boolean, input: string[] | undefined, output: string[] | undefined | 'error'][] = [
  [true, ['a', 'e'], ['a']],
  [false, ['a', 'e'], ['a']],
  [true, ['d', 'e'], []],
  [false, ['d', 'e'], []],
  [true, undefined, 'error'],
  [false, undefined, undefined],
];
for (const [essential, input, output] of ESSENTIAL_SUBSET_TABLE) {
  test(`§6.1.3.1.8 table: essential=${essential}, subset_of [a,b,c], input ${JSON.stringify(input) ?? 'absent'}`, (t) => {
    const policy: MetadataPolicy = { openid_relying_party: { p: { essential, subset_of: ['a', 'b', 'c'] } } };
    const md: Md = { openid_relying_party: input === undefined ? {} : { p: input } };
    if (output === 'error') {
      policyError(t, () => applyPolicy(md, policy), 'violation');
      return;
    }
    const out = applyPolicy(md, policy).openid_relying_party!;
    if (output === undefined) t.false('p' in out);
    else t.deepEqual(out.p, output);
  });
}

// -------------------------------------------------------------------------------------------
// Each operator on its own
// -------------------------------------------------------------------------------------------

const rp = (params: Record<string, Record<string, unknown>>): MetadataPolicy => ({ openid_relying_party: params });
const apply = (md: Record<string, unknown>, params: Record<string, Record<string, unknown>>) =>
  applyPolicy({ openid_relying_party: md }, rp(params)).openid_relying_party!;

test('value assigns, replacing what the entity published (any JSON type)', (t) => {
  t.deepEqual(apply({ a: 'x' }, { a: { value: 'y' } }), { a: 'y' });
  t.deepEqual(apply({}, { a: { value: ['y'] } }), { a: ['y'] });
  t.deepEqual(apply({ a: true }, { a: { value: false } }), { a: false });
  t.deepEqual(apply({ a: 1 }, { a: { value: 2 } }), { a: 2 });
});

test('value null removes the parameter', (t) => {
  t.deepEqual(apply({ a: 'x', b: 1 }, { a: { value: null } }), { b: 1 });
  t.deepEqual(apply({ b: 1 }, { a: { value: null } }), { b: 1 });
  t.deepEqual(apply({ a: 'x' }, { a: { value: null, essential: false } }), {});
});

test('value null is not turned back on by the one_of, subset_of or superset_of checks (they apply to a present parameter)', (t) => {
  t.deepEqual(apply({ a: 'x' }, { a: { value: null, one_of: ['x', 'y'] } }), {});
  t.deepEqual(apply({ a: ['x'] }, { a: { value: null, subset_of: ['x'], superset_of: ['x'] } }), {});
});

test('add appends missing values, never duplicates, and initializes an absent parameter', (t) => {
  t.deepEqual(apply({ c: ['a', 'b'] }, { c: { add: ['b', 'c'] } }), { c: ['a', 'b', 'c'] });
  t.deepEqual(apply({}, { c: { add: ['x'] } }), { c: ['x'] });
  t.deepEqual(apply({ c: [1, 2] }, { c: { add: [2, 3] } }), { c: [1, 2, 3] });
  t.deepEqual(apply({ c: [{ k: 1 }] }, { c: { add: [{ k: 1 }, { k: 2 }] } }), { c: [{ k: 1 }, { k: 2 }] });
  policyError(t, () => apply({ c: 'scalar' }, { c: { add: ['x'] } }), 'violation', /array/);
});

test('default sets an absent parameter and never overrides a present one', (t) => {
  t.deepEqual(apply({}, { a: { default: 'd' } }), { a: 'd' });
  t.deepEqual(apply({ a: 'mine' }, { a: { default: 'd' } }), { a: 'mine' });
  t.deepEqual(apply({ a: [] }, { a: { default: ['d'] } }), { a: [] });
  t.deepEqual(apply({ a: false }, { a: { default: true } }), { a: false });
});

test('one_of checks a present value and ignores an absent one', (t) => {
  t.deepEqual(apply({ a: 'x' }, { a: { one_of: ['x', 'y'] } }), { a: 'x' });
  t.deepEqual(apply({}, { a: { one_of: ['x', 'y'] } }), {});
  policyError(t, () => apply({ a: 'z' }, { a: { one_of: ['x', 'y'] } }), 'violation', /one_of/);
  policyError(t, () => apply({ a: ['x'] }, { a: { one_of: ['x', 'y'] } }), 'violation', /one_of/);
  t.deepEqual(apply({ a: 2 }, { a: { one_of: [1, 2] } }), { a: 2 });
});

test('one_of with default and essential', (t) => {
  t.deepEqual(apply({}, { a: { default: 'x', one_of: ['x', 'y'] } }), { a: 'x' });
  policyError(t, () => apply({}, { a: { default: 'z', one_of: ['x', 'y'] } }), 'violation', /one_of/);
  policyError(t, () => apply({}, { a: { one_of: ['x'], essential: true } }), 'violation', /essential/);
  t.deepEqual(apply({}, { a: { one_of: ['x'], essential: false } }), {});
});

test('subset_of keeps the intersection, possibly empty, and ignores an absent parameter', (t) => {
  t.deepEqual(apply({ a: ['x', 'y', 'z'] }, { a: { subset_of: ['z', 'x'] } }), { a: ['x', 'z'] });
  t.deepEqual(apply({ a: ['q'] }, { a: { subset_of: ['x'] } }), { a: [] });
  t.deepEqual(apply({}, { a: { subset_of: ['x'] } }), {});
  policyError(t, () => apply({ a: 'x' }, { a: { subset_of: ['x'] } }), 'violation', /array/);
});

test('superset_of requires every listed value (equality included)', (t) => {
  t.deepEqual(apply({ a: ['x', 'y'] }, { a: { superset_of: ['x'] } }), { a: ['x', 'y'] });
  t.deepEqual(apply({ a: ['x'] }, { a: { superset_of: ['x'] } }), { a: ['x'] });
  t.deepEqual(apply({}, { a: { superset_of: ['x'] } }), {});
  policyError(t, () => apply({ a: ['y'] }, { a: { superset_of: ['x', 'y'] } }), 'violation', /superset_of|contain/);
});

test('subset_of and superset_of with identical values express set equality', (t) => {
  const eq = { a: { subset_of: ['x', 'y'], superset_of: ['x', 'y'] } };
  t.deepEqual(apply({ a: ['y', 'x'] }, eq), { a: ['y', 'x'] });
  t.deepEqual(apply({ a: ['y', 'x', 'z'] }, eq), { a: ['y', 'x'] }, 'subset_of removes z before superset_of checks');
  policyError(t, () => apply({ a: ['x'] }, eq), 'violation');
});

test('essential true requires the parameter; false or omitted does not', (t) => {
  policyError(t, () => apply({}, { a: { essential: true } }), 'violation', /essential/);
  t.deepEqual(apply({ a: {} }, { a: { essential: true } }), { a: {} }, 'any JSON type satisfies essential');
  t.deepEqual(apply({}, { a: { essential: false } }), {});
});

test('operators apply in order: value, add, default, one_of, subset_of, superset_of, essential', (t) => {
  // add after value; subset_of after add; superset_of checks the final array.
  t.deepEqual(apply({ a: ['mine'] }, { a: { value: ['x', 'y'], add: ['x'], subset_of: ['x', 'y', 'z'], superset_of: ['x'] } }), {
    a: ['x', 'y'],
  });
  // default is applied after add: add has created the parameter, so default does nothing.
  t.deepEqual(apply({}, { a: { add: ['x'], default: ['d'] } }), { a: ['x'] });
  // default before subset_of: the default is filtered too.
  t.deepEqual(apply({}, { a: { default: ['x', 'q'], subset_of: ['x'] } }), { a: ['x'] });
  // essential last: a default satisfies it.
  t.deepEqual(apply({}, { a: { default: 'd', essential: true } }), { a: 'd' });
});

test('a policy for an entity type the entity does not have adds nothing; other parameters are untouched', (t) => {
  const md = { openid_provider: { issuer: 'https://op.example', x: ['1'] } };
  const out = applyPolicy(md, { openid_relying_party: { contacts: { add: ['a@b'] } }, openid_provider: { y: { default: 'z' } } });
  t.deepEqual(out, { openid_provider: { issuer: 'https://op.example', x: ['1'], y: 'z' } });
  t.deepEqual(md, { openid_provider: { issuer: 'https://op.example', x: ['1'] } }, 'input not mutated');
});

test('language-tagged parameter names are distinct parameters', (t) => {
  t.deepEqual(apply({ client_name: 'A', 'client_name#zh-CN': '甲' }, { 'client_name#zh-CN': { value: '广州市' } }), {
    client_name: 'A',
    'client_name#zh-CN': '广州市',
  });
});

test('scope is processed as an array of scope values and stays a space-separated string', (t) => {
  t.deepEqual(apply({ scope: 'openid profile phone' }, { scope: { subset_of: ['openid', 'phone', 'id_number'] } }), {
    scope: 'openid phone',
  });
  t.deepEqual(apply({ scope: 'openid' }, { scope: { add: ['profile'] } }), { scope: 'openid profile' });
  t.deepEqual(apply({}, { scope: { default: ['openid'] } }), { scope: 'openid' });
  t.deepEqual(apply({}, { scope: { default: 'openid profile', superset_of: ['openid'] } }), { scope: 'openid profile' });
  policyError(t, () => apply({ scope: 'profile' }, { scope: { superset_of: ['openid'] } }), 'violation');
  t.notThrows(() => validatePolicy(rp({ scope: { value: 'openid profile', subset_of: ['openid', 'profile', 'phone'] } })));
});

// -------------------------------------------------------------------------------------------
// Merging (§6.1.4.1)
// -------------------------------------------------------------------------------------------

const merge = (a: Record<string, Record<string, unknown>>, b: Record<string, Record<string, unknown>>) =>
  combinePolicies(rp(a), rp(b)).openid_relying_party!;

test('merge: value only when equal', (t) => {
  t.deepEqual(merge({ a: { value: 'x' } }, { a: { value: 'x' } }), { a: { value: 'x' } });
  t.deepEqual(merge({ a: { value: null } }, { a: { value: null } }), { a: { value: null } });
  policyError(t, () => merge({ a: { value: 'x' } }, { a: { value: 'y' } }), 'conflict', /value/);
  policyError(t, () => merge({ a: { value: ['x', 'y'] } }, { a: { value: ['y', 'x'] } }), 'conflict', /value/);
  policyError(t, () => merge({ a: { value: 'x' } }, { a: { value: null } }), 'conflict', /value/);
});

test('merge: default only when equal (a subordinate cannot override the superior default)', (t) => {
  t.deepEqual(merge({ a: { default: ['x'] } }, { a: { default: ['x'] } }), { a: { default: ['x'] } });
  policyError(t, () => merge({ a: { default: 'x' } }, { a: { default: 'y' } }), 'conflict', /default/);
});

test('merge: add and superset_of take the union', (t) => {
  t.deepEqual(merge({ a: { add: ['x', 'y'] } }, { a: { add: ['y', 'z'] } }), { a: { add: ['x', 'y', 'z'] } });
  t.deepEqual(merge({ a: { superset_of: ['x'] } }, { a: { superset_of: ['y'] } }), { a: { superset_of: ['x', 'y'] } });
});

test('merge: one_of takes the intersection, which must not be empty', (t) => {
  t.deepEqual(merge({ a: { one_of: ['x', 'y', 'z'] } }, { a: { one_of: ['z', 'y', 'q'] } }), { a: { one_of: ['y', 'z'] } });
  policyError(t, () => merge({ a: { one_of: ['x'] } }, { a: { one_of: ['y'] } }), 'conflict', /one_of/);
});

test('merge: subset_of takes the intersection, which may be empty', (t) => {
  t.deepEqual(merge({ a: { subset_of: ['x', 'y'] } }, { a: { subset_of: ['y', 'z'] } }), { a: { subset_of: ['y'] } });
  t.deepEqual(merge({ a: { subset_of: ['x'] } }, { a: { subset_of: ['z'] } }), { a: { subset_of: [] } });
  t.deepEqual(apply({ a: ['x', 'z'] }, merge({ a: { subset_of: ['x'] } }, { a: { subset_of: ['z'] } })), { a: [] });
});

test('merge: essential is the logical OR (a subordinate cannot relax essential=true)', (t) => {
  t.deepEqual(merge({ a: { essential: true } }, { a: { essential: false } }), { a: { essential: true } });
  t.deepEqual(merge({ a: { essential: false } }, { a: { essential: true } }), { a: { essential: true } });
  t.deepEqual(merge({ a: { essential: false } }, { a: { essential: false } }), { a: { essential: false } });
});

test('merge: operators, parameters and entity types the superior lacks are copied', (t) => {
  const merged = combinePolicies(
    { openid_provider: { a: { subset_of: ['x', 'y'] } } },
    { openid_provider: { a: { superset_of: ['x'] }, b: { essential: true } }, openid_relying_party: { c: { add: ['z'] } } },
  );
  t.deepEqual(merged, {
    openid_provider: { a: { subset_of: ['x', 'y'], superset_of: ['x'] }, b: { essential: true } },
    openid_relying_party: { c: { add: ['z'] } },
  });
});

test('merge: a merged parameter policy with a combination that is not allowed is a conflict', (t) => {
  // subset_of of one superior, superset_of of another: subset_of must be a superset of superset_of.
  policyError(t, () => merge({ a: { subset_of: ['x', 'y'] } }, { a: { superset_of: ['z'] } }), 'conflict', /subset_of/);
  // value must be a subset of subset_of.
  policyError(t, () => merge({ a: { value: ['x'] } }, { a: { subset_of: ['y'] } }), 'conflict', /subset_of/);
  // value must be among one_of.
  policyError(t, () => merge({ a: { one_of: ['x', 'y'] } }, { a: { value: 'z' } }), 'conflict', /one_of/);
  t.deepEqual(merge({ a: { one_of: ['x', 'y'] } }, { a: { value: 'x' } }), { a: { one_of: ['x', 'y'], value: 'x' } });
  // one_of cannot be combined with subset_of, even when they come from different superiors.
  policyError(t, () => merge({ a: { one_of: ['x'] } }, { a: { subset_of: ['x'] } }), 'conflict', /one_of/);
  // add must be a subset of subset_of.
  policyError(t, () => merge({ a: { subset_of: ['x'] } }, { a: { add: ['y'] } }), 'conflict', /add/);
  // the superior says the value must be present, the subordinate removes it.
  policyError(t, () => merge({ a: { essential: true } }, { a: { value: null } }), 'conflict', /null/);
  // a null value with a default is not allowed, whichever superior set which.
  policyError(t, () => merge({ a: { default: 'x' } }, { a: { value: null } }), 'conflict', /null/);
});

test('merge: a subordinate can restrict further (one_of narrowed, subset_of narrowed, value within)', (t) => {
  const merged = resolvePolicy([
    rp({ alg: { one_of: ['ES256', 'RS256', 'PS256'] }, grants: { subset_of: ['authorization_code', 'refresh_token'] } }),
    rp({ alg: { one_of: ['ES256', 'PS256'] } }),
    rp({ alg: { value: 'ES256' }, grants: { subset_of: ['authorization_code'], superset_of: ['authorization_code'] } }),
  ]);
  t.deepEqual(
    merged,
    rp({
      alg: { one_of: ['ES256', 'PS256'], value: 'ES256' },
      grants: { subset_of: ['authorization_code'], superset_of: ['authorization_code'] },
    }),
  );
});

test('merge does not mutate its inputs', (t) => {
  const sup = rp({ a: { add: ['x'] }, b: { one_of: ['1', '2'] } });
  const sub = rp({ a: { add: ['y'] }, b: { one_of: ['2'] } });
  const before = structuredClone([sup, sub]);
  const merged = combinePolicies(sup, sub);
  (merged.openid_relying_party!.a!.add as string[]).push('mutated');
  t.deepEqual([sup, sub], before);
});

test('resolvePolicy of no policies is the empty policy, which changes nothing', (t) => {
  t.deepEqual(resolvePolicy([]), {});
  t.deepEqual(applyPolicy({ openid_provider: { a: 1 } }, {}), { openid_provider: { a: 1 } });
});

// -------------------------------------------------------------------------------------------
// Validation (§6.1.2, §6.1.3)
// -------------------------------------------------------------------------------------------

const illegal = (t: import('ava').ExecutionContext, params: Record<string, unknown>, match?: RegExp) =>
  policyError(t, () => validatePolicy({ openid_relying_party: { p: params } } as MetadataPolicy), 'illegal', match);

test('illegal combinations in a single parameter policy', (t) => {
  illegal(t, { one_of: ['a'], subset_of: ['a'] }, /one_of/);
  illegal(t, { one_of: ['a'], superset_of: ['a'] }, /one_of/);
  illegal(t, { one_of: ['a'], add: ['a'] }, /one_of/);
  illegal(t, { value: ['a'], add: ['b'] }, /add/);
  illegal(t, { value: 'a', add: ['a'] }, /array/);
  illegal(t, { value: 'c', one_of: ['a', 'b'] }, /one_of/);
  illegal(t, { value: ['a', 'c'], subset_of: ['a', 'b'] }, /subset_of/);
  illegal(t, { value: ['a'], superset_of: ['a', 'b'] }, /superset_of/);
  illegal(t, { add: ['c'], subset_of: ['a', 'b'] }, /add/);
  illegal(t, { subset_of: ['a'], superset_of: ['a', 'b'] }, /superset_of/);
  illegal(t, { value: null, default: 'a' }, /null/);
  illegal(t, { value: null, essential: true }, /null/);
  illegal(t, { value: null, add: ['a'] }, /null/);
});

test('allowed combinations in a single parameter policy', (t) => {
  for (const params of [
    { value: ['a', 'b'], add: ['a'], subset_of: ['a', 'b', 'c'], superset_of: ['b'], default: ['a'], essential: true },
    { value: 'a', one_of: ['a', 'b'], default: 'b', essential: false },
    { add: ['a'], superset_of: ['z'] },
    { default: ['q'], subset_of: ['a'], superset_of: [] },
    { value: null, essential: false },
    { value: null, one_of: ['a'] },
    { one_of: ['a'], default: 'z', essential: true },
  ]) {
    t.notThrows(() => validatePolicy({ openid_relying_party: { p: params } }), JSON.stringify(params));
  }
});

test('operator value types', (t) => {
  illegal(t, { essential: 'yes' }, /boolean/);
  illegal(t, { subset_of: 'a' }, /array/);
  illegal(t, { superset_of: { a: 1 } }, /array/);
  illegal(t, { add: [null] }, /values/);
  illegal(t, { one_of: [true, false] }, /values/);
  illegal(t, { one_of: [] }, /empty/);
  illegal(t, { default: null }, /null/);
  t.notThrows(() => validatePolicy(rp({ a: { value: { nested: true } }, b: { add: [1, 2] }, c: { one_of: [{ x: 1 }] } })));
});

test('structure: three levels of non-empty JSON objects', (t) => {
  policyError(t, () => validatePolicy({}), 'illegal', /empty/);
  policyError(t, () => validatePolicy({ openid_relying_party: {} }), 'illegal', /empty/);
  policyError(t, () => validatePolicy({ openid_relying_party: { p: {} } }), 'illegal', /empty/);
  policyError(t, () => validatePolicy({ openid_relying_party: { p: ['value'] } } as unknown as MetadataPolicy), 'illegal', /object/);
  policyError(t, () => validatePolicy({ openid_relying_party: 'x' } as unknown as MetadataPolicy), 'illegal', /object/);
  policyError(t, () => validatePolicy([] as unknown as MetadataPolicy), 'illegal', /object/);
});

test('unknown operators are ignored unless critical (metadata_policy_crit)', (t) => {
  const policy = rp({ a: { regexp: '^x', essential: true }, b: { regexp: '^y' } });
  t.notThrows(() => validatePolicy(policy));
  t.deepEqual(resolvePolicy([policy]), rp({ a: { essential: true } }));
  t.deepEqual(apply({ a: 'zzz', b: 'q' }, { a: { regexp: '^x' } }), { a: 'zzz', b: 'q' });
  policyError(t, () => validatePolicy(policy, ['regexp']), 'illegal', /regexp/);
  policyError(t, () => resolvePolicy([rp({ a: { essential: true } })], ['regexp']), 'illegal', /regexp/);
  policyError(t, () => resolvePolicy([policy], ['one_of']), 'illegal', /standard/);
});

test('MetadataPolicyError names the entity type, parameter and operator', (t) => {
  const err = policyError(
    t,
    () => applyPolicy({ openid_provider: { a: 'z' } }, { openid_provider: { a: { one_of: ['x'] } } }),
    'violation',
  );
  t.is(err.entityType, 'openid_provider');
  t.is(err.parameter, 'a');
  t.is(err.operator, 'one_of');
  t.regex(err.message, /^openid_provider\.a\.one_of: /);
});
