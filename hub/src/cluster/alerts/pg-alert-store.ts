/**
 * Rules, alerts, their history and silences in PostgreSQL, shared by every
 * node: the queries, filters, paging and bounds of SqliteAlertStore. Each
 * write commits before it resolves, so the engine notifies only what is
 * stored; an unreachable server rejects with StorageUnavailableError (the
 * API answers 503 storage_unavailable).
 *
 * Every rule, silence and cross-node acknowledgement also raises
 * alert_rules_version in its transaction: rulesVersion() lets a node see,
 * by one cheap read, that another node changed them.
 */
import type { AlertHistoryEntry, AlertRule, AlertView, SilenceView } from '@iot-hub/protocol';
import { ALERT_LIMITS } from '../../alerts/alert-limits.js';
import type { AlertFilter, AlertStore, HistoryFilter, HistoryInput, RuleStore } from '../../alerts/alert-store.js';
import type { PgDatabase, Queryable } from '../pg/pg-database.js';

/** Advisory lock key of pruning: one node prunes at a time, the others skip that round. */
export const ALERT_PRUNE_LOCK = 0x10_7_0201;

/** Prune the history every this many appends (per node), as the SQLite store does. */
const PRUNE_EVERY = 1_000;

const BUMP_RULES = 'UPDATE alert_rules_version SET version = version + 1';

interface HistoryRow {
  id: string;
  alert_id: string;
  rule_id: string;
  device_id: string;
  severity: AlertHistoryEntry['severity'];
  to_state: AlertHistoryEntry['to'];
  ts: string;
  value: string | null;
  summary: string;
  actor: string | null;
}

export class PgAlertStore implements RuleStore, AlertStore {
  private appendsSincePrune = 0;

  /** The pool is the node's, shared with other stores: its owner opens and closes it, and runs the migrations (ALERT_MIGRATIONS). */
  constructor(private readonly db: PgDatabase) {}

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  /** Raised by every rule and silence write on any node. */
  async rulesVersion(): Promise<number> {
    const result = await this.db.query<{ version: string }>('SELECT version FROM alert_rules_version');
    return Number(result.rows[0]?.version ?? 0);
  }

  async listRules(): Promise<AlertRule[]> {
    return dataOf<AlertRule>(await this.db.query<{ data: string }>('SELECT data FROM alert_rules ORDER BY id'));
  }

  async getRule(id: string): Promise<AlertRule | undefined> {
    return dataOf<AlertRule>(await this.db.query<{ data: string }>('SELECT data FROM alert_rules WHERE id = $1', [text(id)]))[0];
  }

  async countRules(): Promise<number> {
    return Number((await this.db.query<{ n: string }>('SELECT count(*) AS n FROM alert_rules')).rows[0]?.n ?? 0);
  }

