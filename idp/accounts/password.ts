/**
 * Passwords: strength rules and argon2id hashing at OWASP's minimum parameters or above
 * (m = 19 MiB, t = 2, p = 1). Verification against a dummy hash when there is no account keeps
 * the response time the same, so timing does not reveal which accounts exist.
 */
import argon2 from 'argon2';
import type { MessageKey } from '../i18n.ts';

export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/** False for a missing hash, after the same work as a real check. */
export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (!hash) {
    dummyHash ??= hashPassword('dummy-password-for-timing-1');
    await argon2.verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return argon2.verify(hash, password).catch(() => false);
}

/** The first rule the password breaks, or null. */
export function passwordProblem(password: string, personal: string[]): MessageKey | null {
  if (password.length < 8 || password.length > 64) return 'error.password_length';
  if (!/[A-Za-z]/.test(password) || !/\d/.test(password)) return 'error.password_classes';
  const lower = password.toLowerCase();
  if (personal.some((p) => p.length >= 6 && lower.includes(p.toLowerCase()))) return 'error.password_personal';
  return null;
}
