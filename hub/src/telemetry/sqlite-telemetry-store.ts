/**
 * Embedded telemetry store on SQLite (better-sqlite3). One row per value,
 * clustered by (series, ts) so a range read of one metric is one index scan.
 * WAL with synchronous=NORMAL: a committed write survives a crash of the hub
 * process (kill -9); `fullSync` also survives power loss at some write cost.
 *
 * Writes go first to an append-only journal table (`recent`), which costs
 * about 1 µs a value; inserting straight into the clustered table touched
 * one page per series per batch and cost 9-20 µs. Every second the journal
 * is moved into `samples` sorted by series, so each page is touched once
 * for many values; before every read, all of it is. A crash at any point
 * loses nothing committed: rows leave the journal only in the transaction
 * that moves its last slice, and moving a row twice writes the same value.
 *
 * The move goes in slices, one transaction each, so writes commit between
 * them. As one transaction it held the thread, and every acknowledgement
 * queued behind it, for the whole move: at 6,000 messages/s (18,000 values)
 * the soak's PUBACK p90 was 119-174 ms, and 40-71 ms with slices (bench
 * README, "Since the fourth pass"). The journal is first copied, sorted,
 * into an in-memory table, and the slices take consecutive ranges of that
 * copy, so a series' page is still touched once per move. (Slices taken
 * from the journal in arrival order cost 7 times the CPU: each touched a
 * page per series again.) A worker thread checkpoints the WAL, so its
 * fsyncs never land inside a write.
 */
import type Database from 'better-sqlite3';
import {
  type HistoryQuery,
  type HistoryResult,
  type StoredValue,
  type TelemetryPoint,
  type TelemetryStore,
  latestRecord,
} from './telemetry-store.js';
import { openSqlite } from '../db/open-sqlite.js';
import { SeriesCatalog, type SeriesDefinition } from './series-catalog.js';
import { prepareHistory, readHistory, type HistoryStatements } from './sqlite-history.js';
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

/** How often a move of the journal starts (when the last one has ended). */
const MOVE_EVERY_MS = 1000;
/** How long one slice of a move should hold the thread; its row count adapts to this. */
const SLICE_TARGET_MS = 4;
/** Bounds of that adaptation: the first slice's rows, the fewest and the most. */
const FIRST_SLICE_ROWS = 256;
const MIN_SLICE_ROWS = 32;
const MAX_SLICE_ROWS = 16_384;
/** How often the worker thread checkpoints the WAL. */
const CHECKPOINT_EVERY_MS = 1000;

export interface SqliteTelemetryStoreOptions {
  file: string;
  fullSync?: boolean;
  /** How often a move of the journal starts (default 1 s). */
  moveEveryMs?: number;
  /** Rows per slice of a move, fixed (tests); by default the count adapts so a slice takes about 4 ms. */
  moveSliceRows?: number;
}

/** A move in progress: the journal up to `upTo` copied, sorted, into `moving`; rowids `next`..`last` still to go. */
interface Move {
  upTo: number;
  next: number;
  last: number;
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
  private historyStatements: HistoryStatements | null = null;
  private writeRowsBatch: ((writes: readonly RowsWrite[]) => void) | null = null;
  private moveTimer: NodeJS.Timeout | null = null;
  private sliceImmediate: NodeJS.Immediate | null = null;
  private checkpointer: WalCheckpointer | null = null;
  /** Values written to the journal since the last move started (0 = nothing new to move). */
  private journaled = 0;
  private move: Move | null = null;
  private sliceRows: number;

  constructor(
    private readonly options: SqliteTelemetryStoreOptions,
    private readonly onCheckpointError: (message: string) => void = () => {},
  ) {
    this.sliceRows = options.moveSliceRows ?? FIRST_SLICE_ROWS;
  }

  async open(): Promise<void> {
    const db = openSqlite(this.options.file, { synchronous: this.options.fullSync ? 'FULL' : 'NORMAL' });
    // The worker checkpoints; SQLite's own checkpoint (inside a write, with its fsyncs) is only the fallback.
    db.pragma('wal_autocheckpoint = 10000');
    db.exec(SCHEMA);
    // The sorted copy of the journal a move works through: memory only, a crash forgets it.
    db.pragma('temp_store = MEMORY');
    db.exec('CREATE TEMP TABLE IF NOT EXISTS moving (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL)');
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
    this.moveAll();
    this.moveTimer = setInterval(() => {
      if (this.startMove()) this.scheduleSlice();
    }, this.options.moveEveryMs ?? MOVE_EVERY_MS);
    this.moveTimer.unref();
    this.checkpointer = new WalCheckpointer(this.options.file, CHECKPOINT_EVERY_MS, this.onCheckpointError);
  }

  /**
   * Starts a move of the journal as it is now (true), unless one is under
   * way or nothing was written since the last. Sorted by series so pages
   * are touched in order; by rowid within a (series, ts) so the newest
   * write of a point wins, as it would have in place.
   */
  private startMove(): boolean {
    if (this.move || this.journaled === 0 || !this.statements) return false;
    const st = this.statements;
    this.journaled = 0;
    const upTo = (st.lastRecent.get() as { id: number | null }).id;
    if (upTo === null) return false;
    st.clearMoving.run();
    // Into an empty table: the copy's rowids are 1..n, in the sorted order.
    const copied = st.copyRecent.run(upTo).changes;
    if (copied === 0) return false;
    this.move = { upTo, next: 1, last: copied };
    return true;
  }

