/**
 * The registry's tables in the cluster's PostgreSQL: devices (as the SQLite
 * registry.db has them, plus `updated_at` for the per-node caches' delta),
 * tombstones of deleted devices for that delta, and the seq windows of each
 * device's boots [FP-4.2], which follow a device from node to node.
 *
 * Times are epoch milliseconds in BIGINT, as the SQLite store keeps them;
 * `updated_at` and `deleted_at` come from the database's clock, so every
 * node compares them on one clock. Text keys use the "C" collation: ids
 * sort byte-wise, as in SQLite, whatever locale the cluster was created in.
 */
import type { Migration } from '../pg/migrations.js';

/** The database's clock in epoch ms, read when the statement touches the row. */
export const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'registry-1',
    sql: `
CREATE TABLE devices (
  id TEXT COLLATE "C" PRIMARY KEY,
  kind TEXT NOT NULL,
  -- JSON string literal: an operator-given name may hold NUL or lone surrogates, which TEXT cannot.
  name JSON NOT NULL,
  token_hash TEXT NOT NULL,
  token_issued_at BIGINT NOT NULL,
  token_revoked_at BIGINT,
  created_at BIGINT NOT NULL,
  -- JSON, not JSONB: the declared metrics keep their order and exact text.
  capabilities JSON,
  last_seen BIGINT,
  last_transport TEXT,
  updated_at BIGINT NOT NULL
);
CREATE INDEX devices_updated_at ON devices (updated_at);
CREATE TABLE device_tombstones (
  id TEXT COLLATE "C" PRIMARY KEY,
  deleted_at BIGINT NOT NULL
);
CREATE INDEX device_tombstones_deleted_at ON device_tombstones (deleted_at);
`,
  },
  {
    id: 'registry-2',
    sql: `
-- boot: the hub's boot key (bootKey()) as a JSON string literal: device-supplied, it may hold NUL or lone surrogates.
-- A device's rows go with it (ON DELETE CASCADE), whichever node deletes it.
CREATE TABLE seq_windows (
  device_id TEXT COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  boot TEXT COLLATE "C" NOT NULL,
  used_at BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  runs JSON NOT NULL,
  PRIMARY KEY (device_id, boot)
);
CREATE TABLE device_boots (
  device_id TEXT COLLATE "C" PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  boot TEXT COLLATE "C" NOT NULL
);
`,
  },
  {
    id: 'registry-3',
    sql: `
-- Operator-given room (a JSON string literal, as name: the API's input may hold lone surrogates) and labels (a JSON array, sorted).
ALTER TABLE devices ADD COLUMN room JSON;
ALTER TABLE devices ADD COLUMN labels JSON NOT NULL DEFAULT '[]';
`,
  },
];
