/**
 * The licence's wire format (docs/licenses.md, "Formats"): an SD-JWT VC (RFC 9901 and
 * draft-ietf-oauth-sd-jwt-vc, `typ` dc+sd-jwt) signed with the issuing entity's federation key.
 * Its issuer-signed JWT alone is the licence as a compact JWS: type, holder subject, issuer,
 * validity, status reference and the salted digests of the claims, no claim in clear. With its
 * disclosures it is the holder's full licence; with some of them and a Key Binding JWT, a
 * presentation. Parsing here only takes the text apart: every check is the verifier's.
 */
import { hash, randomBytes } from 'node:crypto';
import { digest } from '@sd-jwt/crypto-nodejs';
import { LicenseCheckFailed } from './license-problems.ts';

export const LICENSE_TYP = 'dc+sd-jwt';
export const KB_TYP = 'kb+jwt';
export const STATUS_LIST_TYP = 'statuslist+jwt';
export const SD_ALG = 'sha-256';
/** Status values of the token status list (draft-ietf-oauth-status-list §7.1); 2 bits per licence. */
export const STATUS = { valid: 0, revoked: 1, suspended: 2 } as const;
export const STATUS_BITS = 2;
/** The longest a licence text may be: every form of ours is a few KiB. */
export const MAX_LICENSE_CHARS = 16 * 1024;

/** The hasher of disclosures and sd_hash (@sd-jwt Hasher); only sha-256 is accepted. */
export const hasher = (data: string | ArrayBuffer, alg: string) => {
  if (alg !== SD_ALG) throw new Error(`unsupported _sd_alg ${alg}`);
  return digest(data, alg);
};

/** 128-bit salts (RFC 9901 §9.3 recommends 128 bits; the library's default gives 64). */
export const saltGenerator = () => randomBytes(16).toString('base64url');

export function sha256Base64url(text: string): string {
  // The one-shot form: a third of createHash's cost, and a verification hashes every disclosure.
  return hash('sha256', text, 'base64url');
}

export interface ParsedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: string;
}

export interface ParsedDisclosure {
  encoded: string;
  digest: string;
  name: unknown;
  value: unknown;
  /** `other`: not [salt, name, value] with string salt and name (e.g. an array element's, which licences never use). */
  shape: 'property' | 'other';
}

export interface ParsedLicense {
  /** `jws`: the issuer-signed JWT alone; `sd-jwt`: with disclosures (and maybe Key Binding). */
  form: 'jws' | 'sd-jwt';
  jwt: ParsedJwt;
  disclosures: ParsedDisclosure[];
  kb: ParsedJwt | null;
  /** What the Key Binding JWT's sd_hash covers: everything up to and including the last `~`. */
  withoutKb: string;
}

const malformed = (why: string) => new LicenseCheckFailed('license_malformed', why);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(segment: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) throw malformed(`${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw malformed(`${what} is not JSON`);
  }
  if (!isObject(value)) throw malformed(`${what} is not a JSON object`);
  return value;
}

function parseJwt(compact: string, what: string): ParsedJwt {
  const parts = compact.split('.');
  if (parts.length !== 3 || !parts[2] || !/^[A-Za-z0-9_-]+$/.test(parts[2])) throw malformed(`${what} is not a compact JWS`);
  return {
    header: parseJson(parts[0]!, `${what}'s header`),
    payload: parseJson(parts[1]!, `${what}'s payload`),
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: parts[2],
  };
}

/**
 * One disclosure (RFC 9901 §4.2): base64url of a JSON array, its digest the SHA-256 of that text
 * as given. Decoded here, synchronously: verification is a hot path, and the library's decoder
 * hashes each disclosure through promises.
 */
function parseDisclosure(encoded: string): ParsedDisclosure {
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw malformed('a disclosure is not base64url');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw malformed('a disclosure is not JSON');
  }
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 3)) throw malformed('a disclosure is not a JSON array of 2 or 3');
  const property = value.length === 3 && typeof value[0] === 'string' && typeof value[1] === 'string';
  return {
    encoded,
    digest: sha256Base64url(encoded),
    name: property ? value[1] : undefined,
    value: value.at(-1),
    shape: property ? 'property' : 'other',
  };
}

/** Takes a licence apart (compact JWS, SD-JWT or SD-JWT+KB); throws license_malformed. */
export function parseLicense(input: string): ParsedLicense {
  const text = input.trim();
  if (!text) throw malformed('the licence is empty');
  if (text.length > MAX_LICENSE_CHARS) throw malformed(`the licence is longer than ${MAX_LICENSE_CHARS} characters`);
  if (!text.includes('~')) return { form: 'jws', jwt: parseJwt(text, 'the licence'), disclosures: [], kb: null, withoutKb: text };
  const jwt = parseJwt(text.slice(0, text.indexOf('~')), "the licence's issuer-signed JWT");
  const alg = jwt.payload._sd_alg ?? SD_ALG;
  if (alg !== SD_ALG) throw malformed(`_sd_alg ${String(alg)} is not supported (only ${SD_ALG})`);
  const last = text.lastIndexOf('~');
  const kbText = text.slice(last + 1);
  const kb = kbText ? parseJwt(kbText, 'the Key Binding JWT') : null;
  const first = text.indexOf('~');
  const disclosures =
    first === last
      ? []
      : text
          .slice(first + 1, last)
          .split('~')
          .map(parseDisclosure);
  return { form: 'sd-jwt', jwt, disclosures, kb, withoutKb: text.slice(0, last + 1) };
}
