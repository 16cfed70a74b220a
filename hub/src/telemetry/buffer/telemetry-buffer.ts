/**
 * The durable local buffer in front of a remote store: an append-only SQLite
 * table in the data dir. WAL with synchronous=NORMAL, so an appended batch
 * survives a crash of the hub (kill -9) as soon as append() returns; rows
 * leave only when the remote store accepted them (remove()).
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
import type { StoredValue, TelemetryPoint } from '../telemetry-store.js';
import { openSqlite } from '../../db/open-sqlite.js';

export interface BufferedRow extends TelemetryPoint {
  id: number;
}

export interface TelemetryBufferOptions {
  file: string;
  maxBytes: number;
}

export class TelemetryBuffer {
  private db: Database.Database | null = null;
  private st: ReturnType<TelemetryBuffer['prepare']> | null = null;
  private appendTx: ((points: readonly TelemetryPoint[]) => void) | null = null;
  /** Rows in the table. */
  count = 0;

  constructor(readonly options: TelemetryBufferOptions) {}

  open(): void {
    const db = openSqlite(this.options.file);
    db.exec('CREATE TABLE IF NOT EXISTS buffer (id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL)');
    this.db = db;
    const st = this.prepare(db);
    this.st = st;
    this.appendTx = db.transaction((points: readonly TelemetryPoint[]) => {
      for (const p of points) st.insert.run(p.deviceId, p.metric, p.ts, p.value);
    });
    this.count = (st.count.get() as { n: number }).n;
  }

  private prepare(db: Database.Database) {
    return {
      insert: db.prepare('INSERT INTO buffer (device, metric, ts, value) VALUES (?, ?, ?, ?)'),
      read: db.prepare('SELECT id, device AS deviceId, metric, ts, value FROM buffer WHERE id > ? ORDER BY id LIMIT ?'),
      remove: db.prepare('DELETE FROM buffer WHERE id BETWEEN ? AND ?'),
      removeDevice: db.prepare('DELETE FROM buffer WHERE device = ?'),
      count: db.prepare('SELECT count(*) AS n FROM buffer'),
      minId: db.prepare('SELECT min(id) AS id FROM buffer'),
      maxId: db.prepare("SELECT seq AS id FROM sqlite_sequence WHERE name = 'buffer'"),
      oldest: db.prepare('SELECT ts FROM buffer ORDER BY id LIMIT 1'),
      // SQLite's bare-column rule: value comes from the row with max(ts).
      latest: db.prepare('SELECT device, metric, max(ts) AS ts, value FROM buffer GROUP BY device, metric'),
    };
  }

  private stmts() {
    if (!this.st) throw new Error('TelemetryBuffer used before open()');
    return this.st;
  }

  /** Bytes the table uses (freed pages are reused, so they do not count). */
  usedBytes(): number {
    const db = this.db;
    if (!db) return 0;
    const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
    return pages * (db.pragma('page_size', { simple: true }) as number);
  }

  get full(): boolean {
    return this.usedBytes() >= this.options.maxBytes;
  }

  /** Durable when it returns; throws storage_unavailable when the quota is used up. */
  append(points: readonly TelemetryPoint[]): void {
    if (!this.appendTx) throw new Error('TelemetryBuffer used before open()');
    if (this.full) {
      throw new ProtocolError('storage_unavailable', `the telemetry buffer is full (${this.options.maxBytes} bytes) while the store is unreachable; send again later`);
    }
    this.appendTx(points);
    this.count += points.length;
  }

  /** Up to `limit` rows after `afterId`, oldest first. */
  read(afterId: number, limit: number): BufferedRow[] {
    return this.stmts().read.all(afterId, limit) as BufferedRow[];
  }

  remove(fromId: number, toId: number): void {
    this.count -= this.stmts().remove.run(fromId, toId).changes;
  }

  removeDevice(deviceId: string): void {
    this.count -= this.stmts().removeDevice.run(deviceId).changes;
  }

  minId(): number | null {
    return (this.stmts().minId.get() as { id: number | null }).id;
  }

  maxId(): number {
    return (this.stmts().maxId.get() as { id: number } | undefined)?.id ?? 0;
  }

  oldestTs(): number | null {
    return (this.stmts().oldest.get() as { ts: number } | undefined)?.ts ?? null;
  }

  /** Newest buffered value of every series, for latest() while the store lags. */
  latestBySeries(): Map<string, Record<string, StoredValue>> {
    const byDevice = new Map<string, Record<string, StoredValue>>();
    for (const row of this.stmts().latest.all() as { device: string; metric: string; ts: number; value: number }[]) {
      const entry = byDevice.get(row.device) ?? {};
      entry[row.metric] = { ts: row.ts, value: row.value };
      byDevice.set(row.device, entry);
    }
    return byDevice;
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.st = null;
    this.appendTx = null;
  }
}
