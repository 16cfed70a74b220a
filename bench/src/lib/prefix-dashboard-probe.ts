/**
 * A dashboard socket subscribed to every device's telemetry that counts only
 * the devices whose id starts with a prefix: one benchmark run's publishers.
 * A hub still working through an earlier run's backlog then cannot inflate
 * this run's count. Times publish → push from the `t` metric like
 * DashboardProbe.
 */
import type { DashboardEvent } from '@iot-hub/protocol';
import { LatencyRecorder } from '@iot-hub/device-sim';
import { DashboardSocketProbe } from './dashboard-socket.js';

export class PrefixDashboardProbe extends DashboardSocketProbe {
  readonly latency = new LatencyRecorder();
  /** Telemetry events of the prefix's devices. */
  events = 0;
  /** Telemetry events of other devices (an earlier run's backlog). */
  others = 0;
  /** Wall clock of the last counted event. */
  lastEventAt = 0;
  protected readonly kinds = ['telemetry'] as const;

  constructor(private readonly prefix: string) {
    super();
  }

  protected onEvent(event: DashboardEvent): void {
    if (event.event !== 'telemetry') return;
    if (!event.deviceId.startsWith(this.prefix)) {
      this.others++;
      return;
    }
    const now = Date.now();
    this.events++;
    this.lastEventAt = now;
    const t = event.metrics.t;
    if (typeof t === 'number') this.latency.record(now - t);
  }
}
