/** Device registry on SQLite, in its own file beside the telemetry store. */
import Database from 'better-sqlite3';
import type { Capabilities, Transport } from '@iot-hub/protocol';
import type { DeviceRecord, RegistryStore } from './registry-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  capabilities TEXT,
  last_seen INTEGER,
  last_transport TEXT
);
`;

interface Row {
  id: string;
  kind: string;
  name: string;
  token_hash: string;
  created_at: number;
  capabilities: string | null;
  last_seen: number | null;
  last_transport: string | null;
}

export class SqliteRegistryStore implements RegistryStore {
  private db: Database.Database | null = null;

  constructor(private readonly file: string) {}

  private handle(): Database.Database {
    if (!this.db) throw new Error('SqliteRegistryStore used before open()');
    return this.db;
  }

  async open(): Promise<void> {
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    this.db = db;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  async loadAll(): Promise<DeviceRecord[]> {
    const rows = this.handle().prepare('SELECT * FROM devices ORDER BY id').all() as Row[];
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      name: r.name,
      tokenHash: r.token_hash,
      createdAt: r.created_at,
      capabilities: r.capabilities === null ? null : (JSON.parse(r.capabilities) as Capabilities),
      lastSeen: r.last_seen,
      lastTransport: r.last_transport as Transport | null,
    }));
  }

  async insert(record: DeviceRecord): Promise<boolean> {
    const result = this.handle()
      .prepare(
        `INSERT OR IGNORE INTO devices (id, kind, name, token_hash, created_at, capabilities, last_seen, last_transport)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.id,
        record.kind,
        record.name,
        record.tokenHash,
        record.createdAt,
        record.capabilities === null ? null : JSON.stringify(record.capabilities),
        record.lastSeen,
        record.lastTransport,
      );
    return result.changes === 1;
  }

  async delete(id: string): Promise<boolean> {
    return this.handle().prepare('DELETE FROM devices WHERE id = ?').run(id).changes === 1;
  }

  async saveCapabilities(id: string, capabilities: Capabilities): Promise<void> {
    this.handle().prepare('UPDATE devices SET capabilities = ? WHERE id = ?').run(JSON.stringify(capabilities), id);
  }

  async saveLastSeen(entries: readonly { id: string; lastSeen: number; transport: Transport | null }[]): Promise<void> {
    const db = this.handle();
    const update = db.prepare('UPDATE devices SET last_seen = ?, last_transport = ? WHERE id = ?');
    db.transaction(() => {
      for (const e of entries) update.run(e.lastSeen, e.transport, e.id);
    })();
  }
}
