/**
 * A coarse clock for relative times ("2 min ago"): re-renders the host every
 * `intervalMs` while it is connected, and not at all when it is not.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class ClockController implements ReactiveController {
  now = Date.now();
  private readonly host: ReactiveControllerHost;
  private readonly intervalMs: number;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(host: ReactiveControllerHost, intervalMs = 5_000) {
    this.host = host;
    this.intervalMs = intervalMs;
    host.addController(this);
  }

  hostConnected(): void {
    this.now = Date.now();
    this.timer = setInterval(() => {
      this.now = Date.now();
      this.host.requestUpdate();
    }, this.intervalMs);
  }

  hostDisconnected(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
