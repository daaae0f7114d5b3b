/**
 * Verifies a licence anywhere in the federation (docs/licenses.md, "Verification"): its format,
 * that its issuer chains to the trust anchor, that it was signed with a key of that chain (or one
 * the issuer retired since, per its historical keys), the signature, its validity, its
 * disclosures, its Key Binding and its status in the issuer's status list. Each check runs here,
 * whatever a library offers, and a failure names its check (license-problems.ts).
 */
import type { JWK } from 'jose';
import { typeOfVct, type HolderKind } from './license-types.ts';
import { KB_TYP, LICENSE_TYP, parseLicense, sha256Base64url, STATUS, type ParsedJwt, type ParsedLicense } from './license-format.ts';
import { isJwsAlgorithm, PublicKeyCache, verifySignature } from './jws.ts';
import { LicenseCheckFailed, type Problem } from './license-problems.ts';
import type { IssuerKeyLookup } from './issuer-keys.ts';
import { StatusListReader } from './status-list-reader.ts';

/** Leeway for the clocks of issuer, holder and verifier. */
export const CLOCK_SKEW_SECONDS = 60;
/** The oldest Key Binding JWT accepted: a presentation is made for one verifier, now. */
export const KB_MAX_AGE_SECONDS = 3600;

/** Claims of the issuer-signed JWT a disclosure may never set. */
const RESERVED = new Set(['_sd', '_sd_alg', '...', 'iss', 'sub', 'iat', 'nbf', 'exp', 'jti', 'vct', 'cnf', 'status', 'holder_kind']);

export interface Expectations {
  /** The audience a Key Binding JWT must name (this verifier). */
  audience?: string;
  /** The nonce this verifier gave the holder for the presentation. */
  nonce?: string;
  /** Refuse a licence presented without Key Binding. */
  requireKeyBinding?: boolean;
}

export interface VerifiedLicense {
  form: 'jws' | 'sd-jwt';
  id: string;
  issuer: string;
  type: string;
  holder: { kind: HolderKind; subject: string };
  issuedAt: number;
  validFrom: number;
  validUntil: number | null;
  /** The claims the holder disclosed (none for the JWS form). */
  disclosed: Record<string, unknown>;
  /** Disclosable claims left undisclosed (their count only: the names are hidden too). */
  undisclosed: number;
  keyBinding: { audience: string; nonce: string; issuedAt: number } | null;
  /** The issuer's key, and whether it was retired (found among its historical keys). */
  signedWith: { kid: string; retired: boolean };
  status: 'valid';
}

