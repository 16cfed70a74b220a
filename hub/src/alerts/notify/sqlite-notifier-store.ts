/**
 * Notifiers and the delivery outbox in their own SQLite file (notify.db), so
 * the file holding webhook secrets can be mode 0600 without touching the
 * others. A notification's body is stored once and shared by its
 * deliveries; it goes when the last of them is delivered or pruned.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { DEAD_LETTERS_KEPT, MAX_PENDING_PER_NOTIFIER, type AlertNotification, type AlertSeverity, type DeadLetterView } from '@iot-hub/protocol';
import { openSqlite } from '../../db/open-sqlite.js';
import type { DeliveryRow, NotificationToQueue, NotifierRecord, NotifierStore } from './notifier-store.js';

export const NOTIFY_FILE = 'notify.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS notifiers (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  min_severity TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  dead_lettered INTEGER NOT NULL DEFAULT 0,
  last_error_at INTEGER,
  last_error TEXT
);
CREATE TABLE IF NOT EXISTS notifications (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id TEXT NOT NULL,
  notifier_id TEXT NOT NULL,
  dead INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_error TEXT,
  dead_at INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (notifier_id, dead, next_at);
CREATE INDEX IF NOT EXISTS deliveries_notification ON deliveries (notification_id);
CREATE TABLE IF NOT EXISTS notified_firing (
  alert_id TEXT PRIMARY KEY
);
`;

interface NotifierRow {
  id: string;
  type: string;
  name: string;
  url: string;
  secret: string;
  min_severity: string;
  created_at: number;
  delivered: number;
  dead_lettered: number;
  last_error_at: number | null;
  last_error: string | null;
}

const toRecord = (r: NotifierRow): NotifierRecord => ({
  id: r.id,
  type: 'webhook',
  name: r.name,
  url: r.url,
  secret: r.secret,
  minSeverity: r.min_severity as AlertSeverity,
  createdAt: r.created_at,
  delivered: r.delivered,
  deadLettered: r.dead_lettered,
  lastError: r.last_error_at !== null && r.last_error !== null ? { at: r.last_error_at, message: r.last_error } : null,
});

/** Creates the file readable by its owner only before SQLite opens it (SQLite gives its WAL the same mode). */
function createPrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

/** better-sqlite3 is synchronous: each method does its work before it returns its (settled) promise. */
export class SqliteNotifierStore implements NotifierStore {
  private db: Database.Database | null = null;

  constructor(private readonly file: string) {}

  private get conn(): Database.Database {
    if (!this.db) throw new Error('notifier store is not open');
    return this.db;
  }

