/**
 * Series numbering for the SQLite telemetry store, on the writer's side:
 * each (device, metric) gets an id, and a batch of points becomes
 * (series id, ts, value) triples plus the definitions of the series the
 * database may not have yet. A definition is repeated in every batch until
 * one that carries it commits, so a failed batch never leaves an id the
 * database does not know, and nothing has to be reloaded after it.
 */
import type { TelemetryPoint } from './telemetry-store.js';

/** A series as stored: [id, device id, metric]. */
export type SeriesDefinition = [id: number, deviceId: string, metric: string];

/** A batch ready for SqliteTelemetryStore.writeRowsTogether(), and what to mark committed once it is. */
export interface EncodedBatch {
  rows: Float64Array<ArrayBuffer>;
  series: SeriesDefinition[];
  defining: readonly Series[];
}

interface Series {
  definition: SeriesDefinition;
  /** A batch that defined it has committed. */
  committed: boolean;
}

export class SeriesCatalog {
  /**
   * By device, then metric: two lookups on the strings as they come, about
   * ten times cheaper than building a joined key for every point.
   */
  private readonly byDevice = new Map<string, Map<string, Series>>();
  private nextId = 1;

  /** The series the database holds. */
  constructor(stored: readonly SeriesDefinition[]) {
    for (const definition of stored) {
      this.metricsOf(definition[1]).set(definition[2], { definition, committed: true });
      this.nextId = Math.max(this.nextId, definition[0] + 1);
    }
  }

  encode(points: readonly TelemetryPoint[]): EncodedBatch {
    const rows = new Float64Array(points.length * 3);
    const defining = new Set<Series>();
    let deviceId: string | null = null;
    let metrics: Map<string, Series> | null = null;
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as TelemetryPoint;
      // A batch holds runs of one device's points: look its map up once per run.
      if (p.deviceId !== deviceId || metrics === null) {
        deviceId = p.deviceId;
        metrics = this.metricsOf(deviceId);
      }
      let s = metrics.get(p.metric);
      if (!s) {
        s = { definition: [this.nextId++, p.deviceId, p.metric], committed: false };
        metrics.set(p.metric, s);
      }
      if (!s.committed) defining.add(s);
      rows[i * 3] = s.definition[0];
      rows[i * 3 + 1] = p.ts;
      rows[i * 3 + 2] = p.value;
    }
    const list = [...defining];
    return { rows, series: list.map((s) => s.definition), defining: list };
  }

  /** The batch committed: its series need no definition any more. */
  committed(batch: EncodedBatch): void {
    for (const s of batch.defining) s.committed = true;
  }

  /** A deleted device's series: a later point numbers them afresh. */
  forgetDevice(deviceId: string): void {
    this.byDevice.delete(deviceId);
  }

  private metricsOf(deviceId: string): Map<string, Series> {
    let metrics = this.byDevice.get(deviceId);
    if (!metrics) {
      metrics = new Map();
      this.byDevice.set(deviceId, metrics);
    }
    return metrics;
  }
}
