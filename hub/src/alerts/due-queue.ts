/**
 * Due times of many keys on one timer: a min-heap by due time and a single
 * unref'd setTimeout armed for the earliest. Rules over a fleet have one due
 * time per (rule, device), and a thousand devices going offline at once
 * must not be a thousand timers. Re-arming a key leaves its old heap entry
 * behind; it is skipped when it surfaces (its time no longer matches).
 */

/** Node timers wait at most 2^31-1 ms; a longer wait fires early and re-arms. */
const MAX_TIMER_MS = 2_147_483_647;

interface Entry {
  at: number;
  key: string;
}

export class DueQueue {
  private readonly due = new Map<string, number>();
  private heap: Entry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  constructor(
    private readonly onDue: (key: string, now: number) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  get size(): number {
    return this.due.size;
  }

  has(key: string): boolean {
    return this.due.has(key);
  }

  /** (Re)arms `key` for epoch ms `at`; at once (next tick) if that has passed. */
  set(key: string, at: number): void {
    if (this.due.get(key) === at) return;
    this.due.set(key, at);
    this.push({ at, key });
    // Old entries pile up when keys are re-armed often: rebuild once they outnumber the live ones.
    if (this.heap.length > 2 * this.due.size + 1024) this.rebuild();
    if (at < this.timerAt) this.arm(at);
  }

  clear(key: string): void {
    this.due.delete(key);
  }

  clearAll(): void {
    this.due.clear();
    this.heap = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(at - this.clock(), 0), MAX_TIMER_MS));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock();
    const ready: string[] = [];
    while (this.heap.length > 0 && (this.heap[0] as Entry).at <= now) {
      const e = this.pop();
      if (this.due.get(e.key) !== e.at) continue;
      this.due.delete(e.key);
      ready.push(e.key);
    }
    while (this.heap.length > 0 && this.due.get((this.heap[0] as Entry).key) !== (this.heap[0] as Entry).at) this.pop();
    if (this.heap.length > 0) this.arm((this.heap[0] as Entry).at);
    for (const key of ready) this.onDue(key, now);
  }

  private rebuild(): void {
    this.heap = [];
    for (const [key, at] of this.due) this.push({ at, key });
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Entry).at <= e.at) break;
      h[i] = h[parent] as Entry;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0] as Entry;
    const last = h.pop() as Entry;
    if (h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as Entry).at < (h[l] as Entry).at ? r : l;
      if ((h[c] as Entry).at >= last.at) break;
      h[i] = h[c] as Entry;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
