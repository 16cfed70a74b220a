/**
 * Device shadows on SQLite, one row per device, in the control file shared
 * with the command and audit stores (each with its own connection and
 * tables). WAL with synchronous NORMAL, like the registry: a committed write
 * survives a crash of the hub process.
 */
import type Database from 'better-sqlite3';
import type { StateEntry } from '@iot-hub/protocol';
import type { Shadow } from './shadow.js';
import { openSqlite } from '../db/open-sqlite.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS device_state (
  device_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  reported_version INTEGER,
  reported TEXT NOT NULL,
  desired TEXT NOT NULL
);
`;

interface Row {
  device_id: string;
  version: number;
  reported_version: number | null;
  reported: string;
  desired: string;
}

export class SqliteStateStore {
  private db: Database.Database | null = null;
  private upsertStmt: Database.Statement<[string, number, number | null, string, string]> | null = null;
  private deleteStmt: Database.Statement<[string]> | null = null;

  constructor(private readonly file: string) {}

  open(): void {
    // Commands and audit write the same file from their own connections.
    const db = openSqlite(this.file, { shared: true });
    db.exec(SCHEMA);
    this.upsertStmt = db.prepare(
      `INSERT INTO device_state (device_id, version, reported_version, reported, desired) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET version = excluded.version, reported_version = excluded.reported_version,
         reported = excluded.reported, desired = excluded.desired`,
    );
    this.deleteStmt = db.prepare('DELETE FROM device_state WHERE device_id = ?');
    this.db = db;
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.upsertStmt = null;
    this.deleteStmt = null;
  }

  loadAll(): Map<string, Shadow> {
    if (!this.db) throw new Error('SqliteStateStore used before open()');
    const shadows = new Map<string, Shadow>();
    for (const r of this.db.prepare('SELECT * FROM device_state').all() as Row[]) {
      shadows.set(r.device_id, { version: r.version, reportedVersion: r.reported_version, reported: decode(r.reported), desired: decode(r.desired) });
    }
    return shadows;
  }

  save(deviceId: string, s: Shadow): void {
    if (!this.upsertStmt) throw new Error('SqliteStateStore used before open()');
    this.upsertStmt.run(deviceId, s.version, s.reportedVersion, encode(s.reported), encode(s.desired));
  }

  delete(deviceId: string): void {
    if (!this.deleteStmt) throw new Error('SqliteStateStore used before open()');
    this.deleteStmt.run(deviceId);
  }
}

/** Entries as a JSON array of [key, value, ts]: compact, and no object key can be special. */
function encode(entries: Map<string, StateEntry>): string {
  return JSON.stringify([...entries].map(([key, e]) => [key, e.value, e.ts]));
}

function decode(json: string): Map<string, StateEntry> {
  const rows = JSON.parse(json) as [string, StateEntry['value'], number][];
  return new Map(rows.map(([key, value, ts]) => [key, { value, ts }]));
}
