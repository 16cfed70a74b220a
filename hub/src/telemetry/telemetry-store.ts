/**
 * The storage seam for telemetry. SQLite (embedded default) and InfluxDB
 * (behind a durable local buffer) implement it; one contract test suite
 * (test/telemetry/store-contract.ts) runs against every implementation.
 */
import type { HistorySeries, StoreHealth } from '@iot-hub/protocol';

/** One stored value: a device's metric at a time (booleans arrive as 1/0). */
export interface TelemetryPoint {
  deviceId: string;
  metric: string;
  ts: number;
  value: number;
}

export interface HistoryQuery {
  deviceId: string;
  /** Metrics to read; null = every metric the device has. */
  metrics: readonly string[] | null;
  /** Inclusive range, epoch ms. */
  from: number;
  to: number;
  /** Most points per series; the store downsamples into buckets above it. */
  maxPoints: number;
}

export interface HistoryResult {
  /** Width of each bucket in ms; 0 when points are raw samples. */
  bucketMs: number;
  series: HistorySeries[];
}

export interface StoredValue {
  value: number;
  ts: number;
}

/**
 * An empty result for TelemetryStore.latest(): metric names are chosen by
 * devices and `__proto__`, `constructor` … are valid ones, so the record
 * has no prototype and every name is an own key.
 */
export function latestRecord(): Record<string, StoredValue> {
  return Object.create(null) as Record<string, StoredValue>;
}

export interface TelemetryStore {
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Stores the points durably: when the promise resolves they survive a
   * crash of the hub. A point with the same device, metric and ts as a
   * stored one replaces it (so retries are idempotent).
   */
  write(points: readonly TelemetryPoint[]): Promise<void>;
  history(query: HistoryQuery): Promise<HistoryResult>;
  /** Newest value of each metric of a device, in a record without prototype (latestRecord()). */
  latest(deviceId: string): Promise<Record<string, StoredValue>>;
  /**
   * Newest value of each metric of every device, in one read (cluster mode:
   * a node that starts listening to telemetry again catches up with the
   * devices other nodes hold). Absent: not offered by this store.
   */
  latestOfAll?(): Promise<Map<string, Record<string, StoredValue>>>;
  deleteDevice(deviceId: string): Promise<void>;
  /**
   * Set by a store that applies writes in the order they were made, however
   * many are in flight: how many the pipeline may have in flight at once.
   * Absent: one at a time.
   */
  readonly orderedWrites?: number;
  /** Health detail for /healthz; stores without a backlog may omit it. */
  status?(): StoreStatus;
}

/** What a store reports for /healthz: the wire type, one definition. */
export type StoreStatus = StoreHealth;

/**
 * The store refused these points for good (for example an InfluxDB field
 * type conflict): sending them again cannot succeed. Anything else a write
 * throws is treated as transient and retried.
 */
export class RejectedPointsError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'RejectedPointsError';
  }
}

/**
 * Bucket width for a range and a point budget: the smallest whole number of
 * ms that fits the range into maxPoints buckets. Buckets start at `from`
 * (not at the epoch), so there are never more than maxPoints of them.
 */
export function bucketWidth(from: number, to: number, maxPoints: number): number {
  return Math.max(1, Math.ceil((to - from + 1) / maxPoints));
}
