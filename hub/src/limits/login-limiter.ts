/**
 * Login attempts per client IP: --login-rate a minute, all of them at once
 * after a quiet spell. Slows password guessing to a crawl without locking a
 * real user out for long. Counts every attempt, right or wrong.
 */
import { TokenBucket } from './token-bucket.js';

/** Past this many tracked IPs, full (idle) buckets are forgotten. */
const SWEEP_AT = 10_000;

export class LoginLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  readonly counters = { ok: 0, failed: 0, rateLimited: 0 };

  constructor(private readonly perMinute: number) {}

  /** True when this IP may try now; false means answer 429. */
  allow(ip: string, now = Date.now()): boolean {
    if (this.perMinute === 0) return true;
    let bucket = this.buckets.get(ip);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = new TokenBucket(this.perMinute / 60, this.perMinute);
      this.buckets.set(ip, bucket);
    }
    if (bucket.tryTake(now)) return true;
    this.counters.rateLimited += 1;
    return false;
  }

  /** Seconds until the next attempt is allowed, for Retry-After. */
  retryAfterSec(): number {
    return Math.max(1, Math.ceil(60 / Math.max(1, this.perMinute)));
  }

  private sweep(now: number): void {
    for (const [ip, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(ip);
  }
}
