/**
 * SMS one-time codes: six digits, five minutes, single use, five wrong tries at most. Only a MAC
 * of the code is stored, under the phone's blind index.
 */
import { randomInt } from 'node:crypto';
import type { KeyValueStore } from '../../infra/key-value-store.ts';
import { hmac, safeEqual } from '../../infra/crypto.ts';
import type { ServicesClient } from '../services-client.ts';

export type OtpPurpose = 'login' | 'register';
export type OtpProblem = 'otp_invalid' | 'otp_expired' | 'otp_too_many';

const TTL_SECONDS = 300;
const MAX_TRIES = 5;

interface Stored {
  mac: string;
  tries: number;
}

export class OneTimeCodes {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly macKey: Buffer,
    private readonly services: ServicesClient,
    private readonly siteName: string,
  ) {}

  private key(purpose: OtpPurpose, phoneIndex: string) {
    return `otp:${purpose}:${phoneIndex}`;
  }

  private async store(purpose: OtpPurpose, key: string): Promise<string> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.kv.set(this.key(purpose, key), JSON.stringify({ mac: hmac(this.macKey, code), tries: 0 } satisfies Stored), TTL_SECONDS);
    return code;
  }

  /** Stores a code under `key` (a blind index) and sends it to the phone. */
  async send(purpose: OtpPurpose, phone: string, key: string): Promise<void> {
    const code = await this.store(purpose, key);
    await this.services.sendMessage(phone, `【${this.siteName}】验证码 ${code}，5分钟内有效，请勿泄露。Your code is ${code}.`);
  }

  /** Stores a code nobody receives: an unknown account then goes down the same path as a real one. */
  async decoy(purpose: OtpPurpose, key: string): Promise<void> {
    await this.store(purpose, key);
  }

  /** Null when the code is right (and now used up), otherwise why not. */
  async check(purpose: OtpPurpose, keyIndex: string, code: string): Promise<OtpProblem | null> {
    const key = this.key(purpose, keyIndex);
    const raw = await this.kv.get(key);
    if (!raw) return 'otp_expired';
    const stored = JSON.parse(raw) as Stored;
    if (/^\d{6}$/.test(code) && safeEqual(stored.mac, hmac(this.macKey, code))) {
      // take() is atomic: of two concurrent uses of one code, only one gets it.
      return (await this.kv.take(key)) ? null : 'otp_expired';
    }
    if (stored.tries + 1 >= MAX_TRIES) {
      await this.kv.del(key);
      return 'otp_too_many';
    }
    const ttl = await this.kv.ttl(key);
    if (ttl > 0) await this.kv.set(key, JSON.stringify({ ...stored, tries: stored.tries + 1 }), ttl);
    return 'otp_invalid';
  }
}
