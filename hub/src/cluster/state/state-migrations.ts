/**
 * Device shadows in PostgreSQL, one row per device, the pure rules of
 * shadow.ts over it. `rev` grows with every write (desired or reported) and
 * is the compare-and-set key, so a desired patch on one node and a report on
 * the owner node never overwrite each other; `version` is the desired
 * version the API and devices see [FP-4.3]. The maps are JSON text as on
 * SQLite (shadow-codec.ts), not jsonb: jsonb rejects U+0000 in strings.
 */
import type { Migration } from '../pg/migrations.js';

export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'state-1',
    sql: `
CREATE TABLE device_state (
  device_id TEXT PRIMARY KEY,
  rev BIGINT NOT NULL,
  version BIGINT NOT NULL,
  reported_version BIGINT,
  reported TEXT NOT NULL,
  desired TEXT NOT NULL,
  refused TEXT NOT NULL
);`,
  },
];
