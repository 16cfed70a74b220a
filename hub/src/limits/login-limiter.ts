/**
 * Login attempts per client IP: --login-rate a minute, all of them at once
 * after a quiet spell. Slows password guessing to a crawl without locking a
 * real user out for long. Counts every attempt, right or wrong.
 */
import { BucketsByKey } from './buckets-by-key.js';

/** Client addresses tracked at most (an IPv6 host has many to try from). */
const MAX_TRACKED_IPS = 10_000;

export class LoginLimiter {
  private readonly buckets: BucketsByKey | null;
  readonly counters = { ok: 0, failed: 0, rateLimited: 0 };

  constructor(private readonly perMinute: number) {
    this.buckets = perMinute === 0 ? null : new BucketsByKey(perMinute / 60, perMinute, MAX_TRACKED_IPS);
  }

  /** Addresses tracked now, for tests and /metrics. */
  get trackedAddresses(): number {
    return this.buckets?.size ?? 0;
  }

  /** True when this IP may try now; false means answer 429. */
  allow(ip: string, now = Date.now()): boolean {
    if (!this.buckets || this.buckets.tryTake(ip, now)) return true;
    this.counters.rateLimited += 1;
    return false;
  }

  /** Seconds until the next attempt is allowed, for Retry-After. */
  retryAfterSec(): number {
    return Math.max(1, Math.ceil(60 / Math.max(1, this.perMinute)));
  }
}
