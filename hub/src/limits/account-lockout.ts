/**
 * Failed logins per account name, whatever address they come from: the
 * per-address limit (login-limiter.ts) alone let 20 addresses make 300
 * guesses a minute at one account.
 *
 * After --login-account-failures failures in a row, each further failure
 * locks the name for 1 s, 2 s, 4 s … up to --login-lockout-max-sec; tries
 * while locked are refused without checking the password and do not extend
 * the lock, so a guesser gets at most one checked try per cap. The count is
 * forgotten after a quiet spell and on success. Unknown names are treated
 * alike, so a lock says nothing about which names exist.
 *
 * A lock must not keep the real user out: an address that signed in to the
 * account before (the last few, kept in memory) is not held by its lock,
 * only by the per-address limit.
 */

/** A name's failures are forgotten after this long without one. */
const QUIET_RESET_MS = 15 * 60_000;
/** Names tracked at most; past it the ones quiet longest are forgotten first. */
const MAX_TRACKED = 10_000;
/** Addresses remembered per account as having signed in to it. */
const KNOWN_ADDRESSES = 4;

interface Failures {
  count: number;
  last: number;
  lockedUntil: number;
}

export interface AccountLockoutOptions {
  /** Failures in a row before the first lock; 0 turns the per-account limit off. */
  freeFailures: number;
  /** The longest one lock lasts, in seconds. */
  maxLockSec: number;
}

export class AccountLockout {
  /** In order of the last failure (re-inserted on each), so the first is the quietest. */
  private readonly failures = new Map<string, Failures>();
  private readonly known = new Map<string, string[]>();
  readonly counters = { refused: 0, locks: 0 };

  constructor(private readonly options: AccountLockoutOptions) {}

  /** Seconds until this name may be tried from this address again; 0 = now. */
  retryAfterSec(username: string, ip: string, now = Date.now()): number {
    if (this.options.freeFailures === 0 || this.known.get(username)?.includes(ip)) return 0;
    const f = this.failures.get(username);
    if (f === undefined || f.lockedUntil <= now) return 0;
    this.counters.refused += 1;
    return Math.ceil((f.lockedUntil - now) / 1000);
  }

  failed(username: string, now = Date.now()): void {
    if (this.options.freeFailures === 0) return;
    const previous = this.failures.get(username);
    const count = previous !== undefined && now - previous.last < QUIET_RESET_MS ? previous.count + 1 : 1;
    this.failures.delete(username);
    if (this.failures.size >= MAX_TRACKED) this.failures.delete(this.failures.keys().next().value as string);
    const over = count - this.options.freeFailures;
    const lockMs = over > 0 ? Math.min(this.options.maxLockSec * 1000, 1000 * 2 ** Math.min(over - 1, 30)) : 0;
    if (lockMs > 0) this.counters.locks += 1;
    this.failures.set(username, { count, last: now, lockedUntil: now + lockMs });
  }

  succeeded(username: string, ip: string): void {
    this.failures.delete(username);
    const addresses = (this.known.get(username) ?? []).filter((a) => a !== ip);
    addresses.push(ip);
    // Bounded by the number of real accounts: only a right password gets here.
    this.known.set(username, addresses.slice(-KNOWN_ADDRESSES));
  }

  /** Names locked right now, for /metrics. */
  lockedCount(now = Date.now()): number {
    let n = 0;
    for (const f of this.failures.values()) if (f.lockedUntil > now) n += 1;
    return n;
  }
}
