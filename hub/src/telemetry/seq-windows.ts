/**
 * Which telemetry samples are resends [FP-4.2]: the seq numbers the hub has
 * seen, per boot of a device. A device names its boot in `hello.boot` (and a
 * backlog from an earlier boot in `telemetry.boot`); seq numbers are unique
 * within a boot, so each boot has its own window and seq 0 does not clear it.
 * A device that never names a boot has one window that seq 0 restarts (1.0).
 *
 * The per-sample work (SeqWindow.accept) is O(1) and allocates nothing
 * beyond the window's own set and list.
 */
import { MAX_BOOT_WINDOWS, SEQ_WINDOW, type BootId, type DeviceStats } from '@iot-hub/protocol';

/**
 * A seq this far from the last one (either way) is a counter that restarted
 * or went wrong, not that many lost samples [FP-4.2]: it counts as one reset
 * and the count goes on from it. Without it one seq of 2^53 - 1 added
 * 9 × 10^15 gaps, and a jump back stopped gaps from being counted at all.
 */
export const SEQ_RESET_JUMP = 100_000;

/**
 * A boot as the hub keys it: by type and value, so the integer 5 and the
 * string "5" are different boots [FP-4.2].
 */
export type BootKey = string;

export function bootKey(boot: BootId): BootKey {
  return typeof boot === 'number' ? `n:${boot}` : `s:${boot}`;
}

/** What accept() found: a resend, or a new seq (and whether the gap/reset counts moved). */
export const SeqCheck = { Duplicate: 0, New: 1, NewStatsChanged: 2 } as const;
export type SeqCheck = (typeof SeqCheck)[keyof typeof SeqCheck];

export class SeqWindow {
  /** Highest seq seen, -1 before the first. */
  last = -1;
  readonly recent = new Set<number>();
  /** The seqs of `recent` in arrival order, oldest first: the oldest leaves when the window is full. */
  readonly order: number[] = [];
  /** Writes in flight by seq: a duplicate is acknowledged only when its original is durable. */
  readonly pending = new Map<number, Promise<void>>();
  /** Epoch ms this window was last used: the least recently used boot is evicted first. */
  usedAt: number;

  /** `key` null: the window of a device that names no boot, where seq 0 means "rebooted". */
  constructor(
    readonly key: BootKey | null,
    usedAt = 0,
  ) {
    this.usedAt = usedAt;
  }

  /** Takes one seq: Duplicate when it is among the last SEQ_WINDOW seen, else counts gaps and resets. */
  accept(seq: number, stats: DeviceStats): SeqCheck {
    // Without a named boot, seq 0 is the device saying it restarted its counter [FP-4.2].
    if (seq === 0 && this.key === null) {
      this.last = -1;
      this.recent.clear();
      this.order.length = 0;
    } else if (this.recent.has(seq)) return SeqCheck.Duplicate;
    let result: SeqCheck = SeqCheck.New;
    if (this.last >= 0 && Math.abs(seq - this.last) > SEQ_RESET_JUMP) {
      stats.seqResets += 1;
      this.last = seq;
      result = SeqCheck.NewStatsChanged;
    } else if (this.last >= 0 && seq > this.last + 1) {
      stats.seqGaps += seq - this.last - 1;
      result = SeqCheck.NewStatsChanged;
    }
    // A late seq within the window fills a gap counted earlier (reordering is not loss).
    else if (seq < this.last && seq > this.last - SEQ_WINDOW && stats.seqGaps > 0) stats.seqGaps -= 1;
    if (seq > this.last) this.last = seq;
    this.recent.add(seq);
    this.order.push(seq);
    if (this.order.length > SEQ_WINDOW) this.recent.delete(this.order.shift() as number);
    return result;
  }

  /** A seq whose write failed: it was not stored, so its resend must not be taken for a duplicate. */
  forget(seq: number): void {
    this.pending.delete(seq);
    if (!this.recent.delete(seq)) return;
    const at = this.order.lastIndexOf(seq);
    if (at >= 0) this.order.splice(at, 1);
  }

  /**
   * The seqs whose writes have committed, oldest first, as runs: [first,
   * count, first, count, ...] (a device counting up makes one run). Never a
   * seq still in flight: persisted, its resend would be dropped after a hub
   * crash although it was never stored.
   */
  committedRuns(): number[] {
    const runs: number[] = [];
    let first = -1;
    let count = 0;
    for (const seq of this.order) {
      if (this.pending.has(seq)) continue;
      if (count > 0 && seq === first + count) count += 1;
      else {
        if (count > 0) runs.push(first, count);
        first = seq;
        count = 1;
      }
    }
    if (count > 0) runs.push(first, count);
    return runs;
  }

