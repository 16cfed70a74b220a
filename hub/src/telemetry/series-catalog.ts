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

/** A batch ready for SqliteTelemetryStore.writeRows(), and what to mark committed once it is. */
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
  /** By `${deviceId}\0${metric}`. */
  private readonly series = new Map<string, Series>();
  private nextId = 1;

  /** The series the database holds. */
  constructor(stored: readonly SeriesDefinition[]) {
    for (const definition of stored) {
      this.series.set(seriesKey(definition[1], definition[2]), { definition, committed: true });
      this.nextId = Math.max(this.nextId, definition[0] + 1);
    }
  }

  encode(points: readonly TelemetryPoint[]): EncodedBatch {
    const rows = new Float64Array(points.length * 3);
    const defining = new Set<Series>();
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as TelemetryPoint;
      const key = seriesKey(p.deviceId, p.metric);
      let s = this.series.get(key);
      if (!s) {
        s = { definition: [this.nextId++, p.deviceId, p.metric], committed: false };
        this.series.set(key, s);
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
    for (const [key, s] of this.series) if (s.definition[1] === deviceId) this.series.delete(key);
  }
}

function seriesKey(deviceId: string, metric: string): string {
  return deviceId + '\u0000' + metric;
}
