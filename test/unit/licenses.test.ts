/**
 * The pure parts of e-licenses: the state table, the licence types, JWS signatures with each
 * algorithm of the federation, and taking a licence apart (compact JWS, SD-JWT, SD-JWT+KB) before
 * any check, with license_malformed for what is not one.
 */
import test from 'ava';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { nextState, type LicenseAction, type LicenseState } from '../../services/licenses/license-states.ts';
import { describeTypes, licenseType, typeOfVct, vctOf } from '../../services/licenses/license-types.ts';
import { PublicKeyCache, signer, verifySignature, type JwsAlgorithm } from '../../services/licenses/jws.ts';
import { hasher, parseLicense, saltGenerator, sha256Base64url } from '../../services/licenses/license-format.ts';
import { LicenseCheckFailed } from '../../services/licenses/license-problems.ts';
import { generateKey } from '../../infra/entity-keys.ts';

test('the state table: suspend and reinstate, revoke for good; anything else is 409 license_state', (t) => {
  const allowed: [LicenseState, LicenseAction, LicenseState][] = [
    ['valid', 'suspend', 'suspended'],
    ['valid', 'revoke', 'revoked'],
    ['suspended', 'reinstate', 'valid'],
    ['suspended', 'revoke', 'revoked'],
  ];
  for (const [from, action, to] of allowed) t.is(nextState(from, action), to);
  for (const [from, action] of [
    ['valid', 'reinstate'],
    ['suspended', 'suspend'],
    ['revoked', 'reinstate'],
    ['revoked', 'revoke'],
    ['revoked', 'suspend'],
  ] as [LicenseState, LicenseAction][]) {
    t.throws(() => nextState(from, action), { message: new RegExp(`a ${from} licence cannot be`) });
  }
});

test('licence types: vct round trip, claims checked strictly, labels for every claim', (t) => {
  for (const type of describeTypes()) {
    t.is(typeOfVct(vctOf(type.code))?.code, type.code);
    for (const claim of Object.keys(licenseType(type.code)!.claims.shape))
      t.truthy(type.claims[claim], `${type.code}.${claim} has a label`);
  }
  t.is(typeOfVct('urn:gov-id:license:diploma'), undefined);
  t.is(typeOfVct(42), undefined);
  const card = licenseType('driving_licence')!.claims;
  t.true(card.safeParse({ vehicle_class: 'A1 A2', first_issued: '2010-01-31', issuing_authority: '某地交警支队' }).success);
  t.false(card.safeParse({ vehicle_class: 'C1', first_issued: '2010-13-01', issuing_authority: 'x' }).success);
  t.false(card.safeParse({ vehicle_class: 'C1', first_issued: '2010-01-01', issuing_authority: 'x', extra: 1 }).success);
});

test('JWS signatures with every algorithm of the federation; any change fails', (t) => {
  const algorithms: [JwsAlgorithm, () => KeyObject][] = [
    ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
    ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['PS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['EdDSA', () => generateKeyPairSync('ed25519').privateKey],
  ];
  const keys = new PublicKeyCache();
  for (const [alg, privateKey] of algorithms) {
    const jwk = { ...privateKey().export({ format: 'jwk' }), alg };
    const signature = signer(jwk)('header.payload');
    const publicKey = keys.get(jwk);
    t.true(verifySignature(alg, publicKey, 'header.payload', signature), alg);
    t.false(verifySignature(alg, publicKey, 'header.payloaD', signature), `${alg}: other input`);
    t.false(verifySignature(alg, publicKey, 'header.payload', signature.slice(1)), `${alg}: cut signature`);
  }
  t.throws(() => keys.get({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }));
});

async function sdJwt(withKb: boolean) {
  const issuer = await generateKey('ES256');
  const holder = await generateKey('ES256');
  const vc = new SDJwtVcInstance({
    signer: signer(issuer),
    signAlg: 'ES256',
    hasher,
    hashAlg: 'sha-256',
    saltGenerator,
    kbSigner: signer(holder),
    kbSignAlg: 'ES256',
  });
  const issued = await vc.issue(
    { iss: 'https://issuer.example', iat: 1, vct: vctOf('marriage_certificate'), name: '李娜', spouse_name: '王伟' },
    { _sd: ['name', 'spouse_name'] },
  );
  return withKb ? vc.present(issued, { name: true }, { kb: { payload: { iat: 2, aud: 'https://v.example', nonce: 'n' } } }) : issued;
}

test('a licence is taken apart as JWS, SD-JWT or SD-JWT+KB; sd_hash covers what comes before the KB-JWT', async (t) => {
  const full = await sdJwt(false);
  const jws = full.split('~')[0]!;
  const a = parseLicense(`  ${jws}\n`);
  t.is(a.form, 'jws');
  t.is(a.disclosures.length, 0);
  const b = parseLicense(full);
  t.is(b.form, 'sd-jwt');
  t.deepEqual(
    b.disclosures.map((d) => [d.name, d.value, d.shape]),
    [
      ['name', '李娜', 'property'],
      ['spouse_name', '王伟', 'property'],
    ],
  );
  t.is(b.kb, null);
  t.deepEqual((b.jwt.payload._sd as string[]).slice().sort(), b.disclosures.map((d) => d.digest).sort());
  const presented = await sdJwt(true);
  const c = parseLicense(presented);
  t.is(c.disclosures.length, 1);
  t.like(c.kb!.payload, { aud: 'https://v.example', nonce: 'n', sd_hash: sha256Base64url(c.withoutKb) });
  t.true(presented.startsWith(c.withoutKb) && c.withoutKb.endsWith('~'));
});

test('what is not a licence is license_malformed', async (t) => {
  const full = await sdJwt(false);
  const [h, p, s] = full.split('~')[0]!.split('.');
  const md5 = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), _sd_alg: 'md5' })).toString('base64url');
  for (const bad of [
    '',
    'x'.repeat(17_000),
    'a.b',
    `${h}.${p}.`,
    `${h}.${p}.${s}.x`,
    `e30.bm90IGpzb24.${s}`,
    `WzFd.${p}.${s}`,
    `${h}.${md5}.${s}~`,
    `${full}%%~`,
    `${full}WyJzYWx0Il0~`,
    `${full}not.a.kb!`,
    `${full.split('~')[0]}~~`,
  ]) {
    const err = t.throws(() => parseLicense(bad), { instanceOf: LicenseCheckFailed }, bad.slice(0, 40));
    t.is(err?.problem, 'license_malformed');
  }
});
