/**
 * Rate limits and lockout, kept in the key-value store so they hold across OP instances.
 * Keys are blind indexes and client IPs, never identifiers in clear.
 */
import type { RateLimiterRes } from 'rate-limiter-flexible';
import type { KeyValueStore, RateLimiter } from '../../infra/key-value-store.ts';

export type Refusal = { reason: 'locked'; retryAfterSeconds: number } | { reason: 'ip_limited'; retryAfterSeconds: number };

/** Policy, documented where it is defined (README "Configuration" repeats it). */
export const THROTTLE_POLICY = {
  /** Failed logins per account before it is locked, and for how long. */
  failuresPerAccount: 5,
  accountLockSeconds: 15 * 60,
  /** Failed logins per client IP per hour. */
  failuresPerIp: 50,
  /** One-time codes per phone: one per minute, ten per day. */
  otpPerPhonePerMinute: 1,
  otpPerPhonePerDay: 10,
  /** Registrations and code requests per client IP per hour. */
  requestsPerIpPerHour: 60,
  /**
   * Identifiers looked up in the registry of homes per client IP per hour: where an ID number is
   * registered is not to be enumerated from one address (an office behind NAT still logs in).
   */
  homeLookupsPerIpPerHour: 300,
};

/** What `attempt` read before a login was tried: the refusal, if any, and the account's failures counted so far. */
export interface Attempt {
  refusal: Refusal | null;
  accountFailures: number;
}

const seconds = (r: RateLimiterRes | null) => Math.max(1, Math.ceil((r?.msBeforeNext ?? 1000) / 1000));

export class LoginThrottle {
  private readonly perAccount: RateLimiter;
  private readonly perIp: RateLimiter;
  private readonly otpMinute: RateLimiter;
  private readonly otpDay: RateLimiter;
  private readonly ipRequests: RateLimiter;
  private readonly homeLookups: RateLimiter;

  constructor(
    kv: KeyValueStore,
    readonly policy = THROTTLE_POLICY,
  ) {
    this.perAccount = kv.rateLimiter({
      keyPrefix: 'fail:acct',
      points: policy.failuresPerAccount,
      durationSeconds: policy.accountLockSeconds,
      blockSeconds: policy.accountLockSeconds,
    });
    this.perIp = kv.rateLimiter({ keyPrefix: 'fail:ip', points: policy.failuresPerIp, durationSeconds: 3600, blockSeconds: 3600 });
    this.otpMinute = kv.rateLimiter({ keyPrefix: 'otp:min', points: policy.otpPerPhonePerMinute, durationSeconds: 60 });
    this.otpDay = kv.rateLimiter({ keyPrefix: 'otp:day', points: policy.otpPerPhonePerDay, durationSeconds: 86400 });
    this.ipRequests = kv.rateLimiter({ keyPrefix: 'req:ip', points: policy.requestsPerIpPerHour, durationSeconds: 3600 });
    this.homeLookups = kv.rateLimiter({ keyPrefix: 'home:ip', points: policy.homeLookupsPerIpPerHour, durationSeconds: 3600 });
  }

  /** Refuses before any password work when the account or the IP is locked. */
  async check(accountKey: string, ip: string): Promise<Refusal | null> {
    return (await this.attempt(accountKey, ip)).refusal;
  }

  /** `check`, with what it read of the account's failures, for `success` to clear them only if there are any. */
  async attempt(accountKey: string, ip: string): Promise<Attempt> {
    const [acct, byIp] = await Promise.all([this.perAccount.get(accountKey), this.perIp.get(ip)]);
    const accountFailures = acct?.consumedPoints ?? 0;
    if (accountFailures >= this.policy.failuresPerAccount)
      return { accountFailures, refusal: { reason: 'locked', retryAfterSeconds: seconds(acct) } };
    if (byIp && byIp.consumedPoints >= this.policy.failuresPerIp)
      return { accountFailures, refusal: { reason: 'ip_limited', retryAfterSeconds: seconds(byIp) } };
    return { accountFailures, refusal: null };
  }

  /** Records a failure; returns the refusal it caused, if it was the last allowed. */
  async failure(accountKey: string, ip: string): Promise<Refusal | null> {
    const [acct] = await Promise.all([this.perAccount.penalty(accountKey, 1), this.perIp.penalty(ip, 1)]);
    return acct.consumedPoints >= this.policy.failuresPerAccount
      ? { reason: 'locked', retryAfterSeconds: this.policy.accountLockSeconds }
      : null;
  }

  /**
   * A login succeeded after `attempt`: the account's failures counted then are cleared. With none
   * counted (most logins), nothing is written; a failure that a concurrent attempt counts
   * meanwhile stays, as it would had it come just after.
   */
  async success(accountKey: string, attempt: Attempt): Promise<void> {
    if (attempt.accountFailures > 0) await this.perAccount.delete(accountKey);
  }

  /** Null when a code may be sent to this phone now, otherwise seconds to wait. */
  async otpAllowed(phoneKey: string): Promise<number | null> {
    return (await consumeOrWait(this.otpMinute, phoneKey)) ?? consumeOrWait(this.otpDay, phoneKey);
  }

  /** Null when this IP may make another costly request (registration, code), otherwise seconds to wait. */
  ipRequestAllowed(ip: string): Promise<number | null> {
    return consumeOrWait(this.ipRequests, ip);
  }

  /** Null when this IP may have another identifier looked up in the registry of homes, otherwise seconds to wait. */
  homeLookupAllowed(ip: string): Promise<number | null> {
    return consumeOrWait(this.homeLookups, ip);
  }
}

async function consumeOrWait(limiter: RateLimiter, key: string): Promise<number | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (r) {
    if (r instanceof Error) throw r;
    return seconds(r as RateLimiterRes);
  }
}
