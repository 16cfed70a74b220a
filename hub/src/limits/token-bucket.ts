/**
 * A token bucket kept as a single number, in the "virtual scheduling" form
 * of GCRA: `rate` tokens a second, at most `burst` saved up. `tat` (the
 * theoretical arrival time) is when the bucket will be full again; a token
 * is there now while `tat - (burst - 1) × interval <= now`.
 *
 * reserve() also hands out tokens in the future, in order, which is what
 * push-back needs: each message learns how long to wait for its turn.
 */
export class TokenBucket {
  /** Milliseconds per token. */
  private readonly interval: number;
  /** How far ahead of now `tat` may run while a token is still there now. */
  private readonly tolerance: number;
  private tat = 0;

  constructor(ratePerSec: number, burst: number) {
    if (!(ratePerSec > 0) || !(burst >= 1)) throw new RangeError(`TokenBucket needs a rate > 0 and a burst >= 1, got ${ratePerSec} and ${burst}`);
    this.interval = 1000 / ratePerSec;
    this.tolerance = (Math.floor(burst) - 1) * this.interval;
  }

  /** Takes a token if one is there now; false leaves the bucket as it was. */
  tryTake(now: number): boolean {
    const tat = Math.max(this.tat, now);
    if (tat - this.tolerance > now) return false;
    this.tat = tat + this.interval;
    return true;
  }

  /** Takes the next token, now or later: the milliseconds until it is there (0 = now). */
  reserve(now: number): number {
    const tat = Math.max(this.tat, now);
    this.tat = tat + this.interval;
    return Math.max(0, Math.ceil(tat - this.tolerance - now));
  }

  /** Returns the token reserved last, for a message that was never handled. */
  giveBack(): void {
    this.tat -= this.interval;
  }

  /** Full again (idle long enough): forgetting it changes nothing. */
  isFull(now: number): boolean {
    return this.tat <= now;
  }
}