  /** A window as persisted: runs as committedRuns() makes them. */
  static fromRuns(key: BootKey, last: number, runs: readonly number[], usedAt: number): SeqWindow {
    const window = new SeqWindow(key, usedAt);
    window.last = last;
    for (let i = 0; i + 1 < runs.length; i += 2) {
      const first = runs[i] as number;
      const count = runs[i + 1] as number;
      for (let n = 0; n < count; n++) {
        window.recent.add(first + n);
        window.order.push(first + n);
      }
    }
    // A stored window is never larger than SEQ_WINDOW; trimmed anyway, should a row be edited by hand.
    while (window.order.length > SEQ_WINDOW) window.recent.delete(window.order.shift() as number);
    return window;
  }
}

/**
 * The windows of one device: its MAX_BOOT_WINDOWS most recently used named
 * boots (least recently used evicted first, never the boot of its current
 * hello), and the 1.0 window for telemetry of no named boot. Also keeps what
 * changed since the last persist: windows with newly committed seqs and
 * evicted boots.
 */
export class BootWindows {
  /** The boot named by the device's last `hello`; null = none named, telemetry without `boot` uses the 1.0 window. */
  private currentBoot: BootId | null = null;
  private currentKey: BootKey | null = null;
  private legacy: SeqWindow | null = null;
  /** Named boots in least recently used order: a Map iterates in insertion order. */
  private readonly named = new Map<BootKey, SeqWindow>();
  private mostRecent: SeqWindow | null = null;
  /** Windows to persist, and boots to delete, at the next persist. */
  readonly changed = new Set<SeqWindow>();
  readonly evicted = new Set<BootKey>();

  get current(): BootKey | null {
    return this.currentKey;
  }

  get size(): number {
    return this.named.size;
  }

  /**
   * The boot of a `hello` [FP-4.2]; absent = the device names no boot (any
   * more), and its telemetry without `boot` goes to the 1.0 window. Returns
   * true when the current boot changed (the caller persists it at once).
   */
  setCurrent(boot: BootId | undefined, now: number): boolean {
    if (boot === undefined) {
      if (this.currentKey === null) return false;
      this.currentBoot = null;
      this.currentKey = null;
      return true;
    }
    if (boot === this.currentBoot) {
      this.window(boot, now);
      return false;
    }
    this.currentBoot = boot;
    this.currentKey = bootKey(boot);
    this.window(boot, now);
    return true;
  }

  /** Restores the current boot as persisted, without using its window. */
  restoreCurrent(key: BootKey, boot: BootId): void {
    this.currentKey = key;
    this.currentBoot = boot;
  }

  /** Restores a persisted window (the caller adds them oldest first). */
  restore(window: SeqWindow): void {
    if (window.key === null) return;
    this.named.set(window.key, window);
    this.mostRecent = window;
  }

  /**
   * The window a message's samples are checked in: its `boot`, else the
   * current boot, else the 1.0 window. A boot not held gets a new, empty
   * window (its samples cannot be checked against what an evicted window
   * knew: they are stored), evicting the least recently used boot.
   */
  window(boot: BootId | undefined, now: number): SeqWindow {
    let key: BootKey | null;
    if (boot === undefined || boot === this.currentBoot) key = this.currentKey;
    else key = bootKey(boot);
    if (key === null) return (this.legacy ??= new SeqWindow(null, now));
    let window = this.mostRecent !== null && this.mostRecent.key === key ? this.mostRecent : this.named.get(key);
    if (window === undefined) {
      if (this.named.size >= MAX_BOOT_WINDOWS) this.evictOne();
      window = new SeqWindow(key, now);
      this.evicted.delete(key);
    } else if (window === this.mostRecent) {
      window.usedAt = now;
      return window;
    } else this.named.delete(key);
    this.named.set(key, window);
    this.mostRecent = window;
    window.usedAt = now;
    // Its new place in the LRU order is worth persisting.
    this.changed.add(window);
    return window;
  }

  /** Puts back what a failed persist took: saved by the next one, where it still applies. */
  requeue(changed: Iterable<SeqWindow>, evicted: Iterable<BootKey>): void {
    for (const window of changed) if (this.holds(window)) this.changed.add(window);
    // A boot used again since its eviction has a new window, which the delete must not remove.
    for (const key of evicted) if (!this.named.has(key)) this.evicted.add(key);
  }

  /** Whether the window is still held (an evicted one is not persisted again). */
  holds(window: SeqWindow): boolean {
    return window.key !== null && this.named.get(window.key) === window;
  }

  /** Named windows, least recently used first. */
  windows(): IterableIterator<SeqWindow> {
    return this.named.values();
  }

  private evictOne(): void {
    for (const [key, window] of this.named) {
      if (key === this.currentKey) continue;
      this.named.delete(key);
      this.changed.delete(window);
      this.evicted.add(key);
      if (this.mostRecent === window) this.mostRecent = null;
      return;
    }
  }
}

/** The BootId a key names: the inverse of bootKey(). */
export function bootOfKey(key: BootKey): BootId {
  return key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2);
}
