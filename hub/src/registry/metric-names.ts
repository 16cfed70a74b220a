/**
 * The per-device limit of distinct metric names [FP-7.3]. Every name a
 * device uses becomes a series in the store, a key of its latest values and
 * a row of every view of it, all kept for as long as the device exists: an
 * unbounded set lets one device fill InfluxDB's max-values-per-tag (so
 * other devices' readings are refused), swell GET /api/devices and slow
 * every restart. A device's names are those it has readings for and those
 * its current hello declares; the limit is never below what one hello may
 * declare (MAX_METRICS_PER_SAMPLE), so a hello of a new device always fits.
 */
import { ProtocolError, type MetricValue } from '@iot-hub/protocol';

export const DEFAULT_MAX_METRICS_PER_DEVICE = 256;
const SETTING = '--max-metrics-per-device';

export class MetricNameLimit {
  /** Messages refused for the limit since start, by message type (for /metrics). */
  readonly refused = { telemetry: 0, hello: 0 };

  constructor(readonly max: number) {}

  /** Throws too_many_metrics when the samples name more new metrics than the device has room for. */
  checkTelemetry(deviceId: string, known: ReadonlySet<string>, samples: readonly { metrics: Record<string, MetricValue> }[]): void {
    let fresh: Set<string> | null = null;
    for (const s of samples) {
      for (const name in s.metrics) {
        if (known.has(name) || fresh?.has(name)) continue;
        (fresh ??= new Set()).add(name);
        if (known.size + fresh.size > this.max) {
          this.refused.telemetry += 1;
          throw new ProtocolError(
            'too_many_metrics',
            `${JSON.stringify(name)} would be metric name ${known.size + fresh.size} of device ${JSON.stringify(deviceId)}; the limit is ${this.max} (${SETTING}); its known names are still accepted`,
          );
        }
      }
    }
  }

  /** Throws too_many_metrics when a hello's metrics and those with readings are more than the limit. */
  checkHello(deviceId: string, names: number, withReadings: number): void {
    if (names <= this.max) return;
    this.refused.hello += 1;
    throw new ProtocolError(
      'too_many_metrics',
      `the hello's metrics and the ${withReadings} device ${JSON.stringify(deviceId)} has readings for are ${names} names; the limit is ${this.max} (${SETTING})`,
    );
  }
}
