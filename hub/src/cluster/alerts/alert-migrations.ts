/**
 * Alerting's tables in PostgreSQL: those of alerts.db, shared by every node.
 * Records stay JSON text beside the columns queries filter on (text, not
 * jsonb: jsonb reorders keys and rejects U+0000). History ids come from an
 * identity, so they only grow and stay the page cursor. alert_rules_version
 * holds one counter raised by every rule and silence write: nodes poll it
 * to learn that rules or silences changed elsewhere.
 */
import type { Migration } from '../pg/migrations.js';

export const ALERT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'alerts-1',
    sql: `
CREATE TABLE alert_rules (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE alert_rules_version (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), version BIGINT NOT NULL);
INSERT INTO alert_rules_version (one, version) VALUES (true, 0);
CREATE TABLE alerts (
  rule_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  since BIGINT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (rule_id, device_id)
);
CREATE INDEX alerts_by_device ON alerts (device_id);
CREATE INDEX alerts_by_state ON alerts (state, since);
CREATE TABLE alert_history (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  to_state TEXT NOT NULL,
  ts BIGINT NOT NULL,
  value TEXT,
  summary TEXT NOT NULL,
  actor TEXT
);
CREATE INDEX alert_history_by_device ON alert_history (device_id, id);
CREATE INDEX alert_history_by_rule ON alert_history (rule_id, id);
CREATE INDEX alert_history_by_ts ON alert_history (ts);
CREATE TABLE alert_silences (id TEXT PRIMARY KEY, until BIGINT NOT NULL, data TEXT NOT NULL);`,
  },
];
