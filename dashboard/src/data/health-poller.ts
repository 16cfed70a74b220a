/**
 * Polls GET /healthz every `intervalMs` (10 s by default) and publishes the
 * latest answer, or why there is none. One request at a time: the next poll
 * is scheduled when the previous one ended, and stop() aborts the one in
 * flight. No DOM: the HealthController ties it to an element's lifecycle.
 */
import type { HealthResponse } from '@iot-hub/protocol';

export interface HealthState {
  /** The last answer the hub gave; kept while later polls fail. */
  health: HealthResponse | null;
  /** Why the last poll failed; null after a successful one. */
  error: string | null;
  /** When the last poll ended (epoch ms); null before the first. */
  checkedAt: number | null;
}

export interface HealthPollerOptions {
  fetchHealth: (signal: AbortSignal) => Promise<HealthResponse>;
  onChange: (state: HealthState) => void;
  intervalMs?: number;
  now?: () => number;
}

export const HEALTH_POLL_MS = 10_000;

export class HealthPoller {
  state: HealthState = { health: null, error: null, checkedAt: null };
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: AbortController | null = null;
  private running = false;

  constructor(private readonly options: HealthPollerOptions) {}

  /** Polls now, then every intervalMs until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.poll();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.inFlight?.abort();
    this.inFlight = null;
  }

  private async poll(): Promise<void> {
    const controller = new AbortController();
    this.inFlight = controller;
    let next: HealthState;
    try {
      const health = await this.options.fetchHealth(controller.signal);
      next = { health, error: null, checkedAt: this.now() };
    } catch (error) {
      next = { health: this.state.health, error: error instanceof Error ? error.message : String(error), checkedAt: this.now() };
    }
    if (!this.running || controller.signal.aborted) return;
    this.inFlight = null;
    this.state = next;
    this.options.onChange(next);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, this.options.intervalMs ?? HEALTH_POLL_MS);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
