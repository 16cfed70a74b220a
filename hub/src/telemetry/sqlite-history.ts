/**
 * History reads of the SQLite telemetry store, on whichever connection is
 * given: the writer's own (SqliteTelemetryStore.history) or a read-only one
 * on a thread of its own (the threaded store), so that a long read never
 * holds up the writes, and with them devices' acknowledgements. WAL lets
 * that connection read a consistent snapshot while the writer commits.
 */
import type Database from 'better-sqlite3';
import type { HistorySeries } from '@iot-hub/protocol';
import { bucketWidth, type HistoryQuery, type HistoryResult } from './telemetry-store.js';

export interface HistoryStatements {
  seriesOfDevice: Database.Statement;
  countRange: Database.Statement;
  rawRange: Database.Statement;
  bucketRange: Database.Statement;
}

export function prepareHistory(db: Database.Database): HistoryStatements {
  return {
    seriesOfDevice: db.prepare('SELECT id, metric FROM series WHERE device_id = ? ORDER BY metric'),
    countRange: db.prepare('SELECT count(*) AS n FROM samples WHERE series_id = ? AND ts BETWEEN ? AND ?'),
    rawRange: db.prepare('SELECT ts, value FROM samples WHERE series_id = ? AND ts BETWEEN ? AND ? ORDER BY ts'),
    bucketRange: db.prepare(
      // Bound JS numbers arrive as REAL: cast so the division is integer bucketing.
      `SELECT @from + ((ts - CAST(@from AS INTEGER)) / CAST(@w AS INTEGER)) * CAST(@w AS INTEGER) AS bucket, avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS count
       FROM samples WHERE series_id = @id AND ts BETWEEN @from AND @to GROUP BY bucket ORDER BY bucket`,
    ),
  };
}

/** Reads `samples` only: the caller has moved the journal first (see SqliteTelemetryStore.moveAll). */
export function readHistory(st: HistoryStatements, query: HistoryQuery): HistoryResult {
  const all = st.seriesOfDevice.all(query.deviceId) as { id: number; metric: string }[];
  const wanted = query.metrics === null ? all : all.filter((s) => query.metrics?.includes(s.metric));
  let total = 0;
  const counts = wanted.map((s) => {
    const n = (st.countRange.get(s.id, query.from, query.to) as { n: number }).n;
    total = Math.max(total, n);
    return n;
  });
  const raw = total <= query.maxPoints;
  const w = raw ? 0 : bucketWidth(query.from, query.to, query.maxPoints);
  const series: HistorySeries[] = wanted.map((s, i) => {
    if (counts[i] === 0) return { metric: s.metric, points: [] };
    if (raw) {
      const rows = st.rawRange.all(s.id, query.from, query.to) as { ts: number; value: number }[];
      return { metric: s.metric, points: rows.map((r) => ({ ts: r.ts, avg: r.value, min: r.value, max: r.value, count: 1 })) };
    }
    const rows = st.bucketRange.all({ w, id: s.id, from: query.from, to: query.to }) as { bucket: number; avg: number; min: number; max: number; count: number }[];
    return { metric: s.metric, points: rows.map((r) => ({ ts: r.bucket, avg: r.avg, min: r.min, max: r.max, count: r.count })) };
  });
  return { bucketMs: w, series };
}
