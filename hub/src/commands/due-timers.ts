/**
 * One timer per id, for the moment something falls due (a command's expiry
 * or timeout). Timers are unref'd, so they never keep the process alive,
 * and clearAll() leaves none behind.
 */

/** Node timers wait at most 2^31-1 ms (about 24.8 days); a longer wait fires early and the owner re-arms. */
const MAX_TIMER_MS = 2_147_483_647;

export class DueTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onDue: (id: string) => void) {}

  get size(): number {
    return this.timers.size;
  }

  has(id: string): boolean {
    return this.timers.has(id);
  }

  /** (Re)arms the timer of `id` for `dueAt`; at once if that has passed. */
  set(id: string, dueAt: number, now: number): void {
    this.after(id, Math.min(Math.max(dueAt - now, 0), MAX_TIMER_MS));
  }

  /** (Re)arms the timer of `id` to fire in `delayMs`. */
  after(id: string, delayMs: number): void {
    this.clear(id);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.onDue(id);
    }, delayMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  clear(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
