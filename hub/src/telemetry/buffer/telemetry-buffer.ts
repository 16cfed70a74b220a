/**
 * The durable local buffer in front of InfluxDB: an append-only SQLite table
 * in the data dir. WAL with synchronous=NORMAL, so an appended batch
 * survives a crash of the hub (kill -9) as soon as append() returns; rows
 * leave only when the store accepted them (remove()).
 *
 * One row (a segment) per append: the points as InfluxDB line protocol, one
 * line each, exactly as they will be posted. So the hub's busiest path does
 * one INSERT per group commit instead of one per point, and draining reads
 * a few rows and posts their text as is.
 *
 * Ids come from AUTOINCREMENT so they never go back, even when the table
 * empties: the drainer's cursor relies on that.
 *
 * Bounded by a disk quota. Policy when full: refuse the append (the pipeline
 * answers storage_unavailable and devices are not acknowledged, so they keep
 * the data and send it again); never drop acknowledged points.
 */
import type Database from 'better-sqlite3';
import { ProtocolError } from '@iot-hub/protocol';
import { latestRecord, type StoredValue, type TelemetryPoint } from '../telemetry-store.js';
import { openSqlite } from '../../db/open-sqlite.js';
import { WalCheckpointer } from '../../db/wal-checkpointer.js';
import { deviceTagOf, parsePointLine, pointLine } from '../influx/influx-schema.js';

/** Consecutive segments read for one batch to the store. */
export interface BufferedBatch {
  firstId: number;
  lastId: number;
  /** The segments' text: newline-separated lines, one point each. */
  segments: string[];
  points: number;
  minTs: number;
  maxTs: number;
}

