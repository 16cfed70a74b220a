/**
 * Alerting in /metrics: rules, open alerts by state and severity,
 * transitions, actions (sent, refused, held back by loop protection),
 * evaluation errors, and the limits of alert-limits.ts. Read at scrape time.
 */
import { ALERT_SEVERITIES, type AlertSeverity, type AlertState } from '@iot-hub/protocol';
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import { ALERT_LIMITS } from './alert-limits.js';
import type { Alerting } from './alerting.js';

export function registerAlertMetrics(registry: PromRegistry, alerting: Alerting): void {
  new Gauge({
    name: 'iot_hub_alert_rules',
    help: 'Alert rules the engine evaluates (enabled)',
    registers: [registry],
    collect() {
      this.set(alerting.engine.ruleCount);
    },
  });
  new Gauge({
    name: 'iot_hub_alerts',
    help: 'Open alerts by state (pending, firing) and severity',
    labelNames: ['state', 'severity'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>();
      for (const state of ['pending', 'firing'] as AlertState[]) for (const severity of ALERT_SEVERITIES) counts.set(`${state}\0${severity}`, 0);
      for (const a of alerting.engine.openAlerts()) counts.set(`${a.state}\0${a.severity}`, (counts.get(`${a.state}\0${a.severity}`) ?? 0) + 1);
      for (const [key, n] of counts) {
        const [state = '', severity = ''] = key.split('\0') as [AlertState, AlertSeverity];
        this.set({ state, severity }, n);
      }
    },
  });
  new Counter({
    name: 'iot_hub_alert_transitions_total',
    help: 'Alert state transitions (pending, firing, resolved) since start',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(alerting.engine.counters.transitions);
    },
  });
  new Counter({
    name: 'iot_hub_alert_evaluation_errors_total',
    help: 'Alert transitions that could not be stored or emitted (not notified)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(alerting.engine.counters.evaluationErrors);
    },
  });
  new Counter({
    name: 'iot_hub_alert_actions_total',
    help: 'Rule command actions: sent, refused by the command service, suppressed by loop protection (actionIntervalSec)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const c = alerting.actions.counters;
      this.inc({ outcome: 'sent' }, c.sent);
      this.inc({ outcome: 'refused' }, c.refused);
      this.inc({ outcome: 'suppressed' }, c.suppressed);
    },
  });
  new Gauge({
    name: 'iot_hub_alert_silences',
    help: 'Silences held (active or not yet pruned)',
    registers: [registry],
    collect() {
      this.set(alerting.silences.size);
    },
  });
  new Gauge({
    name: 'iot_hub_alert_limit',
    help: 'Limits of alerting (docs/alerts.md): max_rules, max_silences, max_actions, max_history_entries',
    labelNames: ['limit'],
    registers: [registry],
    collect() {
      this.set({ limit: 'max_rules' }, ALERT_LIMITS.maxRules);
      this.set({ limit: 'max_silences' }, ALERT_LIMITS.maxSilences);
      this.set({ limit: 'max_actions' }, ALERT_LIMITS.maxActions);
      this.set({ limit: 'max_history_entries' }, ALERT_LIMITS.maxHistoryEntries);
    },
  });
}