  private scheduleSlice(): void {
    // After the writes that arrived meanwhile: they go first.
    this.sliceImmediate = setImmediate(() => {
      this.sliceImmediate = null;
      if (!this.move) return;
      const started = performance.now();
      const rows = this.sliceRows;
      this.moveSlice(rows);
      if (this.options.moveSliceRows === undefined) this.adaptSlice(rows, performance.now() - started);
      if (this.move) this.scheduleSlice();
    });
  }

  /** Sizes the next slice so it takes about SLICE_TARGET_MS, changing by at most 2× at a time. */
  private adaptSlice(rows: number, ms: number): void {
    const wanted = ms > 0 ? (rows * SLICE_TARGET_MS) / ms : rows * 2;
    this.sliceRows = Math.round(clamp(clamp(wanted, rows / 2, rows * 2), MIN_SLICE_ROWS, MAX_SLICE_ROWS));
  }

  /** Moves the next `rows` rows of the move in progress in one transaction; the last slice also empties the journal up to the move's end. */
  private moveSlice(rows: number): void {
    const move = this.move;
    if (!move || !this.db || !this.statements) return;
    const st = this.statements;
    const to = Math.min(move.last, move.next + rows - 1);
    this.db.transaction(() => {
      st.moveRows.run(move.next, to);
      if (to === move.last) st.clearRecentUpTo.run(move.upTo);
    })();
    move.next = to + 1;
    if (to === move.last) {
      this.move = null;
      st.clearMoving.run();
    }
  }

  /**
   * Moves the whole journal now (before a read, at open and close): what a
   * move in progress has left, then the rest. A reader on another connection
   * calls it first, so it sees every write committed before.
   */
  moveAll(): void {
    if (this.sliceImmediate) clearImmediate(this.sliceImmediate);
    this.sliceImmediate = null;
    if (this.move) this.moveSlice(Infinity);
    if (this.startMove()) this.moveSlice(Infinity);
  }

  private prepare(db: Database.Database) {
    return {
      // A definition repeats in every write until one commits (SeriesCatalog): the first one wins.
      defineSeries: db.prepare('INSERT OR IGNORE INTO series (id, device_id, metric) VALUES (?, ?, ?)'),
      allSeries: db.prepare('SELECT id, device_id, metric FROM series'),
      insertRecent: db.prepare('INSERT INTO recent (series_id, ts, value) VALUES (?, ?, ?)'),
      lastRecent: db.prepare('SELECT max(rowid) AS id FROM recent'),
      copyRecent: db.prepare('INSERT INTO moving (series_id, ts, value) SELECT series_id, ts, value FROM recent WHERE rowid <= ? ORDER BY series_id, ts, rowid'),
      moveRows: db.prepare('INSERT OR REPLACE INTO samples (series_id, ts, value) SELECT series_id, ts, value FROM moving WHERE rowid BETWEEN ? AND ? ORDER BY rowid'),
      clearRecentUpTo: db.prepare('DELETE FROM recent WHERE rowid <= ?'),
      clearMoving: db.prepare('DELETE FROM moving'),
      seriesOfDevice: db.prepare('SELECT id, metric FROM series WHERE device_id = ? ORDER BY metric'),
      latest: db.prepare('SELECT ts, value FROM samples WHERE series_id = ? ORDER BY ts DESC LIMIT 1'),
      deleteSamples: db.prepare('DELETE FROM samples WHERE series_id IN (SELECT id FROM series WHERE device_id = ?)'),
      deleteRecent: db.prepare('DELETE FROM recent WHERE series_id IN (SELECT id FROM series WHERE device_id = ?)'),
      deleteMoving: db.prepare('DELETE FROM moving WHERE series_id IN (SELECT id FROM series WHERE device_id = ?)'),
      deleteSeries: db.prepare('DELETE FROM series WHERE device_id = ?'),
    };
  }

  private stmts() {
    if (!this.statements) throw new Error('SqliteTelemetryStore used before open()');
    return this.statements;
  }

  async close(): Promise<void> {
    if (this.moveTimer) clearInterval(this.moveTimer);
    this.moveTimer = null;
    this.moveAll();
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
    this.db?.close();
    this.db = null;
    this.statements = null;
    this.historyStatements = null;
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
    this.moveAll();
    if (!this.db) throw new Error('SqliteTelemetryStore used before open()');
    this.historyStatements ??= prepareHistory(this.db);
    return readHistory(this.historyStatements, query);
  }

  async latest(deviceId: string): Promise<Record<string, StoredValue>> {
    this.moveAll();
    const st = this.stmts();
    // Null prototype: metric names are device-chosen, and `__proto__` is one (see latestRecord).
    const result = latestRecord();
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
      // A move in progress must not bring the device's rows back.
      st.deleteMoving.run(deviceId);
      st.deleteSamples.run(deviceId);
      st.deleteSeries.run(deviceId);
    })();
    this.catalog?.forgetDevice(deviceId);
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
