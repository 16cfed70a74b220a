/**
 * Audit entries on SQLite, in the control file shared with the command and
 * state stores (each with its own connection and tables). Ids only grow
 * (AUTOINCREMENT), so an id is a stable page cursor even across pruning.
 */
import type Database from 'better-sqlite3';
import type { AuditAction, AuditEntry } from '@iot-hub/protocol';
import type { AuditQuery, AuditStore, NewAuditEntry } from './audit-store.js';
import { openSqlite } from '../db/open-sqlite.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  device_id TEXT,
  command_id TEXT,
  details TEXT NOT NULL,
  outcome TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_device ON audit_log (device_id, id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, id);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, id);
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log (ts);
CREATE INDEX IF NOT EXISTS audit_log_command ON audit_log (command_id) WHERE command_id IS NOT NULL;
`;

interface Row {
  id: number;
  ts: number;
  actor: string;
  action: string;
  device_id: string | null;
  command_id: string | null;
  details: string;
  outcome: string | null;
}

/** better-sqlite3 is synchronous: each method does its work before it returns its (settled) promise. */
export class SqliteAuditStore implements AuditStore {
  private db: Database.Database | null = null;
  private insertStmt: Database.Statement<[number, string, string, string | null, string | null, string, string | null]> | null = null;
  private outcomeStmt: Database.Statement<[string, string]> | null = null;
  /** Prepared SELECTs by the filters they use (at most 2^6 shapes). */
  private readonly selects = new Map<string, Database.Statement>();

  constructor(private readonly file: string) {}

  async open(): Promise<void> {
    // Commands and state write the same file from their own connections.
    const db = openSqlite(this.file, { shared: true });
    db.exec(SCHEMA);
    this.insertStmt = db.prepare('INSERT INTO audit_log (ts, actor, action, device_id, command_id, details, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.outcomeStmt = db.prepare("UPDATE audit_log SET outcome = ? WHERE command_id = ? AND action = 'command.create' AND outcome IS NULL");
    this.db = db;
  }

  async close(): Promise<void> {
    this.selects.clear();
    this.insertStmt = null;
    this.outcomeStmt = null;
    this.db?.close();
    this.db = null;
  }

  private handle(): Database.Database {
    if (!this.db) throw new Error('SqliteAuditStore used before open()');
    return this.db;
  }

  async insert(e: NewAuditEntry): Promise<number> {
    if (!this.insertStmt) throw new Error('SqliteAuditStore used before open()');
    const result = this.insertStmt.run(e.ts, e.actor, e.action, e.deviceId, e.commandId, JSON.stringify(e.details), e.outcome);
    return Number(result.lastInsertRowid);
  }

  async setCommandOutcome(commandId: string, outcome: string): Promise<boolean> {
    if (!this.outcomeStmt) throw new Error('SqliteAuditStore used before open()');
    return this.outcomeStmt.run(outcome, commandId).changes > 0;
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      args.push(value);
    };
    add('device_id = ?', q.deviceId);
    add('actor = ?', q.actor);
    add('action = ?', q.action);
    add('ts >= ?', q.from);
    add('ts <= ?', q.to);
    add('id < ?', q.beforeId);
    const sql = `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    let stmt = this.selects.get(sql);
    if (!stmt) this.selects.set(sql, (stmt = this.handle().prepare(sql)));
    return (stmt.all(...args, q.limit) as Row[]).map(toEntry);
  }

  async prune(keep: number): Promise<number> {
    const db = this.handle();
    const oldestKept = db.prepare('SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ?').pluck().get(keep - 1) as number | undefined;
    if (oldestKept === undefined) return 0;
    return db.prepare('DELETE FROM audit_log WHERE id < ?').run(oldestKept).changes;
  }
}

function toEntry(r: Row): AuditEntry {
  return {
    id: r.id,
    ts: r.ts,
    actor: r.actor,
    action: r.action as AuditAction,
    deviceId: r.device_id,
    commandId: r.command_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
    outcome: r.outcome,
  };
}
