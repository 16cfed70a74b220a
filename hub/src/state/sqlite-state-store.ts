/**
 * Device shadows on SQLite, one row per device, in the control file shared
 * with the command and audit stores (each with its own connection and
 * tables). WAL with synchronous NORMAL, like the registry: a committed write
 * survives a crash of the hub process.
 *
 * The file is shared, so the schema version is a row of this store's own
 * meta table, not PRAGMA user_version (which belongs to the whole file).
 */
import type Database from 'better-sqlite3';
import type { Shadow } from './shadow.js';
import { rebuildDesired, type AuditReplayRow } from './desired-migration.js';
import { openSqlite } from '../db/open-sqlite.js';
import { encodeEntries as encode, encodeRefused, shadowFromColumns } from './shadow-codec.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS device_state (
  device_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  reported_version INTEGER,
  reported TEXT NOT NULL,
  desired TEXT NOT NULL,
  refused TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS device_state_meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

/**
 * 1: desired held only pending keys (a key left once reported), no refusals.
 * 2: shadow semantics [FP-4.3]: desired keeps what operators set; refusals.
 */
const SCHEMA_VERSION = 2;

interface Row {
  device_id: string;
  version: number;
  reported_version: number | null;
  reported: string;
  desired: string;
  refused: string;
}

export interface StateStoreOpenResult {
  /** Devices whose desired state the migration to shadow semantics rebuilt (their version rose by one). */
  migrated: string[];
}

export class SqliteStateStore {
  private db: Database.Database | null = null;
  private upsertStmt: Database.Statement<[string, number, number | null, string, string, string]> | null = null;
  private deleteStmt: Database.Statement<[string]> | null = null;

  constructor(private readonly file: string) {}

  open(): StateStoreOpenResult {
    // Commands and audit write the same file from their own connections.
    const db = openSqlite(this.file, { shared: true });
    const migrated = db.transaction(() => upgrade(db))();
    this.upsertStmt = db.prepare(
      `INSERT INTO device_state (device_id, version, reported_version, reported, desired, refused) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET version = excluded.version, reported_version = excluded.reported_version,
         reported = excluded.reported, desired = excluded.desired, refused = excluded.refused`,
    );
    this.deleteStmt = db.prepare('DELETE FROM device_state WHERE device_id = ?');
    this.db = db;
    return { migrated };
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
    for (const r of this.db.prepare('SELECT * FROM device_state').all() as Row[]) shadows.set(r.device_id, fromRow(r));
    return shadows;
  }

  save(deviceId: string, s: Shadow): void {
    if (!this.upsertStmt) throw new Error('SqliteStateStore used before open()');
    this.upsertStmt.run(deviceId, s.version, s.reportedVersion, encode(s.reported), encode(s.desired), encodeRefused(s.refused));
  }

  delete(deviceId: string): void {
    if (!this.deleteStmt) throw new Error('SqliteStateStore used before open()');
    this.deleteStmt.run(deviceId);
  }
}

/**
 * Creates or upgrades the tables, in one transaction with the migration so
 * a crash midway leaves the old file to migrate again. Returns the devices
 * the migration changed.
 */
function upgrade(db: Database.Database): string[] {
  const hadTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'device_state'").get() !== undefined;
  if (hadTable && !(db.prepare('PRAGMA table_info(device_state)').all() as { name: string }[]).some((c) => c.name === 'refused')) {
    db.exec("ALTER TABLE device_state ADD COLUMN refused TEXT NOT NULL DEFAULT '[]'");
  }
  db.exec(SCHEMA);
  const row = db.prepare("SELECT value FROM device_state_meta WHERE name = 'schema'").get() as { value: number } | undefined;
  // A file without the meta row and without device_state is new: nothing to migrate.
  const from = row?.value ?? (hadTable ? 1 : SCHEMA_VERSION);
  if (from > SCHEMA_VERSION) throw new Error(`control file state schema ${from} is newer than this hub knows (${SCHEMA_VERSION}): use a newer hub`);
  const migrated = from < 2 ? toShadowSemantics(db) : [];
  db.prepare("INSERT INTO device_state_meta (name, value) VALUES ('schema', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(SCHEMA_VERSION);
  return migrated;
}

/** Schema 1 → 2: rebuilds each device's desired document from the audit log (desired-migration.ts). */
function toShadowSemantics(db: Database.Database): string[] {
  const hasAudit = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get() !== undefined;
  if (!hasAudit) return [];
  const history = db.prepare(
    `SELECT action, ts, details FROM audit_log
     WHERE device_id = ? AND outcome = 'ok' AND action IN ('state.desired', 'device.create', 'device.delete') ORDER BY id`,
  );
  const update = db.prepare('UPDATE device_state SET version = ?, desired = ? WHERE device_id = ?');
  const migrated: string[] = [];
  for (const r of db.prepare('SELECT * FROM device_state').all() as Row[]) {
    const next = rebuildDesired(fromRow(r), history.all(r.device_id) as AuditReplayRow[]);
    if (!next) continue;
    update.run(next.version, encode(next.desired), r.device_id);
    migrated.push(r.device_id);
  }
  return migrated;
}

function fromRow(r: Row): Shadow {
  return shadowFromColumns(r);
}