export interface TelemetryBufferOptions {
  file: string;
  maxBytes: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  points INTEGER NOT NULL,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  lines TEXT NOT NULL
);`;

/** Points per segment when older buffers (one row per point) are converted. */
const MIGRATION_SEGMENT_POINTS = 5000;
/** Segments read at once when deleting a device's lines. */
const REWRITE_PAGE_SEGMENTS = 64;
/** How often a worker thread checkpoints the WAL, so no append pays for it (see WalCheckpointer). */
const CHECKPOINT_INTERVAL_MS = 1000;

export class TelemetryBuffer {
  private db: Database.Database | null = null;
  private st: ReturnType<TelemetryBuffer['prepare']> | null = null;
  private checkpointer: WalCheckpointer | null = null;
  /** Points in the table. */
  count = 0;

  constructor(
    readonly options: TelemetryBufferOptions,
    private readonly onCheckpointError: (message: string) => void = () => {},
  ) {}

  open(): void {
    const db = openSqlite(this.options.file);
    db.exec(SCHEMA);
    this.db = db;
    const st = this.prepare(db);
    this.st = st;
    this.migrateRowsPerPoint(db);
    this.count = (st.count.get() as { n: number | null }).n ?? 0;
    this.checkpointer = new WalCheckpointer(this.options.file, CHECKPOINT_INTERVAL_MS, this.onCheckpointError);
  }

  private prepare(db: Database.Database) {
    return {
      insert: db.prepare('INSERT INTO segments (points, min_ts, max_ts, lines) VALUES (?, ?, ?, ?)'),
      read: db.prepare('SELECT id, points, min_ts AS minTs, max_ts AS maxTs, lines FROM segments WHERE id > ? ORDER BY id'),
      remove: db.prepare('DELETE FROM segments WHERE id BETWEEN ? AND ?'),
      removed: db.prepare('SELECT coalesce(sum(points), 0) AS n FROM segments WHERE id BETWEEN ? AND ?'),
      all: db.prepare('SELECT id, points, lines FROM segments ORDER BY id'),
      page: db.prepare('SELECT id, points, lines FROM segments WHERE id > ? ORDER BY id LIMIT ?'),
      update: db.prepare('UPDATE segments SET points = ?, lines = ? WHERE id = ?'),
      deleteOne: db.prepare('DELETE FROM segments WHERE id = ?'),
      count: db.prepare('SELECT sum(points) AS n FROM segments'),
      minId: db.prepare('SELECT min(id) AS id FROM segments'),
      maxId: db.prepare("SELECT seq AS id FROM sqlite_sequence WHERE name = 'segments'"),
      oldest: db.prepare('SELECT min_ts AS ts FROM segments ORDER BY id LIMIT 1'),
      // Prepared once: db.pragma() prepares its statement on every call, and the quota is
      // checked at every append (a third of a small append's cost when it did).
      pageCount: db.prepare('PRAGMA page_count').pluck(),
      freelistCount: db.prepare('PRAGMA freelist_count').pluck(),
      pageSize: db.prepare('PRAGMA page_size').pluck(),
    };
  }

  /** Buffers written before segments kept one row per point (table `buffer`): converted once, in order. */
  private migrateRowsPerPoint(db: Database.Database): void {
    const old = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'buffer'").get();
    if (!old) return;
    const st = this.stmts();
    const chunk = db.prepare('SELECT id, device AS deviceId, metric, ts, value FROM buffer WHERE id > ? ORDER BY id LIMIT ?');
    db.transaction(() => {
      // In chunks: the connection cannot insert while it iterates a query.
      for (let after = 0; ; ) {
        const rows = chunk.all(after, MIGRATION_SEGMENT_POINTS) as (TelemetryPoint & { id: number })[];
        if (rows.length === 0) break;
        this.insert(st, rows);
        after = rows[rows.length - 1]!.id;
      }
      db.exec('DROP TABLE buffer');
    })();
  }

  private stmts() {
    if (!this.st) throw new Error('TelemetryBuffer used before open()');
    return this.st;
  }

  private insert(st: ReturnType<TelemetryBuffer['prepare']>, points: readonly TelemetryPoint[]): void {
    let lines = '';
    let minTs = Infinity;
    let maxTs = -Infinity;
    for (const p of points) {
      lines += (lines === '' ? '' : '\n') + pointLine(p.deviceId, p.metric, p.value, p.ts);
      if (p.ts < minTs) minTs = p.ts;
      if (p.ts > maxTs) maxTs = p.ts;
    }
    st.insert.run(points.length, minTs, maxTs, lines);
  }

  /** Bytes the table uses (freed pages are reused, so they do not count). */
  usedBytes(): number {
    const st = this.st;
    if (!st) return 0;
    const pages = (st.pageCount.get() as number) - (st.freelistCount.get() as number);
    return pages * (st.pageSize.get() as number);
  }

  get full(): boolean {
    return this.usedBytes() >= this.options.maxBytes;
  }

  /** Durable when it returns; throws storage_unavailable when the quota is used up. */
  append(points: readonly TelemetryPoint[]): void {
    if (points.length === 0) return;
    if (this.full) {
      throw new ProtocolError('storage_unavailable', `the telemetry buffer is full (${this.options.maxBytes} bytes) while the store is unreachable; send again later`);
    }
    this.insert(this.stmts(), points);
    this.count += points.length;
  }

  /**
   * Segments after `afterId`, oldest first, until they hold at least
   * `minPoints` (a batch ends on a segment boundary, so it may hold up to
   * one segment more); null when there is none.
   */
  read(afterId: number, minPoints: number): BufferedBatch | null {
    let batch: BufferedBatch | null = null;
    for (const row of this.stmts().read.iterate(afterId) as IterableIterator<{ id: number; points: number; minTs: number; maxTs: number; lines: string }>) {
      if (!batch) batch = { firstId: row.id, lastId: row.id, segments: [], points: 0, minTs: row.minTs, maxTs: row.maxTs };
      batch.lastId = row.id;
      batch.segments.push(row.lines);
      batch.points += row.points;
      batch.minTs = Math.min(batch.minTs, row.minTs);
      batch.maxTs = Math.max(batch.maxTs, row.maxTs);
      // Ends the iteration (and frees the statement) once the batch is big enough.
      if (batch.points >= minPoints) break;
    }
    return batch;
  }

  remove(fromId: number, toId: number): void {
    const st = this.stmts();
    const points = (st.removed.get(fromId, toId) as { n: number }).n;
    st.remove.run(fromId, toId);
    this.count -= points;
  }

  /** Drops a deleted device's points, keeping every other line in place. */
  removeDevice(deviceId: string): void {
    const st = this.stmts();
    const tag = deviceTagOf(deviceId);
    let removed = 0;
    this.db!.transaction(() => {
      // A page of segments at a time: a backlog may be far larger than memory should hold.
      for (let after = 0; ; ) {
        const rows = st.page.all(after, REWRITE_PAGE_SEGMENTS) as { id: number; points: number; lines: string }[];
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.id;
        for (const row of rows) {
          if (!row.lines.includes(tag)) continue;
          const kept = row.lines.split('\n').filter((line) => !line.includes(tag));
          removed += row.points - kept.length;
          if (kept.length === 0) st.deleteOne.run(row.id);
          else st.update.run(kept.length, kept.join('\n'), row.id);
        }
      }
    })();
    this.count -= removed;
  }

  minId(): number | null {
    return (this.stmts().minId.get() as { id: number | null }).id;
  }

  maxId(): number {
    return (this.stmts().maxId.get() as { id: number } | undefined)?.id ?? 0;
  }

  /** The earliest timestamp in the oldest segment, or null when empty. */
  oldestTs(): number | null {
    return (this.stmts().oldest.get() as { ts: number } | undefined)?.ts ?? null;
  }

  /** Newest buffered value of every series, for latest() while the store lags (read once at start). */
  latestBySeries(): Map<string, Record<string, StoredValue>> {
    const byDevice = new Map<string, Record<string, StoredValue>>();
    for (const row of this.stmts().all.iterate() as IterableIterator<{ lines: string }>) {
      for (const line of row.lines.split('\n')) {
        const p = parsePointLine(line);
        if (!p) continue;
        const entry = byDevice.get(p.deviceId) ?? latestRecord();
        const known = entry[p.metric];
        if (!known || known.ts <= p.ts) entry[p.metric] = { ts: p.ts, value: p.value };
        byDevice.set(p.deviceId, entry);
      }
    }
    return byDevice;
  }

  async close(): Promise<void> {
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
    this.db?.close();
    this.db = null;
    this.st = null;
  }
}