const fail = (problem: Problem, message: string): never => {
  throw new LicenseCheckFailed(problem, message);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

interface Claims {
  iss: string;
  jti: string;
  sub: string;
  iat: number;
  nbf: number;
  exp: number | null;
  type: string;
  holderKind: HolderKind;
  status: { idx: number; uri: string };
  cnf: JWK | null;
  sd: string[];
}

/** The claims every licence must carry, in the shape they must have (license_malformed otherwise). */
function claimsOf(jwt: ParsedJwt): Claims {
  const { header, payload: p } = jwt;
  if (header.typ !== LICENSE_TYP) fail('license_malformed', `typ is ${String(header.typ)}, not ${LICENSE_TYP}`);
  if (!isJwsAlgorithm(header.alg)) fail('license_malformed', `alg ${String(header.alg)} is not accepted`);
  if (typeof header.kid !== 'string' || !header.kid) fail('license_malformed', 'the header names no kid');
  const missing = (claim: string) => fail('license_malformed', `${claim} is missing or malformed`);
  if (typeof p.iss !== 'string' || !URL.canParse(p.iss)) missing('iss');
  const type = typeOfVct(p.vct);
  if (!type) fail('license_type_unknown', `vct ${String(p.vct)} is no licence type of the federation`);
  if (typeof p.jti !== 'string' || !p.jti) missing('jti');
  if (typeof p.sub !== 'string' || !p.sub) missing('sub');
  if (!isTime(p.iat)) missing('iat');
  if (p.nbf !== undefined && !isTime(p.nbf)) missing('nbf');
  if (p.exp !== undefined && !isTime(p.exp)) missing('exp');
  if (p.holder_kind !== 'natural' && p.holder_kind !== 'legal') missing('holder_kind');
  const ref = isObject(p.status) && isObject(p.status.status_list) ? p.status.status_list : null;
  if (!ref || !Number.isInteger(ref.idx) || (ref.idx as number) < 0 || typeof ref.uri !== 'string') missing('status.status_list');
  if (p.cnf !== undefined && !(isObject(p.cnf) && isObject(p.cnf.jwk))) missing('cnf.jwk');
  if (p._sd !== undefined && !(Array.isArray(p._sd) && p._sd.every((d) => typeof d === 'string'))) missing('_sd');
  return {
    iss: p.iss as string,
    jti: p.jti as string,
    sub: p.sub as string,
    iat: p.iat as number,
    nbf: (p.nbf as number | undefined) ?? (p.iat as number),
    exp: (p.exp as number | undefined) ?? null,
    type: type!.code,
    holderKind: p.holder_kind as HolderKind,
    status: { idx: ref!.idx as number, uri: ref!.uri as string },
    cnf: isObject(p.cnf) ? (p.cnf.jwk as JWK) : null,
    sd: (p._sd as string[] | undefined) ?? [],
  };
}

export interface LicenseVerifierOptions {
  issuerKey: IssuerKeyLookup;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class LicenseVerifier {
  readonly #keys = new PublicKeyCache();
  readonly #statusLists: StatusListReader;

  constructor(private readonly o: LicenseVerifierOptions) {
    this.#statusLists = new StatusListReader({ issuerKey: o.issuerKey, keys: this.#keys });
  }

  /** Verifies a licence (compact JWS, SD-JWT or SD-JWT+KB); throws LicenseCheckFailed naming the failed check. */
  async verify(text: string, expect: Expectations = {}): Promise<VerifiedLicense> {
    const licence = parseLicense(text);
    const claims = claimsOf(licence.jwt);
    const signedWith = await this.#checkSignature(licence.jwt, claims);
    this.#checkValidity(claims);
    const disclosed = this.#checkDisclosures(licence, claims);
    const keyBinding = this.#checkKeyBinding(licence, claims, expect);
    await this.#checkStatus(claims);
    return {
      form: licence.form,
      id: claims.jti,
      issuer: claims.iss,
      type: claims.type,
      holder: { kind: claims.holderKind, subject: claims.sub },
      issuedAt: claims.iat,
      validFrom: claims.nbf,
      validUntil: claims.exp,
      disclosed,
      undisclosed: claims.sd.length - Object.keys(disclosed).length,
      keyBinding,
      signedWith,
      status: 'valid',
    };
  }

  /** A status list of this entity changed: read it again before the next verification here. */
  forgetStatusList(issuer: string, uri: string): void {
    this.#statusLists.forget(issuer, uri);
  }

  async #checkSignature(jwt: ParsedJwt, claims: Claims): Promise<VerifiedLicense['signedWith']> {
    const kid = jwt.header.kid as string;
    const answer = await this.o.issuerKey(claims.iss, kid);
    if (!answer.ok) {
      if (answer.problem === 'untrusted')
        fail('issuer_untrusted', `${claims.iss} is not a licence issuer of the federation: ${answer.detail}`);
      if (answer.problem === 'unreachable')
        fail('issuer_unreachable', `the trust chain of ${claims.iss} cannot be fetched now: ${answer.detail}`);
      fail('key_not_in_chain', `key ${kid} is not a key of ${claims.iss}'s trust chain, nor one it retired: ${answer.detail}`);
    }
    const found = answer as Extract<typeof answer, { ok: true }>;
    if (found.retiredAt !== undefined) {
      // A retired key vouches only for what it signed while it was in use.
      if (claims.iat > found.retiredAt + CLOCK_SKEW_SECONDS || claims.iat < (found.activeFrom ?? 0) - CLOCK_SKEW_SECONDS)
        fail('key_not_in_chain', `key ${kid} of ${claims.iss} was not in use when the licence says it was issued`);
    }
    let key;
    try {
      key = this.#keys.get(found.key);
    } catch {
      fail('key_not_in_chain', `key ${kid} of ${claims.iss} is not a usable public key`);
    }
    if (!verifySignature(jwt.header.alg as never, key!, jwt.signingInput, jwt.signature))
      fail('signature_invalid', `the signature does not verify with key ${kid} of ${claims.iss}`);
    return { kid, retired: found.retiredAt !== undefined };
  }

  #checkValidity(claims: Claims): void {
    const now = nowSeconds();
    if (claims.nbf > now + CLOCK_SKEW_SECONDS || claims.iat > now + CLOCK_SKEW_SECONDS)
      fail('license_not_yet_valid', `the licence is valid from ${new Date(claims.nbf * 1000).toISOString()}`);
    if (claims.exp !== null && claims.exp <= now - CLOCK_SKEW_SECONDS)
      fail('license_expired', `the licence expired at ${new Date(claims.exp * 1000).toISOString()}`);
  }

  /** RFC 9901 §7.1: every disclosure referenced once by a digest of the signed JWT, never a reserved or signed claim. */
  #checkDisclosures(licence: ParsedLicense, claims: Claims): Record<string, unknown> {
    const referenced = new Set(claims.sd);
    if (referenced.size !== claims.sd.length) fail('disclosure_invalid', 'the licence repeats a digest');
    const seen = new Set<string>();
    const disclosed: Record<string, unknown> = {};
    for (const d of licence.disclosures) {
      if (d.shape !== 'property') fail('disclosure_invalid', 'a disclosure is not [salt, claim name, value]');
      const name = d.name as string;
      if (!referenced.has(d.digest))
        fail('disclosure_invalid', `the disclosure of ${name} is not one the issuer signed (altered or foreign)`);
      if (seen.has(d.digest)) fail('disclosure_invalid', `the disclosure of ${name} is given twice`);
      seen.add(d.digest);
      if (RESERVED.has(name) || Object.hasOwn(licence.jwt.payload, name) || Object.hasOwn(disclosed, name))
        fail('disclosure_invalid', `a disclosure may not set ${name}`);
      disclosed[name] = d.value;
    }
    return disclosed;
  }

  #checkKeyBinding(licence: ParsedLicense, claims: Claims, expect: Expectations): VerifiedLicense['keyBinding'] {
    const kb = licence.kb;
    if (!kb) {
      if (expect.requireKeyBinding) fail('key_binding_required', 'the licence was presented without a Key Binding JWT');
      return null;
    }
    if (kb.header.typ !== KB_TYP) fail('kb_invalid', `the Key Binding JWT has typ ${String(kb.header.typ)}, not ${KB_TYP}`);
    if (!isJwsAlgorithm(kb.header.alg)) fail('kb_invalid', `the Key Binding JWT's alg ${String(kb.header.alg)} is not accepted`);
    if (!claims.cnf) fail('kb_invalid', 'the licence binds no holder key (cnf)');
    let holderKey;
    try {
      holderKey = this.#keys.get(claims.cnf!);
    } catch {
      fail('kb_invalid', "the licence's holder key (cnf.jwk) is not a usable public key");
    }
    if (!verifySignature(kb.header.alg as never, holderKey!, kb.signingInput, kb.signature))
      fail('kb_invalid', "the Key Binding JWT is not signed with the licence's holder key");
    const { iat, aud, nonce, sd_hash: sdHash } = kb.payload;
    if (!isTime(iat) || typeof aud !== 'string' || typeof nonce !== 'string' || typeof sdHash !== 'string')
      fail('kb_invalid', 'the Key Binding JWT lacks iat, aud, nonce or sd_hash');
    if (sdHash !== sha256Base64url(licence.withoutKb))
      fail('kb_sd_hash_mismatch', 'the disclosures are not those the holder presented (sd_hash differs)');
    const now = nowSeconds();
    if ((iat as number) > now + CLOCK_SKEW_SECONDS || (iat as number) < now - KB_MAX_AGE_SECONDS)
      fail(
        'kb_stale',
        `the presentation was made at ${new Date((iat as number) * 1000).toISOString()}: older than ${KB_MAX_AGE_SECONDS / 60} minutes, or in the future`,
      );
    if (expect.audience === undefined) fail('kb_audience_mismatch', 'no audience was given to check the presentation against');
    if (aud !== expect.audience) fail('kb_audience_mismatch', `the presentation is for ${String(aud)}, not ${expect.audience}`);
    if (expect.nonce === undefined)
      fail('kb_nonce_mismatch', 'no nonce was given to check the presentation against (the one you gave its holder)');
    if (nonce !== expect.nonce) fail('kb_nonce_mismatch', 'the presentation was made for another nonce');
    return { audience: aud as string, nonce: nonce as string, issuedAt: iat as number };
  }

  async #checkStatus(claims: Claims): Promise<void> {
    const { uri, idx } = claims.status;
    if (!uri.startsWith(`${claims.iss}/`)) fail('status_list_invalid', `the status list ${uri} is not served by the issuer ${claims.iss}`);
    const status = await this.#statusLists.status(claims.iss, uri, idx);
    if (status === STATUS.revoked) fail('license_revoked', 'the issuer has revoked the licence');
    if (status === STATUS.suspended) fail('license_suspended', 'the issuer has suspended the licence');
    if (status !== STATUS.valid) fail('status_list_invalid', `the status list gives the unknown status ${status}`);
  }
}
