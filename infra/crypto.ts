/**
 * Keys and field encryption. One master key per deployment; every entity derives its own keys
 * from it with HKDF (entity ID and purpose as context), so no two entities or purposes share a key.
 * Personal data is encrypted with AES-256-GCM, bound to its column by the additional data, and
 * found through a keyed blind index (HMAC-SHA256) that reveals nothing without the key.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigurationError } from './errors.ts';

export const MASTER_KEY_ENV = 'GOV_ID_MASTER_KEY';

function parseMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64url');
  if (key.length !== 32) throw new ConfigurationError(source, 'the master key must be 32 bytes, as 64 hex digits or base64url');
  return key;
}

/**
 * The master key comes from the environment in a real deployment. The demo keeps one in its data
 * folder (created on first start, readable by the owner only) so that restarts find their data.
 */
export function loadMasterKey(dataDir: string): Buffer {
  const fromEnv = process.env[MASTER_KEY_ENV];
  if (fromEnv) return parseMasterKey(fromEnv, MASTER_KEY_ENV);
  const file = `${dataDir}/master.key`;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return parseMasterKey(readFileSync(file, 'utf8'), file);
}

export function deriveKey(master: Buffer, context: string, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.from(context), Buffer.from(`gov-id/${purpose}`), length));
}

const VERSION = 'v1';

export class FieldCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('FieldCipher needs a 256-bit key');
  }

  /** `aad` names what the value is (table and column), so a ciphertext cannot be moved elsewhere. */
  encrypt(plain: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  decrypt(sealed: string, aad: string): string {
    const [version, data] = sealed.split('.');
    if (version !== VERSION || !data) throw new Error('unknown ciphertext format');
    const raw = Buffer.from(data, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
  }
}

export class BlindIndex {
  constructor(private readonly key: Buffer) {}

  /** `kind` separates index spaces (an ID number and a phone never collide). */
  of(kind: string, normalized: string): string {
    return createHmac('sha256', this.key).update(`${kind}\0${normalized}`).digest('base64url');
  }
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function hmac(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url');
}
