/**
 * Notifiers and the delivery outbox in PostgreSQL, shared by every node:
 * SqliteNotifierStore's rules. claimDue takes rows with FOR UPDATE SKIP
 * LOCKED and leases them in the same transaction, so each due delivery is
 * claimed by exactly one node; a node that dies mid-attempt leaves a lease
 * that ends, and another node retries it.
 */
import { DEAD_LETTERS_KEPT, MAX_PENDING_PER_NOTIFIER, type AlertNotification, type AlertSeverity, type DeadLetterView } from '@iot-hub/protocol';
import type { DeliveryRow, NotificationToQueue, NotifierRecord, NotifierStore } from '../../alerts/notify/notifier-store.js';
import type { PgDatabase } from '../pg/pg-database.js';

interface NotifierRow {
  id: string;
  name: string;
  url: string;
  secret: string;
  min_severity: string;
  created_at: string;
  delivered: string;
  dead_lettered: string;
  last_error_at: string | null;
  last_error: string | null;
}

const toRecord = (r: NotifierRow): NotifierRecord => ({
  id: r.id,
  type: 'webhook',
  name: r.name,
  url: r.url,
  secret: r.secret,
  minSeverity: r.min_severity as AlertSeverity,
  createdAt: Number(r.created_at),
  delivered: Number(r.delivered),
  deadLettered: Number(r.dead_lettered),
  lastError: r.last_error_at !== null && r.last_error !== null ? { at: Number(r.last_error_at), message: r.last_error } : null,
});

const DROP_ORPHANS = 'DELETE FROM notifications n WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id)';

