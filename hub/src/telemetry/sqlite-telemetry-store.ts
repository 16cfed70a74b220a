/**
 * Embedded telemetry store on SQLite (better-sqlite3). One row per value,
 * clustered by (series, ts) so a range read of one metric is one index scan.
 * WAL with synchronous=NORMAL: a committed write survives a crash of the hub
 * process (kill -9); `fullSync` also survives power loss at some write cost.
 *
 * Writes go first to an append-only journal table (`recent`), which costs
 * about 1 µs a value; inserting straight into the clustered table touched
 * one page per series per batch and cost 9-20 µs. Once a second, and before
 * every read, the journal is moved into `samples` sorted by series, so each
 * page is touched once for many values. Both steps are transactions, so a
 * crash at any point loses nothing committed.
 *
 * The move is one transaction on purpose: moving the journal in slices of
 * 2,000 rows (one per turn of the event loop) cost 7 times the CPU, as each
 * slice touched a page per series again. A worker thread checkpoints the
 * WAL, so its fsyncs never land inside a write on the event loop.
 */
import type Database from 'better-sqlite3';
import type { HistorySeries } from '@iot-hub/protocol';
import {
  bucketWidth,
  type HistoryQuery,
  type HistoryResult,
  type StoredValue,
  type TelemetryPoint,
  type TelemetryStore,
} from './telemetry-store.js';
import { openSqlite } from '../db/open-sqlite.js';
import { SeriesCatalog, type SeriesDefinition } from './series-catalog.js';
import { WalCheckpointer } from '../db/wal-checkpointer.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  UNIQUE (device_id, metric)
);
CREATE TABLE IF NOT EXISTS samples (
  series_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recent (
  series_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  value REAL NOT NULL
);
`;

const COMPACT_EVERY_MS = 1000;
/** How often the worker thread checkpoints the WAL. */
const CHECKPOINT_EVERY_MS = 1000;

export interface SqliteTelemetryStoreOptions {
  file: string;
  fullSync?: boolean;
}

/** One write's rows, (series id, ts, value) triples, and the definitions of series it may be the first to use. */
export interface RowsWrite {
  series: readonly SeriesDefinition[];
  rows: Float64Array;
}

export class SqliteTelemetryStore implements TelemetryStore {
  readonly kind = 'sqlite';
  private db: Database.Database | null = null;
  /** Numbers series for write(); made at the first write (a writer that numbers them itself never needs it). */
  private catalog: SeriesCatalog | null = null;
  private statements: ReturnType<SqliteTelemetryStore['prepare']> | null = null;
  private writeRowsBatch: ((writes: readonly RowsWrite[]) => void) | null = null;
  private compactTimer: NodeJS.Timeout | null = null;
  private checkpointer: WalCheckpointer | null = null;
  /** Values in the journal since the last compaction (0 = nothing to do). */
  private journaled = 0;

  constructor(
    private readonly options: SqliteTelemetryStoreOptions,
    private readonly onCheckpointError: (message: string) => void = () => {},
  ) {}

  async open(): Promise<void> {
    const db = openSqlite(this.options.file, { synchronous: this.options.fullSync ? 'FULL' : 'NORMAL' });
    // The worker checkpoints; SQLite's own checkpoint (inside a write, with its fsyncs) is only the fallback.
    db.pragma('wal_autocheckpoint = 10000');
    db.exec(SCHEMA);
    this.db = db;
    this.statements = this.prepare(db);
    const st = this.statements;
    this.writeRowsBatch = db.transaction((writes: readonly RowsWrite[]) => {
      for (const { series, rows } of writes) {
        for (const [id, deviceId, metric] of series) st.defineSeries.run(id, deviceId, metric);
        for (let i = 0; i < rows.length; i += 3) st.insertRecent.run(rows[i], rows[i + 1], rows[i + 2]);
      }
    });
    // Whatever a crash left in the journal moves now.
    this.journaled = 1;
    this.compact();
    this.compactTimer = setInterval(() => this.compact(), COMPACT_EVERY_MS);
    this.compactTimer.unref();
    this.checkpointer = new WalCheckpointer(this.options.file, CHECKPOINT_EVERY_MS, this.onCheckpointError);
  }

  /**
   * Moves the journal into the clustered table. Sorted by series so pages are
   * touched in order; by rowid within a (series, ts) so the newest write of a
   * point wins, as it would have in place.
   */
  private compact(): void {
    if (this.journaled === 0 || !this.db || !this.statements) return;
    const st = this.statements;
    this.db.transaction(() => {
      st.compactRecent.run();
      st.clearRecent.run();
    })();
    this.journaled = 0;
  }

  private prepare(db: Database.Database) {
    return {
      // A definition repeats in every write until one commits (SeriesCatalog): the first one wins.
      defineSeries: db.prepare('INSERT OR IGNORE INTO series (id, device_id, metric) VALUES (?, ?, ?)'),
      allSeries: db.prepare('SELECT id, device_id, metric FROM series'),
      insertRecent: db.prepare('INSERT INTO recent (series_id, ts, value) VALUES (?, ?, ?)'),
      compactRecent: db.prepare('INSERT OR REPLACE INTO samples (series_id, ts, value) SELECT series_id, ts, value FROM recent ORDER BY series_id, ts, rowid'),
      clearRecent: db.prepare('DELETE FROM recent'),
      seriesOfDevice: db.prepare('SELECT id, metric FROM series WHERE device_id = ? ORDER BY metric'),
      countRange: db.prepare('SELECT count(*) AS n FROM samples WHERE series_id = ? AND ts BETWEEN ? AND ?'),
      rawRange: db.prepare('SELECT ts, value FROM samples WHERE series_id = ? AND ts BETWEEN ? AND ? ORDER BY ts'),
      bucketRange: db.prepare(
        // Bound JS numbers arrive as REAL: cast so the division is integer bucketing.
        `SELECT @from + ((ts - CAST(@from AS INTEGER)) / CAST(@w AS INTEGER)) * CAST(@w AS INTEGER) AS bucket, avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS count
         FROM samples WHERE series_id = @id AND ts BETWEEN @from AND @to GROUP BY bucket ORDER BY bucket`,
      ),
      latest: db.prepare('SELECT ts, value FROM samples WHERE series_id = ? ORDER BY ts DESC LIMIT 1'),
      deleteSamples: db.prepare('DELETE FROM samples WHERE series_id IN (SELECT id FROM series WHERE device_id = ?)'),
      deleteRecent: db.prepare('DELETE FROM recent WHERE series_id IN (SELECT id FROM series WHERE device_id = ?)'),
      deleteSeries: db.prepare('DELETE FROM series WHERE device_id = ?'),
    };
  }

  private stmts() {
    if (!this.statements) throw new Error('SqliteTelemetryStore used before open()');
    return this.statements;
  }

  async close(): Promise<void> {
    if (this.compactTimer) clearInterval(this.compactTimer);
    this.compactTimer = null;
    this.compact();
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
    this.db?.close();
    this.db = null;
    this.statements = null;
    this.catalog = null;
    this.writeRowsBatch = null;
  }

  async write(points: readonly TelemetryPoint[]): Promise<void> {
    if (points.length === 0) return;
    this.catalog ??= new SeriesCatalog(this.listSeries());
    const batch = this.catalog.encode(points);
    this.writeRowsTogether([batch]);
    this.catalog.committed(batch);
  }

  /**
   * The same as write(), for a writer that numbers series itself (the
   * threaded store, so that only numbers cross threads): each write's `rows`
   * holds (series id, ts, value) triples, and its `series` defines every id
   * among them that the writer has not yet seen committed (SeriesCatalog).
   * All the writes go in one transaction (one commit): all of them are
   * durable, or none; the store thread merges the writes that queued up
   * while it was busy this way. Never mix with write() on one store: each
   * numbers series on its own.
   */
  writeRowsTogether(writes: readonly RowsWrite[]): void {
    if (!this.writeRowsBatch) throw new Error('SqliteTelemetryStore used before open()');
    this.writeRowsBatch(writes);
    for (const { rows } of writes) this.journaled += rows.length / 3;
  }

  /** Every series: id, device, metric. */
  listSeries(): SeriesDefinition[] {
    return (this.stmts().allSeries.all() as { id: number; device_id: string; metric: string }[]).map((r) => [r.id, r.device_id, r.metric]);
  }

  async history(query: HistoryQuery): Promise<HistoryResult> {
    this.compact();
    const st = this.stmts();
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
      const rows = st.bucketRange.all({ w, id: s.id, from: query.from, to: query.to }) as {
        bucket: number;
        avg: number;
        min: number;
        max: number;
        count: number;
      }[];
      return { metric: s.metric, points: rows.map((r) => ({ ts: r.bucket, avg: r.avg, min: r.min, max: r.max, count: r.count })) };
    });
    return { bucketMs: w, series };
  }

  async latest(deviceId: string): Promise<Record<string, StoredValue>> {
    this.compact();
    const st = this.stmts();
    const result: Record<string, StoredValue> = {};
    for (const s of st.seriesOfDevice.all(deviceId) as { id: number; metric: string }[]) {
      const row = st.latest.get(s.id) as { ts: number; value: number } | undefined;
      if (row) result[s.metric] = { ts: row.ts, value: row.value };
    }
    return result;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    const st = this.stmts();
    this.db?.transaction(() => {
      st.deleteRecent.run(deviceId);
      st.deleteSamples.run(deviceId);
      st.deleteSeries.run(deviceId);
    })();
    this.catalog?.forgetDevice(deviceId);
  }
}
