/**
 * Groups alert transitions into notifications, as Alertmanager does: the
 * transitions of one rule to one state that arrive close together become one
 * notification listing every alert, so 1,000 devices going offline at once
 * are one message. A group waits `waitMs` after its first transition (short:
 * the first notification must leave within about half a second), then sends
 * at most one notification per `intervalMs` while more arrive, and ends after
 * an interval with nothing new. A group larger than `maxAlerts` is split.
 *
 * Bounded: groups are keyed by rule and state (rules are made by operators,
 * not outsiders), and a group holds each alert once (by alert id), so memory
 * is bounded by the alerts the rule engine holds.
 */
import type { AlertSeverity, AlertView } from '@iot-hub/protocol';

export type NotifiedState = 'firing' | 'resolved';

export interface AlertGroup {
  ruleId: string;
  ruleName: string;
  severity: AlertSeverity;
  state: NotifiedState;
  alerts: AlertView[];
}

export interface GrouperOptions {
  waitMs: number;
  intervalMs: number;
  maxAlerts: number;
  /** Called with each notification's worth of alerts (at most maxAlerts). */
  flush: (group: AlertGroup) => void;
}

interface Group {
  ruleId: string;
  ruleName: string;
  severity: AlertSeverity;
  state: NotifiedState;
  pending: Map<string, AlertView>;
  timer: NodeJS.Timeout;
}

export class NotificationGrouper {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly options: GrouperOptions) {}

  /** Alerts waiting in groups, for /metrics. */
  get waiting(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.pending.size;
    return n;
  }

  add(alert: AlertView, state: NotifiedState): void {
    // NUL cannot be in a rule id the engine makes, so the key cannot collide.
    const key = `${alert.ruleId}\u0000${state}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { ruleId: alert.ruleId, ruleName: alert.ruleName, severity: alert.severity, state, pending: new Map(), timer: setTimeout(() => this.tick(key), this.options.waitMs) };
      this.groups.set(key, group);
    }
    // The newest view of an alert wins (its value and summary), and the rule's newest name and severity.
    group.pending.delete(alert.id);
    group.pending.set(alert.id, alert);
    group.ruleName = alert.ruleName;
    group.severity = alert.severity;
  }

  /** Sends every group now (at stop, so nothing waiting in memory is lost) and ends them. */
  flushAll(): void {
    for (const [key, group] of this.groups) {
      clearTimeout(group.timer);
      this.groups.delete(key);
      this.send(group);
    }
  }

  /** Wait or interval over: send what came, and keep the group one more interval; a quiet group ends. */
  private tick(key: string): void {
    const group = this.groups.get(key);
    if (!group) return;
    if (group.pending.size === 0) {
      this.groups.delete(key);
      return;
    }
    this.send(group);
    group.timer = setTimeout(() => this.tick(key), this.options.intervalMs);
  }

  private send(group: Group): void {
    const alerts = [...group.pending.values()];
    group.pending.clear();
    const { maxAlerts, flush } = this.options;
    for (let i = 0; i < alerts.length; i += maxAlerts) {
      flush({ ruleId: group.ruleId, ruleName: group.ruleName, severity: group.severity, state: group.state, alerts: alerts.slice(i, i + maxAlerts) });
    }
  }
}
