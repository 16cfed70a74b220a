/**
 * One dashboard socket subscribed to every device's telemetry: counts the
 * live events and times publish → push from the `t` metric (epoch ms at
 * send) that load mode puts in every payload.
 */
import type { DashboardEvent } from '@iot-hub/protocol';
import { LatencyRecorder } from '@iot-hub/device-sim';
import { DashboardSocketProbe } from './dashboard-socket.js';

export class DashboardProbe extends DashboardSocketProbe {
  readonly latency = new LatencyRecorder();
  events = 0;
  /** Wall clock of the last telemetry event. */
  lastEventAt = 0;
  protected readonly kinds = ['telemetry'] as const;

  protected onEvent(event: DashboardEvent): void {
    if (event.event !== 'telemetry') return;
    const now = Date.now();
    this.events++;
    this.lastEventAt = now;
    const t = event.metrics.t;
    if (typeof t === 'number') this.latency.record(now - t);
  }
}
