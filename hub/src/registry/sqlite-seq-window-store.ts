/**
 * The seq windows of each device's boots on SQLite [FP-4.2], so a sample
 * resent after a hub restart is still taken for the duplicate it is.
 *
 * In registry.db beside the devices table, on a connection of its own: the
 * windows are read when the registry loads (before control.db opens), they
 * belong to a device record and go with it (rows of a device that is no
 * longer there are dropped at open), and the per-second persist does not
 * queue behind the command, state and audit writers of control.db.
 */
import type Database from 'better-sqlite3';
import { MAX_BOOT_WINDOWS } from '@iot-hub/protocol';
import { openSqlite } from '../db/open-sqlite.js';
import type { BootKey } from '../telemetry/seq-windows.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS seq_windows (
  device_id TEXT NOT NULL,
  boot TEXT NOT NULL,
  used_at INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  runs TEXT NOT NULL,
  PRIMARY KEY (device_id, boot)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_boots (
  device_id TEXT PRIMARY KEY,
  boot TEXT NOT NULL
) WITHOUT ROWID;
`;

/** One boot's window as stored: committed seqs as runs [first, count, ...] (see SeqWindow.committedRuns). */
export interface StoredSeqWindow {
  deviceId: string;
  boot: BootKey;
  usedAt: number;
  last: number;
  runs: number[];
}

export interface SeqWindowChanges {
  upserts: readonly StoredSeqWindow[];
  deletes: readonly { deviceId: string; boot: BootKey }[];
}

export interface SeqWindowStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Every device's current boot and windows, each device's windows least recently used first. */
  loadAll(): { current: Map<string, BootKey>; windows: StoredSeqWindow[] };
  /** The boot of the device's last hello (null: it names none); written before that hello is acknowledged. */
  saveCurrentBoot(deviceId: string, boot: BootKey | null): void;
  save(changes: SeqWindowChanges): void;
  deleteDevice(deviceId: string): void;
}

interface Row {
  device_id: string;
  boot: string;
  used_at: number;
  last_seq: number;
  runs: string;
}

export class SqliteSeqWindowStore implements SeqWindowStore {
  private db: Database.Database | null = null;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly file: string) {}

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      if (!this.db) throw new Error('SqliteSeqWindowStore used before open()');
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  async open(): Promise<void> {
    // The registry store writes this file from its own connection.
    const db = openSqlite(this.file, { shared: true });
    db.exec(SCHEMA);
    this.db = db;
    // Left by a delete that did not finish, or a device removed by an older hub: nothing may outlive its device.
    db.transaction(() => {
      db.exec('DELETE FROM seq_windows WHERE device_id NOT IN (SELECT id FROM devices)');
      db.exec('DELETE FROM device_boots WHERE device_id NOT IN (SELECT id FROM devices)');
    })();
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = null;
  }

  loadAll(): { current: Map<string, BootKey>; windows: StoredSeqWindow[] } {
    const current = new Map<string, BootKey>();
    for (const r of this.statement('SELECT device_id, boot FROM device_boots').all() as { device_id: string; boot: string }[]) current.set(r.device_id, r.boot);
    const windows: StoredSeqWindow[] = [];
    let device = '';
    let held = 0;
    for (const r of this.statement('SELECT * FROM seq_windows ORDER BY device_id, used_at DESC').all() as Row[]) {
      held = r.device_id === device ? held + 1 : 1;
      device = r.device_id;
      // The table is bounded like the memory: a device's most recent MAX_BOOT_WINDOWS boots.
      if (held > MAX_BOOT_WINDOWS) continue;
      windows.push({ deviceId: r.device_id, boot: r.boot, usedAt: r.used_at, last: r.last_seq, runs: JSON.parse(r.runs) as number[] });
    }
    return { current, windows: windows.reverse() };
  }

  saveCurrentBoot(deviceId: string, boot: BootKey | null): void {
    if (boot === null) this.statement('DELETE FROM device_boots WHERE device_id = ?').run(deviceId);
    else this.statement('INSERT INTO device_boots (device_id, boot) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET boot = excluded.boot').run(deviceId, boot);
  }

  save(changes: SeqWindowChanges): void {
    if (!this.db) throw new Error('SqliteSeqWindowStore used before open()');
    const upsert = this.statement(
      `INSERT INTO seq_windows (device_id, boot, used_at, last_seq, runs) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id, boot) DO UPDATE SET used_at = excluded.used_at, last_seq = excluded.last_seq, runs = excluded.runs`,
    );
    const remove = this.statement('DELETE FROM seq_windows WHERE device_id = ? AND boot = ?');
    this.db.transaction(() => {
      for (const d of changes.deletes) remove.run(d.deviceId, d.boot);
      for (const w of changes.upserts) upsert.run(w.deviceId, w.boot, w.usedAt, w.last, JSON.stringify(w.runs));
    })();
  }

  deleteDevice(deviceId: string): void {
    if (!this.db) throw new Error('SqliteSeqWindowStore used before open()');
    this.db.transaction(() => {
      this.statement('DELETE FROM seq_windows WHERE device_id = ?').run(deviceId);
      this.statement('DELETE FROM device_boots WHERE device_id = ?').run(deviceId);
    })();
  }
}
