/**
 * Building blocks of the e-license tests: issuing through the admin API, verifying through a
 * services entity's API, a person's licences through their access token, and licences altered the
 * ways an attacker would (re-signed with another key, a claim changed, a disclosure swapped).
 * Free of the test runner (bench/ uses it).
 */
import { decodeJwt } from 'jose';
import { callAdmin } from '../../infra/admin-client.ts';
import { generateKey, type PrivateJwk } from '../../infra/entity-keys.ts';
import { signer } from '../../services/licenses/jws.ts';
import type { FederationAddresses } from './flows.ts';
import { until } from './until.ts';

export interface Issued {
  id: string;
  type: string;
  credential: string;
}

export interface Verification {
  status: number;
  json: Record<string, unknown> & { valid?: boolean; error?: string; check?: string; license?: Record<string, unknown> };
}

/** A resident ID card for the person, issued at `entity` (a services entity) through its admin API. */
export async function issueLicense(
  fed: FederationAddresses,
  entity: string,
  holder: { id_number: string; name: string },
  extra: { type?: string; claims?: Record<string, unknown>; valid_from?: string; valid_until?: string | null } = {},
): Promise<Issued> {
  return (await callAdmin(fed.topology.get(entity), fed.config.dataDir, 'POST', '/admin/licenses', {
    type: extra.type ?? 'resident_id_card',
    holder: { kind: 'natural', id_number: holder.id_number, name: holder.name },
    claims: extra.claims ?? {
      sex: '女',
      ethnicity: '汉',
      birth_date: `${holder.id_number.slice(6, 10)}-${holder.id_number.slice(10, 12)}-${holder.id_number.slice(12, 14)}`,
      address: '广州市天河区天河路1号',
      issuing_authority: '广州市公安局天河区分局',
    },
    ...(extra.valid_from ? { valid_from: extra.valid_from } : {}),
    ...(extra.valid_until !== undefined ? { valid_until: extra.valid_until } : {}),
  })) as Issued;
}

/** POST /licenses/verify at a services entity. */
export async function verifyAt(entityUrl: string, body: Record<string, unknown>): Promise<Verification> {
  const res = await fetch(`${entityUrl}/licenses/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Verification['json'] };
}

/** A call to a services entity for the person holding `accessToken`. */
export async function asHolder(entityUrl: string, accessToken: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await fetch(entityUrl + path, {
    method,
    headers: { authorization: `Bearer ${accessToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unb64 = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;

/** The licence's issuer-signed JWT with its header and payload edited and signed again with `key`; the rest kept. */
export function resign(
  license: string,
  key: PrivateJwk,
  edit: { header?: (h: Record<string, unknown>) => void; payload?: (p: Record<string, unknown>) => void } = {},
): string {
  const [jwt, ...rest] = license.split('~');
  const [h, p] = jwt!.split('.');
  const header = { ...unb64(h!), kid: key.kid };
  const payload = unb64(p!);
  edit.header?.(header);
  edit.payload?.(payload);
  const input = `${b64(header)}.${b64(payload)}`;
  return [`${input}.${signer(key)(input)}`, ...rest].join('~');
}

export const freshKey = () => generateKey('ES256');

/** The disclosure of claim `name` in an SD-JWT, and its index among the `~`-separated parts. */
export function disclosureOf(license: string, name: string): { index: number; value: unknown[] } {
  const parts = license.split('~');
  for (let i = 1; i < parts.length; i++) {
    if (!parts[i]) continue;
    const value = JSON.parse(Buffer.from(parts[i]!, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value[1] === name) return { index: i, value };
  }
  throw new Error(`no disclosure of ${name}`);
}

/** The licence with the disclosure of `name` replaced by `disclosure` (an array, encoded here). */
export function withDisclosure(license: string, name: string, disclosure: unknown[]): string {
  const parts = license.split('~');
  parts[disclosureOf(license, name).index] = b64(disclosure);
  return parts.join('~');
}

/**
 * Waits until the OP publishes its trust marks: a services entity takes the OP's access tokens
 * only then, and one that looked at the OP before keeps that look for a while.
 */
export async function untilTrustMarked(fed: FederationAddresses, op: string): Promise<void> {
  await until(
    async () => {
      const jwt = await (await fetch(`${fed.url(op)}/.well-known/openid-federation`)).text();
      return Array.isArray(decodeJwt(jwt).trust_marks);
    },
    `${op} holds its trust marks`,
    30_000,
  );
}
