/**
 * One dashboard socket subscribed to every device's telemetry: counts the
 * live events and times publish → push from the `t` metric (epoch ms at
 * send) that load mode puts in every payload.
 *
 * An untimed probe only counts: a frame that starts as the hub writes a
 * telemetry event is counted without being parsed. Ten sockets parsing
 * every event took about half a core of this process in the ingest
 * benchmark, on the two cores the hub runs on; in production the
 * dashboards' parsing happens in browsers on other machines. Anything else
 * (an overflow notice, a differently written frame) is parsed as usual.
 */
import type { DashboardEvent } from '@iot-hub/protocol';
import { LatencyRecorder } from '@iot-hub/device-sim';
import { DashboardSocketProbe } from './dashboard-socket.js';

/** How the hub's outbox writes a telemetry event: JSON.stringify({ event: 'telemetry', ... }). */
const TELEMETRY_FRAME_START = Buffer.from('{"event":"telemetry",');

export class DashboardProbe extends DashboardSocketProbe {
  readonly latency = new LatencyRecorder();
  events = 0;
  /** Wall clock of the last telemetry event. */
  lastEventAt = 0;
  protected readonly kinds = ['telemetry'] as const;

  /** `timed`: parse every event and record its latency; otherwise count telemetry frames unparsed. */
  constructor(private readonly timed = true) {
    super();
  }

  protected override takeUnparsed(data: Buffer): boolean {
    if (this.timed || data.length < TELEMETRY_FRAME_START.length || data.compare(TELEMETRY_FRAME_START, 0, TELEMETRY_FRAME_START.length, 0, TELEMETRY_FRAME_START.length) !== 0) return false;
    this.events++;
    this.lastEventAt = Date.now();
    return true;
  }

  protected onEvent(event: DashboardEvent): void {
    if (event.event !== 'telemetry') return;
    const now = Date.now();
    this.events++;
    this.lastEventAt = now;
    const t = event.metrics.t;
    if (typeof t === 'number' && this.timed) this.latency.record(now - t);
  }
}
