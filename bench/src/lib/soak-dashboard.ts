/**
 * The soak run's dashboard socket: subscribed to every device's telemetry,
 * like the ingest probe, but its publish → push latencies are kept per
 * interval and then summarised and dropped, so an hours-long run does not
 * grow this process by 8 bytes per message.
 */
import type { DashboardEvent } from '@iot-hub/protocol';
import { LatencyRecorder, type LatencySummary } from '@iot-hub/device-sim';
import { DashboardSocketProbe } from './dashboard-socket.js';

export class SoakDashboardProbe extends DashboardSocketProbe {
  events = 0;
  protected readonly kinds = ['telemetry'] as const;
  #window = new LatencyRecorder();

  protected onEvent(event: DashboardEvent): void {
    if (event.event !== 'telemetry') return;
    this.events++;
    const t = event.metrics.t;
    if (typeof t === 'number') this.#window.record(Date.now() - t);
  }

  /** Latency summary since the previous call, and a fresh window. */
  takeWindow(): LatencySummary | null {
    const summary = this.#window.summary();
    this.#window = new LatencyRecorder();
    return summary;
  }
}
