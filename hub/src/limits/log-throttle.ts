/**
 * Caps the log lines one source (a device, a remote address) can cause: at
 * most `linesPerWindow` per window, the rest counted and summed up in one
 * line when the window ends, so a flood of rejected input costs the log a
 * few lines, not megabytes. Sources are keyed by outsider input, so the
 * map is bounded; past it, new sources share one budget.
 */

export interface LogThrottleOptions {
  /** Lines one source may log per window; 0 = no limit. */
  linesPerWindow: number;
  windowMs: number;
  /** Sources tracked at once; more share the OVERFLOW budget. */
  maxSources?: number;
}

/** Says how many lines of a source were left out; the logger emits it as one line. */
export type SummaryWriter = (source: string, suppressed: number, windowMs: number) => void;

interface Window {
  startedAt: number;
  lines: number;
  suppressed: number;
}

const DEFAULT_MAX_SOURCES = 10_000;
/** The shared budget of sources past maxSources. */
export const OVERFLOW_SOURCE = 'other sources';

export class LogThrottle {
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | null = null;
  private writer: SummaryWriter | null = null;
  readonly counters = { suppressed: 0 };

  constructor(private readonly options: LogThrottleOptions) {}

  /** Where summaries go: set by the logger that consults this throttle. */
  setWriter(writer: SummaryWriter): void {
    this.writer = writer;
  }

  start(): void {
    if (this.options.linesPerWindow === 0 || this.timer) return;
    this.timer = setInterval(() => this.sweep(Date.now()), this.options.windowMs);
    this.timer.unref();
  }

  /** Stops the sweep and writes the summaries still pending. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sweep(Infinity);
  }

  /** Whether a line from `source` may be written now; false counts it as suppressed. */
  admit(source: string, now = Date.now()): boolean {
    const { linesPerWindow, windowMs } = this.options;
    if (linesPerWindow === 0) return true;
    let key = source;
    let w = this.windows.get(key);
    if (!w && this.windows.size >= (this.options.maxSources ?? DEFAULT_MAX_SOURCES)) {
      key = OVERFLOW_SOURCE;
      w = this.windows.get(key);
    }
    if (w && now - w.startedAt >= windowMs) {
      this.close(key, w);
      w = undefined;
    }
    if (!w) this.windows.set(key, (w = { startedAt: now, lines: 0, suppressed: 0 }));
    if (w.lines < linesPerWindow) {
      w.lines += 1;
      return true;
    }
    w.suppressed += 1;
    this.counters.suppressed += 1;
    return false;
  }

  /** Ends every window older than windowMs at `now`: summaries out, entries gone (the map shrinks back). */
  private sweep(now: number): void {
    for (const [key, w] of this.windows) {
      if (now - w.startedAt >= this.options.windowMs) this.close(key, w);
    }
  }

  private close(key: string, w: Window): void {
    this.windows.delete(key);
    if (w.suppressed > 0) this.writer?.(key, w.suppressed, this.options.windowMs);
  }
}
