/**
 * The commands table on PostgreSQL: the columns of the SQLite table, plus
 * `version` (raised by every update: the compare-and-set token, so two
 * nodes can never both move a command on from the same row) and `due_at`
 * (when a pending command ends unless something happens first, computed by
 * the server, so the sweeper finds overdue commands by one index).
 *
 * JSON travels as text, as on SQLite: jsonb would reorder the keys of the
 * params and results operators and devices sent.
 */
import type { Migration } from '../pg/migrations.js';

export const COMMAND_MIGRATIONS: readonly Migration[] = [
  {
    id: 'commands-1',
    sql: `
CREATE TABLE commands (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  device_id TEXT NOT NULL,
  name TEXT NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL,
  transitions TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  timeout_ms INTEGER NOT NULL,
  expires_at BIGINT NOT NULL,
  sent_at BIGINT,
  deliveries INTEGER NOT NULL,
  result TEXT,
  error TEXT,
  late TEXT,
  issued_by TEXT NOT NULL,
  idempotency_key TEXT,
  version INTEGER NOT NULL DEFAULT 0,
  due_at BIGINT GENERATED ALWAYS AS (
    CASE WHEN state = 'queued' THEN expires_at
         WHEN state IN ('sent', 'acknowledged') THEN sent_at + timeout_ms END
  ) STORED,
  -- NULL keys are distinct in PostgreSQL: commands without a key never conflict.
  CONSTRAINT commands_idempotency_key UNIQUE (device_id, idempotency_key)
);
CREATE INDEX commands_by_device ON commands (device_id, seq);
CREATE INDEX commands_by_state ON commands (state);
CREATE INDEX commands_pending_by_device ON commands (device_id, seq) WHERE state IN ('queued', 'sent', 'acknowledged');
CREATE INDEX commands_due ON commands (due_at) WHERE due_at IS NOT NULL;
`,
  },
];