  async open(): Promise<void> {
    createPrivateFile(this.file);
    this.db = openSqlite(this.file);
    this.db.exec(SCHEMA);
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  async create(r: NotifierRecord): Promise<void> {
    this.conn
      .prepare('INSERT INTO notifiers (id, type, name, url, secret, min_severity, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(r.id, r.type, r.name, r.url, r.secret, r.minSeverity, r.createdAt);
  }

  async remove(id: string): Promise<boolean> {
    const db = this.conn;
    return db.transaction(() => {
      const gone = db.prepare('DELETE FROM notifiers WHERE id = ?').run(id).changes > 0;
      db.prepare('DELETE FROM deliveries WHERE notifier_id = ?').run(id);
      this.dropOrphans();
      return gone;
    })();
  }

  async list(): Promise<NotifierRecord[]> {
    return (this.conn.prepare('SELECT * FROM notifiers ORDER BY created_at, id').all() as NotifierRow[]).map(toRecord);
  }

  async enqueue(item: NotificationToQueue, now: number): Promise<string[]> {
    const db = this.conn;
    const { notification, body, notifierIds } = item;
    return db.transaction(() => {
      const full: string[] = [];
      if (notifierIds.length > 0) {
        db.prepare('INSERT INTO notifications (id, body) VALUES (?, ?)').run(notification.id, body);
        const insert = db.prepare('INSERT INTO deliveries (notification_id, notifier_id, next_at, created_at) VALUES (?, ?, ?, ?)');
        const waiting = db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE notifier_id = ? AND dead = 0');
        const refuse = db.prepare('INSERT INTO deliveries (notification_id, notifier_id, dead, next_at, created_at, last_error, dead_at) VALUES (?, ?, 1, ?, ?, ?, ?)');
        const error = `outbox full: ${MAX_PENDING_PER_NOTIFIER} deliveries already wait for this notifier`;
        const count = db.prepare('UPDATE notifiers SET dead_lettered = dead_lettered + 1, last_error_at = ?, last_error = ? WHERE id = ?');
        for (const id of notifierIds) {
          if ((waiting.get(id) as { n: number }).n < MAX_PENDING_PER_NOTIFIER) {
            insert.run(notification.id, id, now, now);
            continue;
          }
          refuse.run(notification.id, id, now, now, error, now);
          count.run(now, error, id);
          full.push(id);
        }
      }
      const ids = notification.alerts.map((a) => a.id);
      if (notification.state === 'firing') {
        const mark = db.prepare('INSERT OR IGNORE INTO notified_firing (alert_id) VALUES (?)');
        for (const id of ids) mark.run(id);
      } else this.forget(ids);
      return full;
    })();
  }

  async notifiedFiring(): Promise<string[]> {
    return (this.conn.prepare('SELECT alert_id FROM notified_firing').all() as Array<{ alert_id: string }>).map((r) => r.alert_id);
  }

  async forgetFiring(alertIds: readonly string[]): Promise<void> {
    this.conn.transaction(() => this.forget(alertIds))();
  }

  private forget(alertIds: readonly string[]): void {
    const del = this.conn.prepare('DELETE FROM notified_firing WHERE alert_id = ?');
    for (const id of alertIds) del.run(id);
  }

  async claimDue(notifierId: string, now: number, limit: number, leaseUntil: number): Promise<DeliveryRow[]> {
    const db = this.conn;
    return db.transaction(() => {
      const rows = db
        .prepare(
          `SELECT d.id, d.notifier_id, d.notification_id, n.body, d.attempts, d.created_at FROM deliveries d JOIN notifications n ON n.id = d.notification_id
           WHERE d.notifier_id = ? AND d.dead = 0 AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?`,
        )
        .all(notifierId, now, limit) as Array<{ id: number; notifier_id: string; notification_id: string; body: string; attempts: number; created_at: number }>;
      const lease = db.prepare('UPDATE deliveries SET next_at = ? WHERE id = ?');
      for (const r of rows) lease.run(leaseUntil, r.id);
      return rows.map((r) => ({ id: r.id, notifierId: r.notifier_id, notificationId: r.notification_id, body: r.body, attempts: r.attempts, createdAt: r.created_at }));
    })();
  }

  async nextDueAt(notifierIds: readonly string[]): Promise<number | null> {
    if (notifierIds.length === 0) return null;
    const row = this.conn
      .prepare('SELECT MIN(next_at) AS at FROM deliveries WHERE dead = 0 AND notifier_id IN (SELECT value FROM json_each(?))')
      .get(JSON.stringify(notifierIds)) as { at: number | null };
    return row.at;
  }

  async delivered(d: DeliveryRow): Promise<void> {
    const db = this.conn;
    db.transaction(() => {
      // Deleted with its notifier meanwhile: nothing to count.
      if (db.prepare('DELETE FROM deliveries WHERE id = ?').run(d.id).changes === 0) return;
      db.prepare('UPDATE notifiers SET delivered = delivered + 1 WHERE id = ?').run(d.notifierId);
      db.prepare('DELETE FROM notifications WHERE id = ? AND NOT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = ?)').run(d.notificationId, d.notificationId);
    })();
  }

  async retryLater(d: DeliveryRow, nextAt: number, error: string, at: number): Promise<void> {
    const db = this.conn;
    db.transaction(() => {
      if (db.prepare('UPDATE deliveries SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?').run(nextAt, error, d.id).changes === 0) return;
      db.prepare('UPDATE notifiers SET last_error_at = ?, last_error = ? WHERE id = ?').run(at, error, d.notifierId);
    })();
  }

  async release(d: DeliveryRow, at: number): Promise<void> {
    this.conn.prepare('UPDATE deliveries SET next_at = ? WHERE id = ?').run(at, d.id);
  }

  async deadLetter(d: DeliveryRow, error: string, at: number): Promise<void> {
    const db = this.conn;
    db.transaction(() => {
      const changed = db.prepare('UPDATE deliveries SET dead = 1, attempts = attempts + 1, last_error = ?, dead_at = ? WHERE id = ? AND dead = 0').run(error, at, d.id).changes;
      if (changed === 0) return;
      db.prepare('UPDATE notifiers SET dead_lettered = dead_lettered + 1, last_error_at = ?, last_error = ? WHERE id = ?').run(at, error, d.notifierId);
      // The newest DEAD_LETTERS_KEPT stay listed; the count keeps every one.
      db.prepare(
        `DELETE FROM deliveries WHERE notifier_id = ? AND dead = 1 AND id NOT IN
         (SELECT id FROM deliveries WHERE notifier_id = ? AND dead = 1 ORDER BY id DESC LIMIT ?)`,
      ).run(d.notifierId, d.notifierId, DEAD_LETTERS_KEPT);
      this.dropOrphans();
    })();
  }

  async deadLetters(notifierId: string, limit: number): Promise<DeadLetterView[]> {
    const rows = this.conn
      .prepare(
        `SELECT d.id, d.attempts, d.created_at, d.dead_at, d.last_error, n.body FROM deliveries d JOIN notifications n ON n.id = d.notification_id
         WHERE d.notifier_id = ? AND d.dead = 1 ORDER BY d.id DESC LIMIT ?`,
      )
      .all(notifierId, limit) as Array<{ id: number; attempts: number; created_at: number; dead_at: number; last_error: string | null; body: string }>;
    return rows.map((r) => ({
      id: r.id,
      notifierId,
      notification: JSON.parse(r.body) as AlertNotification,
      attempts: r.attempts,
      createdAt: r.created_at,
      deadAt: r.dead_at,
      lastError: r.last_error ?? '',
    }));
  }

  async pendingCounts(): Promise<Map<string, { pending: number; retrying: number }>> {
    const rows = this.conn
      .prepare('SELECT notifier_id, COUNT(*) AS pending, SUM(attempts > 0) AS retrying FROM deliveries WHERE dead = 0 GROUP BY notifier_id')
      .all() as Array<{ notifier_id: string; pending: number; retrying: number }>;
    return new Map(rows.map((r) => [r.notifier_id, { pending: r.pending, retrying: r.retrying }]));
  }

  private dropOrphans(): void {
    this.conn.prepare('DELETE FROM notifications WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = notifications.id)').run();
  }
}