  async insertRule(rule: AlertRule): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO alert_rules (id, version, data) VALUES ($1, $2, $3)', [rule.id, rule.version, JSON.stringify(rule)]);
      await tx.query(BUMP_RULES);
    });
  }

  async replaceRule(rule: AlertRule): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx.query('UPDATE alert_rules SET version = $2, data = $3 WHERE id = $1 AND version = $2 - 1', [rule.id, rule.version, JSON.stringify(rule)]);
      if (result.rowCount !== 1) return false;
      await tx.query(BUMP_RULES);
      return true;
    });
  }

  async deleteRule(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx.query('DELETE FROM alert_rules WHERE id = $1', [text(id)]);
      if (result.rowCount !== 1) return false;
      await tx.query(BUMP_RULES);
      return true;
    });
  }

  async openAlerts(): Promise<AlertView[]> {
    return dataOf<AlertView>(await this.db.query<{ data: string }>(`SELECT data FROM alerts WHERE state IN ('pending', 'firing')`));
  }

  /** The open alerts of some devices: what a node takes over with them. */
  async openAlertsOf(deviceIds: readonly string[]): Promise<AlertView[]> {
    if (deviceIds.length === 0) return [];
    const sql = `SELECT data FROM alerts WHERE state IN ('pending', 'firing') AND device_id = ANY($1::text[])`;
    return dataOf<AlertView>(await this.db.query<{ data: string }>(sql, [deviceIds.map(text)]));
  }

  async listAlerts(filter: AlertFilter): Promise<AlertView[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (column: string, value: string | undefined): void => {
      if (value === undefined) return;
      args.push(text(value));
      where.push(`${column} = $${args.length}`);
    };
    if (filter.state) add('state', filter.state);
    else where.push(`state IN ('pending', 'firing')`);
    add('device_id', filter.deviceId);
    add('rule_id', filter.ruleId);
    add('severity', filter.severity);
    return dataOf<AlertView>(await this.db.query<{ data: string }>(`SELECT data FROM alerts WHERE ${where.join(' AND ')} ORDER BY since DESC`, args));
  }

  async getAlert(id: string): Promise<AlertView | undefined> {
    return dataOf<AlertView>(await this.db.query<{ data: string }>('SELECT data FROM alerts WHERE id = $1', [text(id)]))[0];
  }

  async saveAlert(alert: AlertView, entry: HistoryInput | null): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO alerts (rule_id, device_id, id, state, severity, since, data) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (rule_id, device_id) DO UPDATE SET id = excluded.id, state = excluded.state, severity = excluded.severity, since = excluded.since, data = excluded.data`,
        [alert.ruleId, alert.deviceId, alert.id, alert.state, alert.severity, alert.since, JSON.stringify(alert)],
      );
      if (entry) await append(tx, entry);
    });
    await this.appended();
  }

  /**
   * An acknowledgement made on a node that does not evaluate the alert's
   * device: stored with its history entry if the alert is still open, and
   * the shared version raised so the evaluating node copies it at its next
   * poll. False when the alert is no longer open.
   */
  async acknowledgeElsewhere(alert: AlertView, entry: HistoryInput): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx.query(`UPDATE alerts SET data = $2 WHERE id = $1 AND state IN ('pending', 'firing')`, [alert.id, JSON.stringify(alert)]);
      if (result.rowCount !== 1) return false;
      await append(tx, entry);
      await tx.query(BUMP_RULES);
      return true;
    });
  }

  async appendHistory(entry: HistoryInput): Promise<void> {
    await append(this.db, entry);
    await this.appended();
  }

  private async appended(): Promise<void> {
    this.appendsSincePrune += 1;
    if (this.appendsSincePrune < PRUNE_EVERY) return;
    this.appendsSincePrune = 0;
    await this.withPruneLock((session) => pruneHistory(session, Date.now()));
  }

  async deleteAlerts(by: { ruleId: string } | { deviceId: string }): Promise<void> {
    if ('ruleId' in by) await this.db.query('DELETE FROM alerts WHERE rule_id = $1', [text(by.ruleId)]);
    else await this.db.query('DELETE FROM alerts WHERE device_id = $1', [text(by.deviceId)]);
  }

  async history(filter: HistoryFilter): Promise<AlertHistoryEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: string | number | undefined): void => {
      if (value === undefined) return;
      args.push(typeof value === 'string' ? text(value) : value);
      where.push(`${sql} $${args.length}`);
    };
    add('device_id =', filter.deviceId);
    add('rule_id =', filter.ruleId);
    add('to_state =', filter.state);
    add('ts >=', filter.from);
    add('ts <=', filter.to);
    add('id <', filter.beforeId);
    args.push(filter.limit);
    const sql = `SELECT * FROM alert_history ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return (await this.db.query<HistoryRow>(sql, args)).rows.map(entryOf);
  }

  async listSilences(): Promise<SilenceView[]> {
    return dataOf<SilenceView>(await this.db.query<{ data: string }>('SELECT data FROM alert_silences ORDER BY until, id'));
  }

  async insertSilence(silence: SilenceView): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO alert_silences (id, until, data) VALUES ($1, $2, $3)', [silence.id, silence.until, JSON.stringify(silence)]);
      await tx.query(BUMP_RULES);
    });
  }

  async deleteSilence(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (((await tx.query('DELETE FROM alert_silences WHERE id = $1', [text(id)])).rowCount ?? 0) !== 1) return false;
      await tx.query(BUMP_RULES);
      return true;
    });
  }

  async prune(now: number): Promise<void> {
    await this.withPruneLock(async (session) => {
      await pruneHistory(session, now);
      await session.query(`DELETE FROM alerts WHERE state = 'resolved' AND since < $1`, [now - ALERT_LIMITS.resolvedKeepMs]);
      await session.query('DELETE FROM alert_silences WHERE until < $1', [now]);
    });
  }

  /** Every node prunes on its own timer; one at a time is enough, the others skip that round. */
  private async withPruneLock(fn: (session: Queryable) => Promise<void>): Promise<void> {
    await this.db.withAdvisoryLock(ALERT_PRUNE_LOCK, false, fn);
  }
}

/** A pool or a transaction: what append needs of either. */
type Sql = { query(sql: string, params: unknown[]): Promise<unknown> };

async function append(q: Sql, e: HistoryInput): Promise<void> {
  await q.query(
    `INSERT INTO alert_history (alert_id, rule_id, device_id, severity, to_state, ts, value, summary, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [e.alertId, e.ruleId, e.deviceId, e.severity, e.to, e.ts, e.value === null ? null : JSON.stringify(e.value), text(e.summary), e.actor === null ? null : text(e.actor)],
  );
}

async function pruneHistory(q: Queryable, now: number): Promise<void> {
  const newest = Number((await q.query<{ id: string | null }>('SELECT max(id) AS id FROM alert_history')).rows[0]?.id ?? 0);
  await q.query('DELETE FROM alert_history WHERE id <= $1 OR ts < $2', [newest - ALERT_LIMITS.maxHistoryEntries, now - ALERT_LIMITS.maxHistoryAgeMs]);
}

function dataOf<T>(result: { rows: { data: string }[] }): T[] {
  return result.rows.map((r) => JSON.parse(r.data) as T);
}

function entryOf(r: HistoryRow): AlertHistoryEntry {
  return {
    id: Number(r.id),
    alertId: r.alert_id,
    ruleId: r.rule_id,
    deviceId: r.device_id,
    severity: r.severity,
    to: r.to_state,
    ts: Number(r.ts),
    value: r.value === null ? null : (JSON.parse(r.value) as AlertHistoryEntry['value']),
    summary: r.summary,
    actor: r.actor,
  };
}

/**
 * PostgreSQL text cannot hold U+0000; a filter from a query string may carry
 * one. It is read as U+FFFD, which no stored id holds, so it finds nothing.
 */
function text(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}
