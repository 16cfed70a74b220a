/**
 * The notifier outbox in PostgreSQL: the tables of notify.db. The webhook
 * secrets are in `notifiers.secret` in clear (signing needs them): who can
 * read the cluster's database can read them, as with notify.db's file.
 */
import type { Migration } from '../pg/migrations.js';

export const NOTIFY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'notify-1',
    sql: `
CREATE TABLE notifiers (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  min_severity TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  delivered BIGINT NOT NULL DEFAULT 0,
  dead_lettered BIGINT NOT NULL DEFAULT 0,
  last_error_at BIGINT,
  last_error TEXT
);
CREATE TABLE notifications (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE deliveries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_id TEXT NOT NULL,
  notifier_id TEXT NOT NULL,
  dead BOOLEAN NOT NULL DEFAULT false,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  last_error TEXT,
  dead_at BIGINT
);
CREATE INDEX deliveries_due ON deliveries (notifier_id, dead, next_at);
CREATE INDEX deliveries_notification ON deliveries (notification_id);
CREATE TABLE notified_firing (alert_id TEXT PRIMARY KEY);`,
  },
];
