/**
 * A rule's command actions, sent through the command service (tracked,
 * expiring, audited with the rule as actor). Loop protection: per (rule,
 * target device) at most one command per actionIntervalSec, so a rule whose
 * action changes what it watches cannot drive itself. A refused command
 * (the device went away, changed its commands ...) is logged, counted and
 * kept in the alert's history; it never throws into the engine.
 */
import { ProtocolError, type AlertRule, type AlertView } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit-log.js';
import type { Commands } from '../commands/commands.js';
import type { HistoryInput } from './alert-store.js';

export interface ActionCounters {
  sent: number;
  refused: number;
  /** Held back by loop protection. */
  suppressed: number;
}

export class AlertActions {
  readonly counters: ActionCounters = { sent: 0, refused: 0, suppressed: 0 };
  /** (rule, target) → epoch ms of the last command sent: at most maxRules × maxActions entries. */
  private readonly lastSent = new Map<string, number>();

  constructor(private readonly deps: { commands: Commands; audit: Audit; log: Logger }) {}

  forgetRule(ruleId: string): void {
    for (const key of this.lastSent.keys()) if (key.startsWith(`${ruleId}\0`)) this.lastSent.delete(key);
  }

  /** Runs the rule's actions for this transition; resolves with the history entries to keep (sent and refused). */
  async run(rule: AlertRule, alert: AlertView, on: 'firing' | 'resolved', now: number): Promise<HistoryInput[]> {
    const entries: HistoryInput[] = [];
    const actor = `rule:${rule.id}`;
    for (const action of rule.actions) {
      if ((action.on ?? 'firing') !== on) continue;
      const key = `${rule.id}\0${action.deviceId}`;
      const last = this.lastSent.get(key);
      if (last !== undefined && now - last < rule.actionIntervalSec * 1000) {
        this.counters.suppressed += 1;
        continue;
      }
      this.lastSent.set(key, now);
      const entry = (summary: string): HistoryInput => ({ alertId: alert.id, ruleId: rule.id, deviceId: alert.deviceId, severity: alert.severity, to: 'action', ts: now, value: alert.value, summary, actor });
      const request = action.params === undefined ? { name: action.name } : { name: action.name, params: action.params };
      try {
        const { command } = await this.deps.commands.create(action.deviceId, request, { actor });
        this.counters.sent += 1;
        await this.deps.audit.record({ actor, action: 'command.create', deviceId: action.deviceId, commandId: command.id, details: { name: command.name, params: command.params, alertId: alert.id } });
        entries.push(entry(`sent command ${action.name} to ${action.deviceId}: ${command.id}`));
      } catch (err) {
        this.counters.refused += 1;
        const reason = err instanceof ProtocolError ? `${err.error}: ${err.message}` : 'internal_error';
        if (!(err instanceof ProtocolError)) this.deps.log.error({ err, ruleId: rule.id, target: action.deviceId }, 'a rule action failed unexpectedly');
        else this.deps.log.warn({ ruleId: rule.id, alertId: alert.id, target: action.deviceId, command: action.name, error: err.error, detail: err.message }, 'a rule action was refused');
        await this.deps.audit.record({ actor, action: 'command.create', deviceId: action.deviceId, details: { name: action.name, params: action.params ?? {}, alertId: alert.id }, outcome: err instanceof ProtocolError ? err.error : 'internal_error' });
        entries.push(entry(`command ${action.name} to ${action.deviceId} refused: ${reason}`));
      }
    }
    return entries;
  }
}
