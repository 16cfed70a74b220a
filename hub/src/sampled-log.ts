/**
 * Rate-limited log lines for events an outsider can repeat at will (refused
 * connections, uncaught errors): the first of a kind is logged at once, then
 * at most one line per interval, carrying how many were not logged since.
 * The counters in /metrics keep the exact numbers. Where the logger's own
 * throttle (limits/log-throttle.ts) caps lines per device or address, this
 * caps them per kind of event, which many addresses together can repeat.
 */
import type { Logger } from 'pino';

const DEFAULT_INTERVAL_MS = 10_000;
/** Kinds remembered at most; a kind is a short fixed string chosen by the caller, never outsider input. */
const MAX_KINDS = 100;

interface KindState {
  lastAt: number;
  suppressed: number;
}

export class SampledLog {
  private readonly kinds = new Map<string, KindState>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  warn(kind: string, fields: Record<string, unknown>, message: string, now = Date.now()): void {
    this.emit('warn', kind, fields, message, now);
  }

  error(kind: string, fields: Record<string, unknown>, message: string, now = Date.now()): void {
    this.emit('error', kind, fields, message, now);
  }

  private emit(level: 'warn' | 'error', kind: string, fields: Record<string, unknown>, message: string, now: number): void {
    let state = this.kinds.get(kind);
    if (state && now - state.lastAt < this.intervalMs) {
      state.suppressed += 1;
      return;
    }
    if (!state) {
      if (this.kinds.size >= MAX_KINDS) this.kinds.clear();
      state = { lastAt: now, suppressed: 0 };
      this.kinds.set(kind, state);
    }
    const suppressed = state.suppressed;
    state.lastAt = now;
    state.suppressed = 0;
    this.log[level](suppressed > 0 ? { ...fields, notLoggedSinceLast: suppressed } : fields, message);
  }
}
