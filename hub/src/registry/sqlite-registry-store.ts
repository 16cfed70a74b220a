/** Device registry on SQLite, in its own file beside the telemetry store. */
import type Database from 'better-sqlite3';
import type { Capabilities, Transport } from '@iot-hub/protocol';
import type { DeviceAttributes, DeviceRecord, RegistryStore } from './registry-store.js';
import { openSqlite } from '../db/open-sqlite.js';

/** The first schema, as registry.db files in the field have it (user_version 0). */
const BASE_SCHEMA = `
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

/**
 * Migrations by `PRAGMA user_version`: MIGRATIONS[n] takes a file from
 * version n to n + 1. Each runs in one transaction with its version bump, so
 * an existing registry.db is upgraded in place at start, once.
 */
const MIGRATIONS: readonly string[] = [
  // 1: token rotation and revocation. Existing tokens count as issued when the device was created.
  `ALTER TABLE devices ADD COLUMN token_issued_at INTEGER;
   UPDATE devices SET token_issued_at = created_at;
   ALTER TABLE devices ADD COLUMN token_revoked_at INTEGER;`,
  // 2: operator-given room and labels (a JSON array, sorted). Existing devices have neither.
  `ALTER TABLE devices ADD COLUMN room TEXT;
   ALTER TABLE devices ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';`,
];

export const REGISTRY_SCHEMA_VERSION = MIGRATIONS.length;

interface Row {
  id: string;
  kind: string;
  name: string;
  token_hash: string;
  created_at: number;
  capabilities: string | null;
  last_seen: number | null;
  last_transport: string | null;
  token_issued_at: number | null;
  token_revoked_at: number | null;
  room: string | null;
  labels: string;
}

export class SqliteRegistryStore implements RegistryStore {
  private db: Database.Database | null = null;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly file: string) {}

  private handle(): Database.Database {
    if (!this.db) throw new Error('SqliteRegistryStore used before open()');
    return this.db;
  }

  /** A statement prepared once per open file: preparing costs more than running these. */
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.handle().prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  async open(): Promise<void> {
    const db = openSqlite(this.file);
    db.exec(BASE_SCHEMA);
    migrate(db);
    this.db = db;
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = null;
  }

  async loadAll(): Promise<DeviceRecord[]> {
    const rows = this.statement('SELECT * FROM devices ORDER BY id').all() as Row[];
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      name: r.name,
      room: r.room,
      labels: JSON.parse(r.labels) as string[],
      tokenHash: r.token_hash,
      tokenIssuedAt: r.token_issued_at ?? r.created_at,
      tokenRevokedAt: r.token_revoked_at,
      createdAt: r.created_at,
      capabilities: r.capabilities === null ? null : (JSON.parse(r.capabilities) as Capabilities),
      lastSeen: r.last_seen,
      lastTransport: r.last_transport as Transport | null,
    }));
  }

  async insert(record: DeviceRecord): Promise<boolean> {
    const result = this.statement(
      `INSERT OR IGNORE INTO devices (id, kind, name, room, labels, token_hash, token_issued_at, token_revoked_at, created_at, capabilities, last_seen, last_transport)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.id,
      record.kind,
      record.name,
      record.room,
      JSON.stringify(record.labels),
      record.tokenHash,
      record.tokenIssuedAt,
      record.tokenRevokedAt,
      record.createdAt,
      record.capabilities === null ? null : JSON.stringify(record.capabilities),
      record.lastSeen,
      record.lastTransport,
    );
    return result.changes === 1;
  }

  async delete(id: string): Promise<boolean> {
    return this.statement('DELETE FROM devices WHERE id = ?').run(id).changes === 1;
  }

  async saveToken(id: string, tokenHash: string, issuedAt: number): Promise<boolean> {
    const result = this.statement('UPDATE devices SET token_hash = ?, token_issued_at = ?, token_revoked_at = NULL WHERE id = ?').run(tokenHash, issuedAt, id);
    return result.changes === 1;
  }

  /** Revoking twice keeps the first time, as Registry does in memory. */
  async revokeToken(id: string, revokedAt: number): Promise<boolean> {
    return this.statement('UPDATE devices SET token_revoked_at = COALESCE(token_revoked_at, ?) WHERE id = ?').run(revokedAt, id).changes === 1;
  }

  async saveAttributes(id: string, attributes: DeviceAttributes): Promise<boolean> {
    const { name, room, labels } = attributes;
    return this.statement('UPDATE devices SET name = ?, room = ?, labels = ? WHERE id = ?').run(name, room, JSON.stringify(labels), id).changes === 1;
  }

  async saveCapabilities(id: string, capabilities: Capabilities): Promise<void> {
    this.statement('UPDATE devices SET capabilities = ? WHERE id = ?').run(JSON.stringify(capabilities), id);
  }

  async saveLastSeen(entries: readonly { id: string; lastSeen: number; transport: Transport | null }[]): Promise<void> {
    const db = this.handle();
    const update = db.prepare('UPDATE devices SET last_seen = ?, last_transport = ? WHERE id = ?');
    db.transaction(() => {
      for (const e of entries) update.run(e.lastSeen, e.transport, e.id);
    })();
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`registry.db has schema version ${version}, newer than this hub knows (${MIGRATIONS.length}): upgrade the hub`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
