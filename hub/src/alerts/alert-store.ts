/**
 * The storage seams of alerting: rules, and alerts (the current one per
 * (rule, device), their history, silences). Async, so a PostgreSQL version
 * can follow for cluster mode; SqliteAlertStore implements both on one node.
 * A write resolves once committed: the engine notifies only after that.
 */
import type { AlertHistoryEntry, AlertRule, AlertSeverity, AlertState, AlertView, SilenceView } from '@iot-hub/protocol';

export interface RuleStore {
  listRules(): Promise<AlertRule[]>;
  getRule(id: string): Promise<AlertRule | undefined>;
  countRules(): Promise<number>;
  insertRule(rule: AlertRule): Promise<void>;
  /** Replaces the rule if its stored version is `rule.version - 1`; false when it is not (or the rule is gone). */
  replaceRule(rule: AlertRule): Promise<boolean>;
  /** Resolves false when there was no such rule. */
  deleteRule(id: string): Promise<boolean>;
}

export interface AlertFilter {
  state?: AlertState;
  deviceId?: string;
  ruleId?: string;
  severity?: AlertSeverity;
}

export interface HistoryFilter {
  deviceId?: string;
  ruleId?: string;
  state?: AlertHistoryEntry['to'];
  from?: number;
  to?: number;
  limit: number;
  /** The id of the last entry of the previous page: entries before it. */
  beforeId?: number;
}

export type HistoryInput = Omit<AlertHistoryEntry, 'id'>;

export interface AlertStore {
  /** Alerts not resolved, to resume their episodes at start. */
  openAlerts(): Promise<AlertView[]>;
  listAlerts(filter: AlertFilter): Promise<AlertView[]>;
  getAlert(id: string): Promise<AlertView | undefined>;
  /** Stores the alert as the current one of its (rule, device) and, when given, a history entry: one transaction. */
  saveAlert(alert: AlertView, entry: HistoryInput | null): Promise<void>;
  appendHistory(entry: HistoryInput): Promise<void>;
  /** Forgets the current alerts of a rule or a device (their history stays). */
  deleteAlerts(by: { ruleId: string } | { deviceId: string }): Promise<void>;
  history(filter: HistoryFilter): Promise<AlertHistoryEntry[]>;
  listSilences(): Promise<SilenceView[]>;
  insertSilence(silence: SilenceView): Promise<void>;
  deleteSilence(id: string): Promise<boolean>;
  /** Drops history past its bounds, resolved alerts older than `resolvedBefore`, and silences that ended. */
  prune(now: number): Promise<void>;
}