export class PgNotifierStore implements NotifierStore {
  /** The pool is the node's: its owner opens and closes it, and runs the migrations (NOTIFY_MIGRATIONS). */
  constructor(private readonly db: PgDatabase) {}

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  async create(r: NotifierRecord): Promise<void> {
    await this.db.query('INSERT INTO notifiers (id, type, name, url, secret, min_severity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [r.id, r.type, r.name, r.url, r.secret, r.minSeverity, r.createdAt]);
  }

  async remove(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const gone = ((await tx.query('DELETE FROM notifiers WHERE id = $1', [id])).rowCount ?? 0) > 0;
      await tx.query('DELETE FROM deliveries WHERE notifier_id = $1', [id]);
      await tx.query(DROP_ORPHANS);
      return gone;
    });
  }

  async list(): Promise<NotifierRecord[]> {
    return (await this.db.query<NotifierRow>('SELECT * FROM notifiers ORDER BY created_at, id')).rows.map(toRecord);
  }

  async enqueue(item: NotificationToQueue, now: number): Promise<string[]> {
    const { notification, body, notifierIds } = item;
    return this.db.transaction(async (tx) => {
      const full: string[] = [];
      if (notifierIds.length > 0) {
        await tx.query('INSERT INTO notifications (id, body) VALUES ($1, $2)', [notification.id, body]);
        const error = `outbox full: ${MAX_PENDING_PER_NOTIFIER} deliveries already wait for this notifier`;
        for (const id of notifierIds) {
          // The notifier's row lock serializes enqueues to it across nodes, so the cap holds.
          await tx.query('SELECT 1 FROM notifiers WHERE id = $1 FOR UPDATE', [id]);
          const waiting = Number((await tx.query<{ n: string }>('SELECT count(*) AS n FROM deliveries WHERE notifier_id = $1 AND NOT dead', [id])).rows[0]?.n ?? 0);
          if (waiting < MAX_PENDING_PER_NOTIFIER) {
            await tx.query('INSERT INTO deliveries (notification_id, notifier_id, next_at, created_at) VALUES ($1, $2, $3, $3)', [notification.id, id, now]);
            continue;
          }
          await tx.query('INSERT INTO deliveries (notification_id, notifier_id, dead, next_at, created_at, last_error, dead_at) VALUES ($1, $2, true, $3, $3, $4, $3)', [notification.id, id, now, error]);
          await tx.query('UPDATE notifiers SET dead_lettered = dead_lettered + 1, last_error_at = $1, last_error = $2 WHERE id = $3', [now, error, id]);
          full.push(id);
        }
      }
      const ids = notification.alerts.map((a) => a.id);
      if (notification.state === 'firing') await tx.query('INSERT INTO notified_firing (alert_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [ids]);
      else await forget(tx, ids);
      return full;
    });
  }

  async notifiedFiring(): Promise<string[]> {
    return (await this.db.query<{ alert_id: string }>('SELECT alert_id FROM notified_firing')).rows.map((r) => r.alert_id);
  }

  async forgetFiring(alertIds: readonly string[]): Promise<void> {
    await forget(this.db, alertIds);
  }

  async claimDue(notifierId: string, now: number, limit: number, leaseUntil: number): Promise<DeliveryRow[]> {
    const rows = await this.db.query<{ id: string; notifier_id: string; notification_id: string; body: string; attempts: number; created_at: string }>(
      `WITH due AS (
         SELECT id FROM deliveries WHERE notifier_id = $1 AND NOT dead AND next_at <= $2 ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
       ), leased AS (
         UPDATE deliveries d SET next_at = $4 FROM due WHERE d.id = due.id RETURNING d.id, d.notifier_id, d.notification_id, d.attempts, d.created_at
       )
       SELECT l.*, n.body FROM leased l JOIN notifications n ON n.id = l.notification_id ORDER BY l.id`,
      [notifierId, now, limit, leaseUntil],
    );
    return rows.rows.map((r) => ({ id: Number(r.id), notifierId: r.notifier_id, notificationId: r.notification_id, body: r.body, attempts: r.attempts, createdAt: Number(r.created_at) }));
  }

  async nextDueAt(notifierIds: readonly string[]): Promise<number | null> {
    if (notifierIds.length === 0) return null;
    const at = (await this.db.query<{ at: string | null }>('SELECT min(next_at) AS at FROM deliveries WHERE NOT dead AND notifier_id = ANY($1::text[])', [notifierIds])).rows[0]?.at;
    return at === null || at === undefined ? null : Number(at);
  }

  async delivered(d: DeliveryRow): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Deleted with its notifier meanwhile: nothing to count.
      if (((await tx.query('DELETE FROM deliveries WHERE id = $1', [d.id])).rowCount ?? 0) === 0) return;
      await tx.query('UPDATE notifiers SET delivered = delivered + 1 WHERE id = $1', [d.notifierId]);
      await tx.query('DELETE FROM notifications WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = $1)', [d.notificationId]);
    });
  }

  async retryLater(d: DeliveryRow, nextAt: number, error: string, at: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (((await tx.query('UPDATE deliveries SET attempts = attempts + 1, next_at = $1, last_error = $2 WHERE id = $3', [nextAt, error, d.id])).rowCount ?? 0) === 0) return;
      await tx.query('UPDATE notifiers SET last_error_at = $1, last_error = $2 WHERE id = $3', [at, error, d.notifierId]);
    });
  }

  async release(d: DeliveryRow, at: number): Promise<void> {
    await this.db.query('UPDATE deliveries SET next_at = $1 WHERE id = $2', [at, d.id]);
  }

  async deadLetter(d: DeliveryRow, error: string, at: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const changed = (await tx.query('UPDATE deliveries SET dead = true, attempts = attempts + 1, last_error = $1, dead_at = $2 WHERE id = $3 AND NOT dead', [error, at, d.id])).rowCount ?? 0;
      if (changed === 0) return;
      await tx.query('UPDATE notifiers SET dead_lettered = dead_lettered + 1, last_error_at = $1, last_error = $2 WHERE id = $3', [at, error, d.notifierId]);
      // The newest DEAD_LETTERS_KEPT stay listed; the count keeps every one.
      await tx.query(
        `DELETE FROM deliveries WHERE notifier_id = $1 AND dead AND id NOT IN
         (SELECT id FROM deliveries WHERE notifier_id = $1 AND dead ORDER BY id DESC LIMIT $2)`,
        [d.notifierId, DEAD_LETTERS_KEPT],
      );
      await tx.query(DROP_ORPHANS);
    });
  }

  async deadLetters(notifierId: string, limit: number): Promise<DeadLetterView[]> {
    const rows = await this.db.query<{ id: string; attempts: number; created_at: string; dead_at: string; last_error: string | null; body: string }>(
      `SELECT d.id, d.attempts, d.created_at, d.dead_at, d.last_error, n.body FROM deliveries d JOIN notifications n ON n.id = d.notification_id
       WHERE d.notifier_id = $1 AND d.dead ORDER BY d.id DESC LIMIT $2`,
      [notifierId, limit],
    );
    return rows.rows.map((r) => ({
      id: Number(r.id),
      notifierId,
      notification: JSON.parse(r.body) as AlertNotification,
      attempts: r.attempts,
      createdAt: Number(r.created_at),
      deadAt: Number(r.dead_at),
      lastError: r.last_error ?? '',
    }));
  }

  async pendingCounts(): Promise<Map<string, { pending: number; retrying: number }>> {
    const rows = await this.db.query<{ notifier_id: string; pending: string; retrying: string }>(
      'SELECT notifier_id, count(*) AS pending, count(*) FILTER (WHERE attempts > 0) AS retrying FROM deliveries WHERE NOT dead GROUP BY notifier_id',
    );
    return new Map(rows.rows.map((r) => [r.notifier_id, { pending: Number(r.pending), retrying: Number(r.retrying) }]));
  }
}

/** A pool or a transaction: what forget needs of either. */
type Sql = { query(sql: string, params: unknown[]): Promise<unknown> };

async function forget(q: Sql, alertIds: readonly string[]): Promise<void> {
  if (alertIds.length === 0) return;
  await q.query('DELETE FROM notified_firing WHERE alert_id = ANY($1::text[])', [alertIds]);
}
