/**
 * Rules, alerts, their history and silences in alerts.db under the data
 * dir (its own file: alerting writes never wait on commands or state).
 * Records are JSON beside the columns that queries filter on; every query
 * is served by an index. History is bounded by ALERT_LIMITS (newest
 * 100,000 entries, at most 30 days).
 */
import type Database from 'better-sqlite3';
import type { AlertHistoryEntry, AlertRule, AlertView, SilenceView } from '@iot-hub/protocol';
import { openSqlite } from '../db/open-sqlite.js';
import { ALERT_LIMITS } from './alert-limits.js';
import type { AlertFilter, AlertStore, HistoryFilter, HistoryInput, RuleStore } from './alert-store.js';

export const ALERTS_FILE = 'alerts.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rules (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
  rule_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  since INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (rule_id, device_id)
);
CREATE INDEX IF NOT EXISTS alerts_by_device ON alerts (device_id);
CREATE INDEX IF NOT EXISTS alerts_by_state ON alerts (state, since);
CREATE TABLE IF NOT EXISTS alert_history (
  id INTEGER PRIMARY KEY,
  alert_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  to_state TEXT NOT NULL,
  ts INTEGER NOT NULL,
  value TEXT,
  summary TEXT NOT NULL,
  actor TEXT
);
CREATE INDEX IF NOT EXISTS history_by_device ON alert_history (device_id, id);
CREATE INDEX IF NOT EXISTS history_by_rule ON alert_history (rule_id, id);
CREATE INDEX IF NOT EXISTS history_by_ts ON alert_history (ts);
CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, until INTEGER NOT NULL, data TEXT NOT NULL);
`;

/** Prune the history every this many appends, so it holds at most maxHistoryEntries + this. */
const PRUNE_EVERY = 1_000;

interface HistoryRow {
  id: number;
  alert_id: string;
  rule_id: string;
  device_id: string;
  severity: AlertHistoryEntry['severity'];
  to_state: AlertHistoryEntry['to'];
  ts: number;
  value: string | null;
  summary: string;
  actor: string | null;
}

function entryOf(r: HistoryRow): AlertHistoryEntry {
  return {
    id: r.id,
    alertId: r.alert_id,
    ruleId: r.rule_id,
    deviceId: r.device_id,
    severity: r.severity,
    to: r.to_state,
    ts: r.ts,
    value: r.value === null ? null : (JSON.parse(r.value) as AlertHistoryEntry['value']),
    summary: r.summary,
    actor: r.actor,
  };
}

function prepare(db: Database.Database) {
  return {
    rules: db.prepare<[], { data: string }>('SELECT data FROM rules ORDER BY id'),
    rule: db.prepare<[string], { data: string }>('SELECT data FROM rules WHERE id = ?'),
    countRules: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM rules'),
    insertRule: db.prepare('INSERT INTO rules (id, version, data) VALUES (@id, @version, @data)'),
    replaceRule: db.prepare('UPDATE rules SET version = @version, data = @data WHERE id = @id AND version = @version - 1'),
    deleteRule: db.prepare('DELETE FROM rules WHERE id = ?'),
    openAlerts: db.prepare<[], { data: string }>(`SELECT data FROM alerts WHERE state IN ('pending', 'firing')`),
    alert: db.prepare<[string], { data: string }>('SELECT data FROM alerts WHERE id = ?'),
    upsertAlert: db.prepare(
      `INSERT INTO alerts (rule_id, device_id, id, state, severity, since, data) VALUES (@rule_id, @device_id, @id, @state, @severity, @since, @data)
       ON CONFLICT (rule_id, device_id) DO UPDATE SET id = excluded.id, state = excluded.state, severity = excluded.severity, since = excluded.since, data = excluded.data`,
    ),
    deleteAlertsOfRule: db.prepare('DELETE FROM alerts WHERE rule_id = ?'),
    deleteAlertsOfDevice: db.prepare('DELETE FROM alerts WHERE device_id = ?'),
    pruneResolved: db.prepare(`DELETE FROM alerts WHERE state = 'resolved' AND since < ?`),
    appendHistory: db.prepare(
      `INSERT INTO alert_history (alert_id, rule_id, device_id, severity, to_state, ts, value, summary, actor)
       VALUES (@alert_id, @rule_id, @device_id, @severity, @to_state, @ts, @value, @summary, @actor)`,
    ),
    newestHistoryId: db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM alert_history'),
    pruneHistory: db.prepare('DELETE FROM alert_history WHERE id <= ? OR ts < ?'),
    silences: db.prepare<[], { data: string }>('SELECT data FROM silences ORDER BY until'),
    insertSilence: db.prepare('INSERT INTO silences (id, until, data) VALUES (@id, @until, @data)'),
    deleteSilence: db.prepare('DELETE FROM silences WHERE id = ?'),
    pruneSilences: db.prepare('DELETE FROM silences WHERE until < ?'),
  };
}

export class SqliteAlertStore implements RuleStore, AlertStore {
  private db: Database.Database | null = null;
  private s: ReturnType<typeof prepare> | null = null;
  private appendsSincePrune = 0;

  constructor(private readonly file: string) {}

  async open(): Promise<void> {
    const db = openSqlite(this.file);
    db.exec(SCHEMA);
    this.db = db;
    this.s = prepare(db);
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
    this.s = null;
  }

  private get st(): ReturnType<typeof prepare> {
    if (!this.s) throw new Error('the alert store is not open');
    return this.s;
  }

  async listRules(): Promise<AlertRule[]> {
    return this.st.rules.all().map((r) => JSON.parse(r.data) as AlertRule);
  }

  async getRule(id: string): Promise<AlertRule | undefined> {
    const row = this.st.rule.get(id);
    return row && (JSON.parse(row.data) as AlertRule);
  }

  async countRules(): Promise<number> {
    return this.st.countRules.get()?.n ?? 0;
  }

  async insertRule(rule: AlertRule): Promise<void> {
    this.st.insertRule.run({ id: rule.id, version: rule.version, data: JSON.stringify(rule) });
  }

  async replaceRule(rule: AlertRule): Promise<boolean> {
    return this.st.replaceRule.run({ id: rule.id, version: rule.version, data: JSON.stringify(rule) }).changes === 1;
  }

  async deleteRule(id: string): Promise<boolean> {
    return this.st.deleteRule.run(id).changes === 1;
  }

  async openAlerts(): Promise<AlertView[]> {
    return this.st.openAlerts.all().map((r) => JSON.parse(r.data) as AlertView);
  }

  async listAlerts(filter: AlertFilter): Promise<AlertView[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) {
      where.push('state = ?');
      args.push(filter.state);
    } else where.push(`state IN ('pending', 'firing')`);
    if (filter.deviceId !== undefined) {
      where.push('device_id = ?');
      args.push(filter.deviceId);
    }
    if (filter.ruleId !== undefined) {
      where.push('rule_id = ?');
      args.push(filter.ruleId);
    }
    if (filter.severity) {
      where.push('severity = ?');
      args.push(filter.severity);
    }
    const rows = (this.db as Database.Database).prepare(`SELECT data FROM alerts WHERE ${where.join(' AND ')} ORDER BY since DESC`).all(...args) as { data: string }[];
    return rows.map((r) => JSON.parse(r.data) as AlertView);
  }

  async getAlert(id: string): Promise<AlertView | undefined> {
    const row = this.st.alert.get(id);
    return row && (JSON.parse(row.data) as AlertView);
  }

  async saveAlert(alert: AlertView, entry: HistoryInput | null): Promise<void> {
    const st = this.st;
    (this.db as Database.Database).transaction(() => {
      st.upsertAlert.run({ rule_id: alert.ruleId, device_id: alert.deviceId, id: alert.id, state: alert.state, severity: alert.severity, since: alert.since, data: JSON.stringify(alert) });
      if (entry) this.append(entry);
    })();
    this.maybePrune(Date.now());
  }

  async appendHistory(entry: HistoryInput): Promise<void> {
    this.append(entry);
    this.maybePrune(Date.now());
  }

  private append(e: HistoryInput): void {
    this.st.appendHistory.run({
      alert_id: e.alertId,
      rule_id: e.ruleId,
      device_id: e.deviceId,
      severity: e.severity,
      to_state: e.to,
      ts: e.ts,
      value: e.value === null ? null : JSON.stringify(e.value),
      summary: e.summary,
      actor: e.actor,
    });
    this.appendsSincePrune += 1;
  }

  private maybePrune(now: number): void {
    if (this.appendsSincePrune < PRUNE_EVERY) return;
    this.appendsSincePrune = 0;
    this.pruneHistory(now);
  }

  private pruneHistory(now: number): void {
    const newest = this.st.newestHistoryId.get()?.id ?? 0;
    this.st.pruneHistory.run(newest - ALERT_LIMITS.maxHistoryEntries, now - ALERT_LIMITS.maxHistoryAgeMs);
  }

  async deleteAlerts(by: { ruleId: string } | { deviceId: string }): Promise<void> {
    if ('ruleId' in by) this.st.deleteAlertsOfRule.run(by.ruleId);
    else this.st.deleteAlertsOfDevice.run(by.deviceId);
  }

  async history(filter: HistoryFilter): Promise<AlertHistoryEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      where.push(sql);
      args.push(value);
    };
    if (filter.deviceId !== undefined) add('device_id = ?', filter.deviceId);
    if (filter.ruleId !== undefined) add('rule_id = ?', filter.ruleId);
    if (filter.state !== undefined) add('to_state = ?', filter.state);
    if (filter.from !== undefined) add('ts >= ?', filter.from);
    if (filter.to !== undefined) add('ts <= ?', filter.to);
    if (filter.beforeId !== undefined) add('id < ?', filter.beforeId);
    const sql = `SELECT * FROM alert_history ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = (this.db as Database.Database).prepare(sql).all(...args, filter.limit) as HistoryRow[];
    return rows.map(entryOf);
  }

  async listSilences(): Promise<SilenceView[]> {
    return this.st.silences.all().map((r) => JSON.parse(r.data) as SilenceView);
  }

  async insertSilence(silence: SilenceView): Promise<void> {
    this.st.insertSilence.run({ id: silence.id, until: silence.until, data: JSON.stringify(silence) });
  }

  async deleteSilence(id: string): Promise<boolean> {
    return this.st.deleteSilence.run(id).changes === 1;
  }

  async prune(now: number): Promise<void> {
    this.pruneHistory(now);
    this.st.pruneResolved.run(now - ALERT_LIMITS.resolvedKeepMs);
    this.st.pruneSilences.run(now);
  }
}
