/**
 * The audit log in PostgreSQL: the columns and indexes of the SQLite table.
 * The id is an identity (a sequence): it only grows, across nodes and
 * pruning, so it stays the page cursor. details is JSON text, not jsonb,
 * which would reject U+0000 and reorder keys.
 */
import type { Migration } from '../pg/migrations.js';

export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'audit-1',
    sql: `
CREATE TABLE audit_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ts BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  device_id TEXT,
  command_id TEXT,
  details TEXT NOT NULL,
  outcome TEXT
);
CREATE INDEX audit_log_device ON audit_log (device_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_ts ON audit_log (ts);
CREATE INDEX audit_log_command ON audit_log (command_id) WHERE command_id IS NOT NULL;`,
  },
];
